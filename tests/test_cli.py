"""The `secondlayer` command: shape, exit codes, JSON output and bad input."""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa

from app.db.tables import audit_log, users


def _email() -> str:
    return f"cli-{secrets.token_hex(4)}@example.com"


def test_help_lists_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for name in ("serve", "migrate", "create-user", "set-password", "bootstrap", "cleanup"):
        assert name in result.stdout


def test_unknown_command_prints_usage_and_exits_2(cli):
    result = cli("frobnicate")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: secondlayer")
    assert "invalid choice" in result.stderr


def test_bad_flag_prints_usage_and_exits_2(cli):
    result = cli("create-user", "x@example.com", "--bogus")
    assert result.returncode == 2
    assert "usage:" in result.stderr and "--bogus" in result.stderr


def test_no_command_exits_2(cli):
    assert cli().returncode == 2


def test_create_user_from_stdin_with_json(cli, dbrun):
    email = _email()
    result = cli("create-user", email, "--admin", "--password-stdin", "--json", input="a good passphrase\n")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # exactly one JSON object
    assert payload["ok"] is True and payload["email"] == email and payload["is_admin"] is True
    row = dbrun(lambda db: db.fetch_one(sa.select(users).where(users.c.email == email)))
    assert row["password_hash"].startswith("$2b$")
    assert "a good passphrase" not in row["password_hash"]


def test_create_user_on_existing_email_changes_nothing(cli, dbrun):
    email = _email()
    assert cli("create-user", email, "--password-stdin", input="first password\n").returncode == 0
    before = dbrun(lambda db: db.fetch_one(sa.select(users).where(users.c.email == email)))
    result = cli("create-user", email.upper(), "--admin", "--password-stdin", input="second password\n")
    assert result.returncode == 1
    assert result.stderr.strip() == f"secondlayer create-user: a user with email {email} already exists"
    after = dbrun(lambda db: db.fetch_one(sa.select(users).where(users.c.email == email)))
    assert after == before


def test_create_user_rejects_bad_email_and_short_password(cli):
    bad = cli("create-user", "not-an-email", "--password-stdin", input="long enough pw\n")
    assert bad.returncode == 1 and "not a valid email" in bad.stderr
    short = cli("create-user", _email(), "--password-stdin", input="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


def test_password_never_silently_from_argv(cli):
    email = _email()
    result = cli("create-user", email, "--password", "visible in ps")
    assert result.returncode == 0
    assert "warning" in result.stderr and "--password-stdin" in result.stderr


def test_no_terminal_and_no_stdin_flag_is_an_error(cli):
    result = cli("create-user", _email(), input="")
    assert result.returncode == 1
    assert "--password-stdin" in result.stderr


def test_set_password_then_unknown_user(cli, dbrun):
    email = _email()
    cli("create-user", email, "--no-password")
    row = dbrun(lambda db: db.fetch_one(sa.select(users).where(users.c.email == email)))
    assert row["password_hash"] is None
    ok = cli("set-password", email, "--password-stdin", "--json", input="new passphrase 1\n")
    assert ok.returncode == 0 and json.loads(ok.stdout)["email"] == email
    row = dbrun(lambda db: db.fetch_one(sa.select(users).where(users.c.email == email)))
    assert row["password_hash"] is not None
    actions = dbrun(lambda db: db.fetch_all(sa.select(audit_log.c.action).where(
        audit_log.c.target_id == str(row["id"]))))
    assert {"user.create", "user.set_password"} <= {a["action"] for a in actions}
    missing = cli("set-password", "nobody@example.com", "--password-stdin", input="whatever123\n")
    assert missing.returncode == 1 and "no user with email nobody@example.com" in missing.stderr


def test_failure_with_json_still_prints_one_object(cli):
    result = cli("set-password", "nobody@example.com", "--password-stdin", "--json", input="whatever123\n")
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"ok": False, "error": "no user with email nobody@example.com"}


def test_migrate_is_idempotent(cli):
    result = cli("migrate", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["from"] == payload["to"]


def test_database_unreachable_names_url_without_password(cli):
    url = "postgresql://secondlayer:hunter2secret@127.0.0.1:1/secondlayer"
    for command in (["serve"], ["create-user", _email(), "--password-stdin"]):
        result = cli(*command, env={"DATABASE_URL": url}, input="long enough pw\n")
        assert result.returncode == 1
        assert "cannot reach the database at postgresql://secondlayer:***@127.0.0.1:1/secondlayer" in result.stderr
        assert "hunter2secret" not in result.stderr + result.stdout


def test_bootstrap_creates_first_operator_once(cli, make_database):
    url = make_database()
    env = {"DATABASE_URL": url, "ADMIN_EMAIL": "first@example.com"}
    assert cli("migrate", env=env).returncode == 0
    first = cli("bootstrap", "--json", env=env)
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["operator_created"] is True and payload["email"] == "first@example.com"
    assert len(payload["password"]) >= 12
    again = json.loads(cli("bootstrap", "--json", env=env).stdout)
    assert again["operator_created"] is False and "password" not in again


def test_commands_refuse_an_unmigrated_database(cli, make_database):
    url = make_database()
    result = cli("create-user", _email(), "--password-stdin", env={"DATABASE_URL": url}, input="long enough pw\n")
    assert result.returncode == 1
    assert "secondlayer migrate" in result.stderr
