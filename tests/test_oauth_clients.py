"""Client and grant management (app.auth.clients, app.auth.grants) against the real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit import Actor
from app.auth import clients, grants
from app.auth.secrets import hash_credential, new_credential
from app.db.tables import audit_log, oauth_client_secrets, oauth_clients, oauth_grants, oauth_tokens

CHATGPT = "https://chatgpt.com/connector_platform_oauth_redirect"


def _register(dbrun, **kw):
    args: dict[str, Any] = {"name": "Test client", "redirect_uris": [CHATGPT], "actor": Actor("test")}
    args.update(kw)
    return dbrun(lambda db: clients.register_client(db, **args))


def _seed_grant(dbrun, user_id, client_pk, *, expired=False):
    """A grant with one access and one refresh token, as the token endpoint would leave it."""

    async def go(db):
        async with db.transaction() as conn:
            grant_id = await conn.fetch_value(
                oauth_grants.insert()
                .values(user_id=user_id, client_pk=client_pk, scope="mcp")
                .returning(oauth_grants.c.id)
            )
            hashes = []
            for kind in ("access", "refresh"):
                token = new_credential("mcp_token_" if kind == "access" else "mcp_refresh_")
                hashes.append(hash_credential(token))
                delta = sa.text("interval '-1 hour'") if expired else sa.text("interval '1 hour'")
                await conn.execute(
                    oauth_tokens.insert().values(
                        token_hash=hashes[-1],
                        kind=kind,
                        grant_id=grant_id,
                        client_pk=client_pk,
                        user_id=user_id,
                        scope="mcp",
                        expires_at=sa.func.now() + delta,
                    )
                )
        return grant_id

    return dbrun(go)


def test_register_confidential_client_stores_only_a_hash(dbrun):
    row, secret = _register(dbrun, token_endpoint_auth_method="client_secret_post")
    assert row["client_id"].startswith("slc_") and len(row["client_id"]) == 28
    assert secret and secret.startswith("mcp_secret_")
    assert row["grant_types"] == ["authorization_code", "refresh_token"]
    stored = dbrun(
        lambda db: db.fetch_all(sa.select(oauth_client_secrets).where(oauth_client_secrets.c.client_pk == row["id"]))
    )
    assert [s["secret_hash"] for s in stored] == [hash_credential(secret)]
    assert dbrun(lambda db: clients.verify_client_secret(db, row["id"], secret))
    assert not dbrun(lambda db: clients.verify_client_secret(db, row["id"], secret + "x"))
    entry = dbrun(lambda db: db.fetch_one(sa.select(audit_log).where(audit_log.c.target_id == row["client_id"])))
    assert entry["action"] == "client.register" and secret not in str(entry["details"])


def test_register_public_client_has_no_secret(dbrun):
    row, secret = _register(dbrun, token_endpoint_auth_method="none")
    assert secret is None
    assert row["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"redirect_uris": []}, "at least one redirect URI"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "javascript"),
        ({"redirect_uris": ["https://x.example/cb#f"]}, "fragment"),
        ({"name": "  "}, "name"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "token_endpoint_auth_method"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "needs the client's public keys"),
        ({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "oct"),
        ({"grant_types": ["implicit"]}, "unsupported grant types"),
        ({"grant_types": ["refresh_token"]}, "authorization_code"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(dbrun, kw, message):
    before = dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(oauth_clients)))
    with pytest.raises(clients.ClientError, match=message):
        _register(dbrun, **kw)
    after = dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(oauth_clients)))
    assert before == after


def test_grant_types_subset_is_accepted_in_any_order(dbrun):
    row, _ = _register(dbrun, grant_types=["refresh_token", "authorization_code"])
    assert row["grant_types"] == ["authorization_code", "refresh_token"]
    row, _ = _register(dbrun, grant_types=["authorization_code"])
    assert row["grant_types"] == ["authorization_code"]


@pytest.mark.parametrize(
    "args, field",
    [
        ({"name": " "}, "name"),
        ({"redirect_uris": ["https://ok.example/cb#frag"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"token_endpoint_auth_method": "telepathy"}, "token_endpoint_auth_method"),
    ],
)
def test_a_refusal_names_the_argument_it_is_about(dbrun, args, field):
    """The console shows the message next to that field, without guessing from the text."""
    with pytest.raises(clients.ClientError) as refused:
        _register(dbrun, **args)
    assert refused.value.field == field


def test_update_client(dbrun):
    row, _ = _register(dbrun)
    updated = dbrun(
        lambda db: clients.update_client(
            db,
            row["client_id"],
            name="Renamed",
            redirect_uris=[" https://claude.ai/api/mcp/auth_callback "],
            actor=Actor("test"),
        )
    )
    assert updated["name"] == "Renamed"
    assert updated["redirect_uris"] == ["https://claude.ai/api/mcp/auth_callback"]
    with pytest.raises(clients.ClientError):
        dbrun(
            lambda db: clients.update_client(
                db, row["client_id"], name="x", redirect_uris=["data:x"], actor=Actor("test")
            )
        )
    with pytest.raises(clients.ClientError, match="no client"):
        dbrun(lambda db: clients.update_client(db, "slc_missing", name="x", redirect_uris=[CHATGPT], actor=Actor("t")))


def test_rotate_secret_keeps_old_one_for_grace_period(dbrun):
    row, old = _register(dbrun)
    _, new, valid_until = dbrun(
        lambda db: clients.rotate_secret(db, row["client_id"], grace_seconds=3600, actor=Actor("test"))
    )
    assert new != old and new.startswith("mcp_secret_")
    assert valid_until > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59)
    assert dbrun(lambda db: clients.verify_client_secret(db, row["id"], old))
    assert dbrun(lambda db: clients.verify_client_secret(db, row["id"], new))
    # With no grace the previous secrets stop working at once.
    _, newest, _ = dbrun(lambda db: clients.rotate_secret(db, row["client_id"], grace_seconds=0, actor=Actor("test")))
    assert not dbrun(lambda db: clients.verify_client_secret(db, row["id"], old))
    assert not dbrun(lambda db: clients.verify_client_secret(db, row["id"], new))
    assert dbrun(lambda db: clients.verify_client_secret(db, row["id"], newest))


def test_rotate_secret_refused_for_public_client(dbrun):
    row, _ = _register(dbrun, token_endpoint_auth_method="none")
    with pytest.raises(clients.ClientError, match="public client"):
        dbrun(lambda db: clients.rotate_secret(db, row["client_id"], grace_seconds=10, actor=Actor("test")))


def test_list_clients_counts_active_grants(dbrun, make_user):
    user = make_user()
    row, _ = _register(dbrun)
    _seed_grant(dbrun, user["id"], row["id"])
    _seed_grant(dbrun, user["id"], row["id"])
    _seed_grant(dbrun, user["id"], row["id"], expired=True)
    listed = {c["client_id"]: c for c in dbrun(clients.list_clients)}
    assert listed[row["client_id"]]["active_grants"] == 2
    assert "last_used_at" in listed[row["client_id"]]


def test_list_and_revoke_grants(dbrun, make_user):
    user = make_user()
    row, _ = _register(dbrun)
    g1 = _seed_grant(dbrun, user["id"], row["id"])
    g2 = _seed_grant(dbrun, user["id"], row["id"])
    listed = dbrun(lambda db: grants.list_grants(db, user_id=user["id"]))
    assert {g["id"] for g in listed} == {g1, g2}
    first = next(g for g in listed if g["id"] == g1)
    assert first["email"] == user["email"] and first["client_id"] == row["client_id"]
    assert first["client_name"] == "Test client" and first["expires_at"] is not None

    assert dbrun(lambda db: grants.revoke_grant(db, g1, reason="test", actor=Actor("test"))) is True
    assert dbrun(lambda db: grants.revoke_grant(db, g1, reason="again", actor=Actor("test"))) is False
    tokens = dbrun(lambda db: db.fetch_all(sa.select(oauth_tokens).where(oauth_tokens.c.grant_id == g1)))
    assert tokens and all(t["revoked_at"] is not None for t in tokens)
    assert [g["id"] for g in dbrun(lambda db: grants.list_grants(db, user_id=user["id"]))] == [g2]
    everything = dbrun(lambda db: grants.list_grants(db, user_id=user["id"], active_only=False))
    assert {g["id"] for g in everything} == {g1, g2}

    assert dbrun(lambda db: grants.revoke_grants(db, client_pk=row["id"], reason="bulk", actor=Actor("test"))) == 1
    assert dbrun(lambda db: grants.list_grants(db, client_pk=row["id"])) == []


def test_disable_client_revokes_grants_and_delete_removes_it(dbrun, make_user):
    user = make_user()
    row, _ = _register(dbrun)
    g = _seed_grant(dbrun, user["id"], row["id"])
    disabled = dbrun(lambda db: clients.set_client_disabled(db, row["client_id"], True, actor=Actor("test")))
    assert disabled["disabled"] is True
    grant = dbrun(lambda db: db.fetch_one(sa.select(oauth_grants).where(oauth_grants.c.id == g)))
    assert grant["revoked_at"] is not None and grant["revoked_reason"] == "client disabled"
    enabled = dbrun(lambda db: clients.set_client_disabled(db, row["client_id"], False, actor=Actor("test")))
    assert enabled["disabled"] is False
    dbrun(lambda db: clients.delete_client(db, row["client_id"], actor=Actor("test")))
    assert dbrun(lambda db: clients.get_client(db, row["client_id"])) is None
    actions = [
        r["action"]
        for r in dbrun(
            lambda db: db.fetch_all(
                sa.select(audit_log.c.action).where(audit_log.c.target_id == row["client_id"]).order_by(audit_log.c.id)
            )
        )
    ]
    assert actions == ["client.register", "client.disable", "client.enable", "client.delete"]
