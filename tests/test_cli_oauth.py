"""`secondlayer register-client`, `rotate-secret`, `create-api-key`, `revoke-api-key` as an operator runs them."""

from __future__ import annotations

import json

import sqlalchemy as sa

from app.auth.clients import verify_client_secret
from app.auth.secrets import hash_credential
from app.db.tables import api_keys, oauth_clients

CHATGPT = "https://chatgpt.com/connector_platform_oauth_redirect"


def _json(result):
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_register_confidential_client(cli, dbrun):
    out = _json(cli("register-client", "--name", "ChatGPT (operator)", "--redirect-uri", CHATGPT,
                    "--redirect-uri", "https://chatgpt.com/aip/callback", "--json"))
    assert out["ok"] is True and out["client_id"].startswith("slc_")
    assert out["client_secret"].startswith("mcp_secret_")
    assert out["token_url"].endswith("/oauth/token") and out["authorization_url"].endswith("/oauth/authorize")
    row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == out["client_id"])))
    assert row["redirect_uris"] == [CHATGPT, "https://chatgpt.com/aip/callback"]
    assert row["token_endpoint_auth_method"] == "client_secret_post" and row["registration_source"] == "operator"
    assert dbrun(lambda db: verify_client_secret(db, row["id"], out["client_secret"]))


def test_register_public_client_text_output(cli):
    r = cli("register-client", "--name", "Claude", "--redirect-uri", "https://claude.ai/api/mcp/auth_callback",
            "--public")
    assert r.returncode == 0, r.stderr
    assert "client_id:" in r.stdout and "client_secret" not in r.stdout and "auth method:        none" in r.stdout


def test_register_client_refuses_bad_redirect_uri(cli):
    r = cli("register-client", "--name", "x", "--redirect-uri", "javascript:alert(1)")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().startswith("secondlayer register-client:") and "javascript" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli("register-client", "--name", "x", "--redirect-uri", "javascript:alert(1)", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["ok"] is False


def test_rotate_secret_keeps_the_old_one_for_the_grace_period(cli, dbrun):
    created = _json(cli("register-client", "--name", "Rotating", "--redirect-uri", CHATGPT, "--json"))
    rotated = _json(cli("rotate-secret", created["client_id"], "--json"))
    assert rotated["client_secret"] != created["client_secret"] and rotated["old_secret_valid_until"]
    pk = dbrun(lambda db: db.fetch_value(sa.select(oauth_clients.c.id)
                                         .where(oauth_clients.c.client_id == created["client_id"])))
    assert dbrun(lambda db: verify_client_secret(db, pk, created["client_secret"]))
    assert dbrun(lambda db: verify_client_secret(db, pk, rotated["client_secret"]))
    # With SECRET_ROTATION_GRACE=0 the previous secrets stop at once.
    again = _json(cli("rotate-secret", created["client_id"], "--json", env={"SECRET_ROTATION_GRACE": "0"}))
    assert not dbrun(lambda db: verify_client_secret(db, pk, rotated["client_secret"]))
    assert dbrun(lambda db: verify_client_secret(db, pk, again["client_secret"]))


def test_rotate_secret_errors(cli):
    r = cli("rotate-secret", "slc_nope")
    assert r.returncode == 1 and "no client" in r.stderr
    public = _json(cli("register-client", "--name", "P", "--redirect-uri", CHATGPT, "--public", "--json"))
    r = cli("rotate-secret", public["client_id"])
    assert r.returncode == 1 and "public client" in r.stderr


def test_create_and_revoke_api_key(cli, dbrun, make_user):
    user = make_user()
    out = _json(cli("create-api-key", "--user", user["email"], "--name", "n8n", "--json"))
    assert out["key"].startswith("sl_") and out["id"]
    row = dbrun(lambda db: db.fetch_one(sa.select(api_keys).where(api_keys.c.id == out["id"])))
    assert row["key_hash"] == hash_credential(out["key"]) and row["revoked_at"] is None
    r = cli("revoke-api-key", str(out["id"]))
    assert r.returncode == 0 and "revoked" in r.stdout
    assert dbrun(lambda db: db.fetch_value(sa.select(api_keys.c.revoked_at).where(api_keys.c.id == out["id"])))


def test_api_key_errors(cli):
    r = cli("create-api-key", "--user", "nobody@example.com", "--name", "x")
    assert r.returncode == 1 and "no user" in r.stderr
    r = cli("revoke-api-key", "999999")
    assert r.returncode == 1 and "no API key" in r.stderr
    r = cli("revoke-api-key", "not-a-number")
    assert r.returncode == 2
