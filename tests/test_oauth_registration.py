"""POST /oauth/register (RFC 7591): what real connectors send, what they get back, and what is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.secrets import hash_credential
from app.db.tables import oauth_client_secrets, oauth_clients, rate_limits
from tests.helpers_oauth import CHATGPT, CLAUDE, Client, tokens_for

pytestmark = pytest.mark.usefixtures("fresh_registration_budget")


def _error(r, error, status=400):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error
    return body


def test_chatgpt_style_public_registration(http, dbrun):
    r = http.post(
        "/oauth/register",
        json={
            "client_name": "ChatGPT",
            "redirect_uris": [CHATGPT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "mcp",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert body["client_id"].startswith("slc_") and "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == [CHATGPT] and body["client_name"] == "ChatGPT"
    assert isinstance(body["client_id_issued_at"], int) and body["client_secret_expires_at"] == 0
    row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == body["client_id"])))
    assert row["registration_source"] == "dynamic" and row["registered_ip"] == "127.0.0.1"


def test_claude_style_client_secret_post_registration(http, dbrun, make_user):
    r = http.post(
        "/oauth/register",
        json={
            "client_name": "Claude",
            "redirect_uris": [CLAUDE],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    assert body["client_secret"].startswith("mcp_secret_") and body["client_secret_expires_at"] == 0
    hashes = dbrun(
        lambda db: db.fetch_all(
            sa.select(oauth_client_secrets.c.secret_hash)
            .join(oauth_clients, oauth_clients.c.id == oauth_client_secrets.c.client_pk)
            .where(oauth_clients.c.client_id == body["client_id"])
        )
    )
    assert hashes == [{"secret_hash": hash_credential(body["client_secret"])}]
    # The registered client completes the flow.
    client = Client(body["client_id"], body["client_secret"], CLAUDE, "client_secret_post", 0)
    assert tokens_for(http, client, make_user()["email"])["access_token"].startswith("mcp_token_")


def test_default_auth_method_is_client_secret_basic(http):
    body = http.post("/oauth/register", json={"redirect_uris": [CLAUDE]}).json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic" and body["client_secret"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["client_name"] == "Unnamed client"


def test_grant_types_checked_as_subset(http):
    body = http.post(
        "/oauth/register",
        json={"redirect_uris": [CLAUDE], "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none"},
    ).json()
    assert body["grant_types"] == ["authorization_code"]
    _error(
        http.post("/oauth/register", json={"redirect_uris": [CLAUDE], "grant_types": ["client_credentials"]}),
        "invalid_client_metadata",
    )


def test_sdk_registration_body_is_accepted(http):
    from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata
    from pydantic import AnyUrl

    metadata = OAuthClientMetadata(
        client_name="SDK",
        redirect_uris=[AnyUrl("http://localhost:3030/callback")],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope="mcp",
    )
    r = http.post("/oauth/register", json=metadata.model_dump(by_alias=True, mode="json", exclude_none=True))
    assert r.status_code == 201, r.text
    info = OAuthClientInformationFull.model_validate(r.json())
    assert info.client_id and info.client_secret


@pytest.mark.parametrize(
    "uris",
    [
        [],
        None,
        ["javascript:alert(1)"],
        [" DATA:text/html,x "],
        [CHATGPT + "#x"],
        ["http://evil.example.com/cb"],
        "https://chatgpt.com/aip/callback",
        [42],
    ],
)
def test_bad_redirect_uris(http, uris):
    body = {"client_name": "x", "token_endpoint_auth_method": "none"}
    if uris is not None:
        body["redirect_uris"] = uris
    _error(http.post("/oauth/register", json=body), "invalid_redirect_uri")


@pytest.mark.parametrize(
    "field, value",
    [
        ("token_endpoint_auth_method", "private_key_jwt"),
        ("response_types", ["token"]),
        ("client_name", "x" * 500),
        ("scope", ["mcp"]),
    ],
)
def test_bad_metadata(http, field, value):
    _error(http.post("/oauth/register", json={"redirect_uris": [CLAUDE], field: value}), "invalid_client_metadata")


def test_non_json_body(http):
    _error(http.post("/oauth/register", data={"redirect_uris": CLAUDE}), "invalid_client_metadata")
    _error(
        http.post("/oauth/register", content="[1,2]", headers={"Content-Type": "application/json"}),
        "invalid_client_metadata",
    )


def test_registrations_are_rate_limited_per_ip(http, dbrun, settings):
    limit = settings.registration_rate_limit
    dbrun(
        lambda db: db.execute(
            rate_limits.insert().values(key="register:127.0.0.1", hits=limit, window_started_at=sa.func.now())
        )
    )
    r = http.post("/oauth/register", json={"redirect_uris": [CLAUDE], "token_endpoint_auth_method": "none"})
    body = _error(r, "temporarily_unavailable", 429)
    assert int(r.headers["Retry-After"]) > 3000 and "Too many" in body["error_description"]
    # Another address is not affected.
    r = http.post(
        "/oauth/register",
        json={"redirect_uris": [CLAUDE], "token_endpoint_auth_method": "none"},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 201
    # A window that has passed starts over.
    dbrun(
        lambda db: db.execute(
            rate_limits.update()
            .where(rate_limits.c.key == "register:127.0.0.1")
            .values(window_started_at=sa.func.now() - sa.text("interval '2 hours'"))
        )
    )
    assert http.post("/oauth/register", json={"redirect_uris": [CLAUDE]}).status_code == 201


def test_cors_preflight(http):
    r = http.options(
        "/oauth/register", headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "*"
