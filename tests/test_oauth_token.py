"""POST /oauth/token, authorization_code grant: bindings, client authentication, replay, error shape."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from app.auth.bearer import BearerError
from app.auth.secrets import hash_credential
from app.db.tables import oauth_authorization_codes, oauth_grants, oauth_tokens, users
from tests.helpers_oauth import CLAUDE, exchange, get_code, make_client, pkce, tokens_for
from tests.helpers_tokens import authenticate


def _oauth_error(r, status, error):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error
    assert r.headers["Cache-Control"] == "no-store"
    return body


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic", "none"])
def test_code_exchange_issues_bearer_tokens(http, dbrun, user, server, settings, method):
    client = make_client(dbrun, method=method)
    code, verifier, _ = get_code(http, client, user["email"], resource=f"{settings.public_url}/mcp")
    r = exchange(http, client, code, verifier, resource=f"{settings.public_url}/mcp")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Pragma"] == "no-cache"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "mcp"
    assert body["access_token"].startswith("mcp_token_") and body["refresh_token"].startswith("mcp_refresh_")
    assert body["expires_in"] == settings.access_token_ttl
    stored = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(body["access_token"]))
        )
    )
    assert stored["audience"] == f"{settings.public_url}/mcp" and stored["user_id"] == user["id"]
    principal = authenticate(server, body["access_token"])
    assert principal.email == user["email"] and principal.client_id == client.client_id
    assert principal.scopes == frozenset({"mcp"})


def test_json_body_like_the_seed_guide_curl(http, dbrun, user):
    client = make_client(dbrun, method="client_secret_post", redirect_uri="https://chatgpt.com/aip/callback")
    code, verifier, _ = get_code(http, client, user["email"])
    r = http.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "client_id": client.client_id,
            "client_secret": client.secret,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["access_token"].startswith("mcp_token_")


def test_wrong_verifier(http, dbrun, user):
    client = make_client(dbrun)
    code, _, _ = get_code(http, client, user["email"])
    other_verifier, _ = pkce()
    body = _oauth_error(exchange(http, client, code, other_verifier), 400, "invalid_grant")
    assert "code_verifier" in body["error_description"]


def test_missing_verifier(http, dbrun, user):
    client = make_client(dbrun)
    code, _, _ = get_code(http, client, user["email"])
    body, headers = client.auth({"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri})
    _oauth_error(http.post("/oauth/token", data=body, headers=headers), 400, "invalid_request")


def test_plain_verifier_equal_to_challenge_fails(http, dbrun, user):
    """A client that sent the verifier itself as the challenge (plain) cannot redeem the code."""
    client = make_client(dbrun)
    code, _verifier, _ = get_code(http, client, user["email"])
    _, challenge = pkce()
    _oauth_error(exchange(http, client, code, challenge), 400, "invalid_grant")


def test_wrong_redirect_uri(http, dbrun, user):
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"])
    body, headers = client.auth(
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "https://chatgpt.com/aip/callback",
        }
    )
    _oauth_error(http.post("/oauth/token", data=body, headers=headers), 400, "invalid_grant")


def test_redirect_uri_required_when_sent_at_authorize(http, dbrun, user):
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"])
    body, headers = client.auth({"grant_type": "authorization_code", "code": code, "code_verifier": verifier})
    _oauth_error(http.post("/oauth/token", data=body, headers=headers), 400, "invalid_request")
    # The code is still good for the correct request.
    assert exchange(http, client, code, verifier).status_code == 200


def test_another_clients_code(http, dbrun, user):
    owner = make_client(dbrun)
    thief = make_client(dbrun)
    code, verifier, _ = get_code(http, owner, user["email"])
    _oauth_error(exchange(http, thief, code, verifier), 400, "invalid_grant")
    assert exchange(http, owner, code, verifier).status_code == 200


def test_expired_code(http, dbrun, user):
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"])
    dbrun(
        lambda db: db.execute(
            oauth_authorization_codes.update()
            .where(oauth_authorization_codes.c.code_hash == hash_credential(code))
            .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )
    )
    body = _oauth_error(exchange(http, client, code, verifier), 400, "invalid_grant")
    assert "expired" in body["error_description"]


def test_unknown_code(http, dbrun):
    client = make_client(dbrun)
    verifier, _ = pkce()
    _oauth_error(exchange(http, client, "mcp_code_nonsense", verifier), 400, "invalid_grant")


def test_code_replay_within_window_keeps_the_tokens(http, dbrun, user, server):
    """ChatGPT has POSTed the same code twice within a second: refuse the second, keep the user signed in."""
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"])
    first = exchange(http, client, code, verifier)
    assert first.status_code == 200
    _oauth_error(exchange(http, client, code, verifier), 400, "invalid_grant")
    assert authenticate(server, first.json()["access_token"]).user_id == user["id"]


def test_code_replay_after_window_revokes_what_it_issued(http, dbrun, user, server):
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"])
    tokens = exchange(http, client, code, verifier).json()
    dbrun(
        lambda db: db.execute(
            oauth_authorization_codes.update()
            .where(oauth_authorization_codes.c.code_hash == hash_credential(code))
            .values(used_at=sa.func.now() - sa.text("interval '60 seconds'"))
        )
    )
    _oauth_error(exchange(http, client, code, verifier), 400, "invalid_grant")
    with pytest.raises(BearerError):
        authenticate(server, tokens["access_token"])
    grant = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_grants)
            .join(oauth_tokens, oauth_tokens.c.grant_id == oauth_grants.c.id)
            .where(oauth_tokens.c.token_hash == hash_credential(tokens["refresh_token"]))
        )
    )
    assert grant["revoked_at"] is not None and grant["revoked_reason"] == "authorization code replayed"


def test_resource_must_match_the_code(http, dbrun, user, settings):
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"], resource=f"{settings.public_url}/mcp")
    _oauth_error(exchange(http, client, code, verifier, resource=f"{settings.public_url}/sse"), 400, "invalid_target")
    _oauth_error(
        exchange(http, client, code, verifier, resource="https://elsewhere.example/mcp"), 400, "invalid_target"
    )
    assert exchange(http, client, code, verifier, resource=f"{settings.public_url}/mcp").status_code == 200


def test_token_audience_refused_elsewhere(http, dbrun, user, server, settings):
    """A token for our /mcp is good on our endpoints; the authenticator refuses other audiences."""
    from app.auth.bearer import resolve_credential

    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"], resource=f"{settings.public_url}/mcp")
    with pytest.raises(BearerError, match="another resource"):
        dbrun(lambda db: resolve_credential(db, tokens["access_token"], ("https://other.example/mcp",)))


def test_disabled_user_cannot_redeem_a_code(http, dbrun, user):
    client = make_client(dbrun)
    code, verifier, _ = get_code(http, client, user["email"])
    dbrun(lambda db: db.execute(users.update().where(users.c.id == user["id"]).values(disabled=True)))
    _oauth_error(exchange(http, client, code, verifier), 400, "invalid_grant")


def _challenge(r):
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_secret_is_401_with_challenge(http, dbrun, user):
    client = make_client(dbrun, method="client_secret_basic")
    code, verifier, _ = get_code(http, client, user["email"])
    client.secret = "mcp_secret_wrong"
    r = exchange(http, client, code, verifier)
    _oauth_error(r, 401, "invalid_client")
    _challenge(r)


@pytest.mark.parametrize(
    "registered, used",
    [
        ("client_secret_basic", "client_secret_post"),
        ("client_secret_post", "client_secret_basic"),
        ("client_secret_post", "none"),
    ],
)
def test_client_must_use_its_registered_method(http, dbrun, user, registered, used):
    client = make_client(dbrun, method=registered)
    code, verifier, _ = get_code(http, client, user["email"])
    client.method = used
    r = exchange(http, client, code, verifier)
    body = _oauth_error(r, 401, "invalid_client")
    assert registered in body["error_description"]
    _challenge(r)


def test_public_client_sending_a_secret_is_refused(http, dbrun, user):
    client = make_client(dbrun, method="none", redirect_uri=CLAUDE)
    code, verifier, _ = get_code(http, client, user["email"])
    r = http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": CLAUDE,
            "client_id": client.client_id,
            "client_secret": "mcp_secret_made_up",
        },
    )
    _oauth_error(r, 401, "invalid_client")


def test_basic_and_body_secret_together_is_invalid_request(http, dbrun):
    client = make_client(dbrun, method="client_secret_basic")
    basic = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
    r = http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "code_verifier": "y" * 43,
            "client_secret": client.secret,
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    _oauth_error(r, 400, "invalid_request")


def test_no_client_authentication(http):
    r = http.post("/oauth/token", data={"grant_type": "authorization_code", "code": "x"})
    _oauth_error(r, 401, "invalid_client")
    _challenge(r)


def test_malformed_basic_header(http):
    r = http.post(
        "/oauth/token", data={"grant_type": "authorization_code"}, headers={"Authorization": "Basic !!!notbase64"}
    )
    _oauth_error(r, 401, "invalid_client")


def test_unsupported_grant_type(http, dbrun):
    client = make_client(dbrun)
    body, headers = client.auth({"grant_type": "password", "username": "a", "password": "b"})
    _oauth_error(http.post("/oauth/token", data=body, headers=headers), 400, "unsupported_grant_type")
    body, headers = client.auth({})
    _oauth_error(http.post("/oauth/token", data=body, headers=headers), 400, "invalid_request")


def test_repeated_parameter_is_invalid_request(http, dbrun):
    client = make_client(dbrun)
    r = http.post(
        "/oauth/token",
        content=f"grant_type=authorization_code&code=a&code=b&client_id={client.client_id}"
        f"&client_secret={client.secret}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _oauth_error(r, 400, "invalid_request")


def test_other_content_types_and_methods_get_oauth_errors(http):
    _oauth_error(
        http.post("/oauth/token", content="grant_type=x", headers={"Content-Type": "text/plain"}),
        400,
        "invalid_request",
    )
    _oauth_error(
        http.post("/oauth/token", content="{not json", headers={"Content-Type": "application/json"}),
        400,
        "invalid_request",
    )
    _oauth_error(http.post("/oauth/token", json={"grant_type": ["a"]}), 400, "invalid_request")
    _oauth_error(http.get("/oauth/token"), 405, "invalid_request")


def test_tokens_are_stored_only_as_hashes(http, dbrun, user):
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])
    clear = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(*) FROM oauth_tokens WHERE token_hash IN (%(t)s, %(r)s)",
            {"t": tokens["access_token"], "r": tokens["refresh_token"]},
        )
    )
    hashed = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(*) FROM oauth_tokens WHERE token_hash IN (%(t)s, %(r)s)",
            {"t": hash_credential(tokens["access_token"]), "r": hash_credential(tokens["refresh_token"])},
        )
    )
    assert (clear, hashed) == (0, 2)


def test_client_without_refresh_grant_gets_no_refresh_token(http, dbrun, user):
    client = make_client(dbrun, grant_types=["authorization_code"])
    tokens = tokens_for(http, client, user["email"])
    assert "refresh_token" not in tokens


def test_client_errors_are_not_logged_with_credentials(http, dbrun, caplog):
    client = make_client(dbrun, method="client_secret_basic")
    client.secret = "mcp_secret_should_never_appear_in_logs"
    with caplog.at_level("DEBUG"):
        r = exchange(http, client, "mcp_code_x", pkce()[0])
    assert r.status_code == 401
    assert "should_never_appear" not in caplog.text
    assert base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode() not in caplog.text
    assert "Uncaught exception" not in caplog.text and "uncaught exception" not in caplog.text
