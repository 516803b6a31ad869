"""Client ID metadata documents: a URL client_id is fetched, checked, cached, and used like a public client.

The documents are served by a small tornado server on 127.0.0.1 (the test server allows loopback).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.client_metadata import ClientMetadataError, check_client_id_url, fetch_document
from app.auth.public_fetch import address_allowed as _address_allowed
from app.auth.public_fetch import cache_seconds as _cache_seconds
from app.db.tables import oauth_clients
from tests.helpers_oauth import CLAUDE, Client, exchange, get_code, pkce

pytestmark = pytest.mark.usefixtures("fresh_registration_budget")


def _document(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": url,
        "client_name": "Doc Client",
        "redirect_uris": [CLAUDE],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        **extra,
    }


def _client(url: str) -> Client:
    return Client(url, None, CLAUDE, "none", 0)


def test_metadata_client_completes_the_flow(http, docs, make_user, dbrun):
    url = docs.url("clients/full.json")
    docs.publish("clients/full.json", _document(url), headers={"Cache-Control": "max-age=600"})
    client = _client(url)
    _, challenge = pkce()
    page = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": url,
            "redirect_uri": CLAUDE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200 and "Doc Client" in page.text and url in page.text
    code, verifier, _ = get_code(http, client, make_user()["email"])
    r = exchange(http, client, code, verifier)
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"].startswith("mcp_refresh_")
    row = dbrun(
        lambda db: db.fetch_one(
            sa.select(
                oauth_clients,
                (oauth_clients.c.metadata_expires_at - sa.func.now() > sa.text("interval '500 seconds'")).label("long"),
            ).where(oauth_clients.c.client_id == url)
        )
    )
    assert row["registration_source"] == "metadata_document" and row["token_endpoint_auth_method"] == "none"
    assert row["redirect_uris"] == [CLAUDE] and row["long"]


def test_document_is_cached_until_it_expires(http, docs, make_user, dbrun):
    url = docs.url("clients/cached.json")
    docs.publish("clients/cached.json", _document(url))
    client = _client(url)
    get_code(http, client, make_user()["email"])
    fetched = docs.hits["clients/cached.json"]
    get_code(http, client, make_user()["email"])
    assert docs.hits["clients/cached.json"] == fetched  # served from the cache
    # The document changes its redirect URI; once the cache expires the new one applies.
    docs.publish("clients/cached.json", _document(url, redirect_uris=["https://claude.com/api/mcp/auth_callback"]))
    dbrun(
        lambda db: db.execute(
            oauth_clients.update()
            .where(oauth_clients.c.client_id == url)
            .values(metadata_expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )
    )
    _, challenge = pkce()
    r = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": url,
            "redirect_uri": CLAUDE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 400 and "not registered" in r.text
    assert docs.hits["clients/cached.json"] == fetched + 1


@pytest.mark.parametrize(
    "name, doc, status, headers, message",
    [
        ("mismatch.json", lambda url: _document("https://elsewhere.example/client.json"), 200, {}, "does not equal"),
        ("secret.json", lambda url: _document(url, token_endpoint_auth_method="client_secret_post"), 200, {}, "none"),
        ("badredirect.json", lambda url: _document(url, redirect_uris=["javascript:alert(1)"]), 200, {}, "javascript"),
        ("notjson.json", lambda url: b"<html>hello</html>", 200, {}, "not valid JSON"),
        ("array.json", lambda url: b"[]", 200, {}, "JSON object"),
        ("missing.json", None, 404, {}, "HTTP 404"),
        ("huge.json", lambda url: _document(url, padding="x" * 40000), 200, {}, "could not be fetched"),
        ("redirect.json", lambda url: b"", 302, {"Location": "/clients/full.json"}, "HTTP 302"),
    ],
)
def test_unusable_documents_are_an_error_page(http, docs, name, doc, status, headers, message):
    url = docs.url(f"bad/{name}")
    if doc is not None:
        docs.publish(f"bad/{name}", doc(url), status=status, headers=headers)
    _, challenge = pkce()
    r = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": url,
            "redirect_uri": CLAUDE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 400 and "Location" not in r.headers
    assert message in r.text


def test_unknown_metadata_client_at_token_endpoint_is_invalid_client(http, docs):
    url = docs.url("never-published.json")
    r = http.post("/oauth/token", data={"grant_type": "authorization_code", "code": "x", "client_id": url})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_loopback_and_private_addresses_refused_outside_tests(settings, docs):
    strict = settings.replace(client_metadata_allow_loopback=False)
    url = docs.publish("clients/strict.json", _document(docs.url("clients/strict.json")))
    with pytest.raises(ClientMetadataError, match="https"):
        asyncio.run(fetch_document(url, strict))
    # An https URL whose name resolves to loopback is refused at connection time.
    with pytest.raises(ClientMetadataError, match="private or loopback"):
        asyncio.run(fetch_document("https://localhost:9/client.json", strict))
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "100.64.0.1",
    ):
        assert not _address_allowed(address, allow_private=False), address
    assert _address_allowed("93.184.216.34", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "https://example.com/",
        "https://u:p@example.com/c.json",
        "https://example.com/c.json#x",
        "https://example.com/a/../c.json",
        "ftp://example.com/c.json",
    ],
)
def test_client_id_url_rules(settings, url):
    with pytest.raises(ClientMetadataError):
        check_client_id_url(url, settings)


def test_cache_lifetime_follows_cache_control_within_bounds():
    assert _cache_seconds(None) == 3600
    assert _cache_seconds("max-age=600") == 600
    assert _cache_seconds("public, max-age=5") == 60
    assert _cache_seconds("max-age=99999999") == 86400
    assert _cache_seconds("no-store") == 60
