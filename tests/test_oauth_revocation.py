"""RFC 7009 revocation with an ownership check, and RFC 7662 introspection for confidential clients."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.auth.bearer import BearerError
from app.auth.secrets import hash_credential
from app.db.tables import oauth_grants, oauth_tokens
from tests.helpers_oauth import make_client, tokens_for
from tests.helpers_tokens import authenticate


def _post(http, client, path, **params):
    body, headers = client.auth(params)
    return http.post(path, data=body, headers=headers)


def test_revoking_an_access_token_stops_it_at_once(http, dbrun, user, server):
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])
    assert authenticate(server, tokens["access_token"]).user_id == user["id"]  # now cached
    r = _post(http, client, "/oauth/revoke", token=tokens["access_token"], token_type_hint="access_token")
    assert r.status_code == 200 and r.json() == {}
    assert r.headers["Cache-Control"] == "no-store"
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            authenticate(server, tokens["access_token"])
        except BearerError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("revoked token still accepted after a second")
    # The refresh token (and so the grant) is untouched by revoking one access token.
    body, headers = client.auth({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert http.post("/oauth/token", data=body, headers=headers).status_code == 200


def test_revoking_a_refresh_token_ends_the_grant(http, dbrun, user, server):
    client = make_client(dbrun, method="none")
    tokens = tokens_for(http, client, user["email"])
    r = _post(http, client, "/oauth/revoke", token=tokens["refresh_token"])
    assert r.status_code == 200
    grant = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_grants)
            .join(oauth_tokens, oauth_tokens.c.grant_id == oauth_grants.c.id)
            .where(oauth_tokens.c.token_hash == hash_credential(tokens["refresh_token"]))
        )
    )
    assert grant["revoked_at"] is not None
    time.sleep(0.3)
    with pytest.raises(BearerError):
        authenticate(server, tokens["access_token"])


def test_unknown_token_gets_200(http, dbrun):
    client = make_client(dbrun)
    assert _post(http, client, "/oauth/revoke", token="mcp_token_never_issued").status_code == 200
    assert _post(http, client, "/oauth/revoke", token="garbage").status_code == 200


def test_a_client_cannot_revoke_another_clients_token(http, dbrun, user, server):
    owner = make_client(dbrun)
    other = make_client(dbrun)
    tokens = tokens_for(http, owner, user["email"])
    r = _post(http, other, "/oauth/revoke", token=tokens["access_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert authenticate(server, tokens["access_token"]).user_id == user["id"]


def test_revocation_requires_client_authentication(http, dbrun, user):
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])
    r = http.post("/oauth/revoke", data={"token": tokens["access_token"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in r.headers
    client.secret = "mcp_secret_wrong"
    assert _post(http, client, "/oauth/revoke", token=tokens["access_token"]).status_code == 401


def test_revocation_needs_a_token(http, dbrun):
    client = make_client(dbrun)
    r = _post(http, client, "/oauth/revoke")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_introspection_of_own_tokens(http, dbrun, user, settings):
    client = make_client(dbrun, method="client_secret_basic")
    tokens = tokens_for(http, client, user["email"], resource=f"{settings.public_url}/mcp")
    r = _post(http, client, "/oauth/introspect", token=tokens["access_token"])
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    info = r.json()
    assert info["active"] is True and info["client_id"] == client.client_id and info["scope"] == "mcp"
    assert info["username"] == user["email"] and info["token_type"] == "Bearer"
    assert info["aud"] == f"{settings.public_url}/mcp" and info["iss"] == settings.issuer
    assert info["exp"] > time.time() and info["iat"] <= time.time() + 5
    assert _post(http, client, "/oauth/introspect", token=tokens["refresh_token"]).json()["active"] is True


def test_introspection_reveals_nothing_about_other_or_dead_tokens(http, dbrun, user):
    client = make_client(dbrun)
    other = make_client(dbrun)
    mine = tokens_for(http, client, user["email"])
    theirs = tokens_for(http, other, user["email"])
    assert _post(http, client, "/oauth/introspect", token=theirs["access_token"]).json() == {"active": False}
    assert _post(http, client, "/oauth/introspect", token="mcp_token_unknown").json() == {"active": False}
    _post(http, client, "/oauth/revoke", token=mine["access_token"])
    assert _post(http, client, "/oauth/introspect", token=mine["access_token"]).json() == {"active": False}


def test_introspection_refused_to_public_and_unauthenticated_clients(http, dbrun, user):
    public = make_client(dbrun, method="none")
    tokens = tokens_for(http, public, user["email"])
    r = _post(http, public, "/oauth/introspect", token=tokens["access_token"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = http.post("/oauth/introspect", data={"token": tokens["access_token"]})
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
