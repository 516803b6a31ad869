"""refresh_token grant: rotation, reuse detection with a grace window, bindings to client, scope and resource."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit import Actor
from app.auth.bearer import BearerError
from app.auth.grants import revoke_grant
from app.auth.secrets import hash_credential
from app.db.tables import oauth_grants, oauth_tokens, users
from tests.helpers_oauth import make_client, refresh, tokens_for
from tests.helpers_tokens import authenticate


def _error(r, error):
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["error"] == error
    return r.json()


def _grant_of(dbrun, token):
    return dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_grants)
            .join(oauth_tokens, oauth_tokens.c.grant_id == oauth_grants.c.id)
            .where(oauth_tokens.c.token_hash == hash_credential(token))
        )
    )


def _age_rotation(dbrun, token, seconds):
    dbrun(
        lambda db: db.execute(
            oauth_tokens.update()
            .where(oauth_tokens.c.token_hash == hash_credential(token))
            .values(rotated_at=sa.func.now() - sa.text(f"interval '{seconds} seconds'"))
        )
    )


def test_refresh_rotates_the_refresh_token(http, client, user, server):
    first = tokens_for(http, client, user["email"])
    r = refresh(http, client, first["refresh_token"])
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["token_type"] == "Bearer" and second["scope"] == "mcp" and second["expires_in"] > 0
    assert authenticate(server, second["access_token"]).user_id == user["id"]
    # The new refresh token works in turn.
    assert refresh(http, client, second["refresh_token"]).status_code == 200


def test_retired_token_within_grace_is_answered_without_killing_the_grant(http, client, user, server):
    first = tokens_for(http, client, user["email"])
    a = refresh(http, client, first["refresh_token"])
    b = refresh(http, client, first["refresh_token"])  # the duplicate concurrent refresh
    assert a.status_code == 200 and b.status_code == 200
    assert a.json()["refresh_token"] != b.json()["refresh_token"]
    for pair in (a.json(), b.json()):
        assert authenticate(server, pair["access_token"]).user_id == user["id"]
        assert refresh(http, client, pair["refresh_token"]).status_code == 200


def test_retired_token_after_grace_revokes_the_grant(http, client, user, server, dbrun):
    first = tokens_for(http, client, user["email"])
    second = refresh(http, client, first["refresh_token"]).json()
    _age_rotation(dbrun, first["refresh_token"], 120)
    body = _error(refresh(http, client, first["refresh_token"]), "invalid_grant")
    assert "revoked" in body["error_description"]
    grant = _grant_of(dbrun, first["refresh_token"])
    assert grant["revoked_at"] is not None and grant["revoked_reason"] == "refresh token reused"
    with pytest.raises(BearerError):
        authenticate(server, second["access_token"])
    _error(refresh(http, client, second["refresh_token"]), "invalid_grant")


def test_refresh_token_is_bound_to_its_client(http, client, user, dbrun):
    tokens = tokens_for(http, client, user["email"])
    other = make_client(dbrun)
    _error(refresh(http, other, tokens["refresh_token"]), "invalid_grant")
    assert refresh(http, client, tokens["refresh_token"]).status_code == 200


def test_revoked_grant_refuses_refresh(http, client, user, dbrun):
    tokens = tokens_for(http, client, user["email"])
    grant = _grant_of(dbrun, tokens["refresh_token"])
    dbrun(lambda db: revoke_grant(db, grant["id"], reason="test", actor=Actor("test")))
    _error(refresh(http, client, tokens["refresh_token"]), "invalid_grant")


def test_expired_refresh_token(http, client, user, dbrun):
    tokens = tokens_for(http, client, user["email"])
    dbrun(
        lambda db: db.execute(
            oauth_tokens.update()
            .where(oauth_tokens.c.token_hash == hash_credential(tokens["refresh_token"]))
            .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )
    )
    body = _error(refresh(http, client, tokens["refresh_token"]), "invalid_grant")
    assert "expired" in body["error_description"]


def test_access_token_is_not_a_refresh_token(http, client, user):
    tokens = tokens_for(http, client, user["email"])
    _error(refresh(http, client, tokens["access_token"]), "invalid_grant")
    _error(refresh(http, client, "mcp_refresh_unknown"), "invalid_grant")


def test_disabled_user_cannot_refresh(http, client, user, dbrun):
    tokens = tokens_for(http, client, user["email"])
    dbrun(lambda db: db.execute(users.update().where(users.c.id == user["id"]).values(disabled=True)))
    _error(refresh(http, client, tokens["refresh_token"]), "invalid_grant")


def test_scope_cannot_be_widened(http, client, user):
    tokens = tokens_for(http, client, user["email"])
    _error(refresh(http, client, tokens["refresh_token"], scope="mcp admin"), "invalid_scope")
    r = refresh(http, client, tokens["refresh_token"], scope="mcp")
    assert r.status_code == 200 and r.json()["scope"] == "mcp"


def test_wrong_resource_on_refresh_is_invalid_target(http, client, user, settings, dbrun):
    tokens = tokens_for(http, client, user["email"], resource=f"{settings.public_url}/mcp")
    _error(refresh(http, client, tokens["refresh_token"], resource="https://other.example/mcp"), "invalid_target")
    _error(refresh(http, client, tokens["refresh_token"], resource=f"{settings.public_url}/sse"), "invalid_target")
    r = refresh(http, client, tokens["refresh_token"], resource=f"{settings.public_url}/mcp")
    assert r.status_code == 200
    stored = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(r.json()["access_token"]))
        )
    )
    assert stored["audience"] == f"{settings.public_url}/mcp"


def test_client_without_refresh_grant_cannot_refresh(http, user, dbrun):
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])
    dbrun(
        lambda db: db.execute(
            "UPDATE oauth_clients SET grant_types = ARRAY['authorization_code'] WHERE client_id = %(c)s",
            {"c": client.client_id},
        )
    )
    _error(refresh(http, client, tokens["refresh_token"]), "unauthorized_client")
