"""`secondlayer register-client`, `rotate-secret`, `create-api-key`, `revoke-api-key` and the listings
(`list-clients`, `list-users`, `list-api-keys`) as an operator runs them."""

from __future__ import annotations

import json
import re

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
    out = _json(
        cli(
            "register-client",
            "--name",
            "ChatGPT (operator)",
            "--redirect-uri",
            CHATGPT,
            "--redirect-uri",
            "https://chatgpt.com/aip/callback",
            "--json",
        )
    )
    assert out["ok"] is True and out["client_id"].startswith("slc_")
    assert out["client_secret"].startswith("mcp_secret_")
    assert out["token_url"].endswith("/oauth/token") and out["authorization_url"].endswith("/oauth/authorize")
    row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == out["client_id"])))
    assert row["redirect_uris"] == [CHATGPT, "https://chatgpt.com/aip/callback"]
    assert row["token_endpoint_auth_method"] == "client_secret_post" and row["registration_source"] == "operator"
    assert dbrun(lambda db: verify_client_secret(db, row["id"], out["client_secret"]))


def test_register_public_client_text_output(cli):
    r = cli(
        "register-client", "--name", "Claude", "--redirect-uri", "https://claude.ai/api/mcp/auth_callback", "--public"
    )
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
    pk = dbrun(
        lambda db: db.fetch_value(
            sa.select(oauth_clients.c.id).where(oauth_clients.c.client_id == created["client_id"])
        )
    )
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


# Every timestamp --json prints: ISO 8601 with the T and an offset.
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


def test_revoking_a_revoked_key_says_so_and_succeeds(cli, make_user):
    user = make_user()
    key_id = str(_json(cli("create-api-key", "--user", user["email"], "--name", "twice", "--json"))["id"])
    first = _json(cli("revoke-api-key", key_id, "--json"))
    assert first["already_revoked"] is False and ISO.match(first["revoked_at"])
    again = cli("revoke-api-key", key_id)
    assert again.returncode == 0 and "was already revoked at" in again.stdout
    second = _json(cli("--json", "revoke-api-key", key_id))
    assert second["already_revoked"] is True and second["revoked_at"] == first["revoked_at"]


def test_list_api_keys_shows_ids_prefixes_status_and_last_use(cli, make_user):
    user, other = make_user(), make_user()
    kept = _json(cli("create-api-key", "--user", user["email"], "--name", "kept", "--json"))
    gone = _json(cli("create-api-key", "--user", user["email"], "--name", "gone", "--json"))
    _json(cli("create-api-key", "--user", other["email"], "--name", "someone else's", "--json"))
    cli("revoke-api-key", str(gone["id"]))
    listed = _json(cli("list-api-keys", "--user", user["email"], "--json"))["api_keys"]
    assert [(k["id"], k["name"], k["status"]) for k in listed] == [
        (gone["id"], "gone", "revoked"),
        (kept["id"], "kept", "active"),
    ]
    assert {k["prefix"] for k in listed} == {kept["prefix"], gone["prefix"]}
    assert all(k["user"] == user["email"] and ISO.match(k["created_at"]) for k in listed)
    assert listed[0]["last_used_at"] is None and ISO.match(listed[0]["revoked_at"])
    assert kept["key"] not in json.dumps(listed)  # only the prefix, never the key
    text = cli("list-api-keys", "--user", user["email"])
    assert text.returncode == 0
    assert re.search(
        rf"^{kept['id']} +{re.escape(kept['prefix'])}\.\.\. +kept +{re.escape(user['email'])} +active",
        text.stdout,
        re.M,
    )
    everyone = _json(cli("list-api-keys", "--json"))["api_keys"]
    assert {user["email"], other["email"]} <= {k["user"] for k in everyone}
    missing = cli("list-api-keys", "--user", "nobody@example.com")
    assert missing.returncode == 1 and "no user with email nobody@example.com" in missing.stderr


def test_list_users_and_clients(cli, make_user):
    user = make_user()
    users = _json(cli("list-users", "--json"))["users"]
    mine = next(u for u in users if u["email"] == user["email"])
    assert mine["id"] == user["id"] and mine["role"] == "user" and mine["status"] == "enabled"
    assert ISO.match(mine["created_at"])
    assert user["email"] in cli("list-users").stdout
    client = _json(cli("register-client", "--name", "Listed app", "--redirect-uri", CHATGPT, "--json"))
    clients = _json(cli("list-clients", "--json"))["clients"]
    listed = next(c for c in clients if c["client_id"] == client["client_id"])
    assert listed["name"] == "Listed app" and listed["status"] == "enabled" and listed["registration"] == "operator"
    assert listed["redirect_uris"] == [CHATGPT] and ISO.match(listed["created_at"]) and listed["last_used_at"] is None
    assert client["client_secret"] not in json.dumps(clients)
    text = cli("list-clients").stdout
    assert re.search(rf"^{client['client_id']} +Listed app +enabled +operator", text, re.M)
