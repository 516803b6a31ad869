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
    actions = dbrun(
        lambda db: db.fetch_all(sa.select(audit_log.c.action).where(audit_log.c.target_id == str(row["id"])))
    )
    assert {"user.create", "user.set_password"} <= {a["action"] for a in actions}
    missing = cli("set-password", "nobody@example.com", "--password-stdin", input="whatever123\n")
    assert missing.returncode == 1 and "no user with email nobody@example.com" in missing.stderr


def test_failure_with_json_still_prints_one_object(cli):
    result = cli("set-password", "nobody@example.com", "--password-stdin", "--json", input="whatever123\n")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload.pop("database")["kind"] == "url"  # which database it looked in
    assert payload == {"ok": False, "error": "no user with email nobody@example.com"}


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


def test_version(cli):
    from importlib.metadata import version

    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"secondlayer {version('secondlayer')}"


def test_json_before_or_after_the_command(cli):
    for args in (["--json", "migrate"], ["migrate", "--json"]):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["ok"] is True


def test_help_shows_effective_defaults_and_the_password_option(cli, tmp_path):
    serve = cli("serve", "--help", env={"PORT": "8123", "HOST": "127.0.0.2"})
    assert serve.returncode == 0
    assert "(default: 8123, the PORT setting)" in serve.stdout
    assert "(default: 127.0.0.2, the HOST setting)" in serve.stdout
    assert "public URL http://127.0.0.1:8000" in " ".join(serve.stdout.split())  # the cli fixture sets PUBLIC_URL
    env_file = tmp_path / "from-file.env"
    env_file.write_text("PORT=8124\n")
    assert "(default: 8124, the PORT setting)" in cli("serve", "--help", "--env-file", str(env_file)).stdout
    create = " ".join(cli("create-user", "--help").stdout.split())
    assert "--password PASSWORD" in create and "WARNING: visible in shell history" in create


def test_commands_say_which_database_they_used(cli, database_url):
    text = cli("migrate")
    assert text.returncode == 0
    safe = "postgresql://postgres:***@/" + database_url.split("@/", 1)[1]
    assert text.stdout.strip().splitlines()[-1] == f"database: {safe}"
    assert json.loads(cli("migrate", "--json").stdout)["database"] == {"kind": "url", "url": safe}


def test_the_env_file_configures_every_command_like_the_server(cli, database_url, tmp_path, dbrun):
    # The file's values win over the environment: a stray DATABASE_URL in an operator's shell cannot send the
    # command to another database than the server's.
    env_file = tmp_path / "secondlayer.env"
    env_file.write_text(f"# the server's settings\n\nDATABASE_URL={database_url}\nBCRYPT_ROUNDS=4\n")
    stray = {"DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/elsewhere"}
    email = _email()
    by_option = cli(
        "create-user",
        email,
        "--env-file",
        str(env_file),
        "--password-stdin",
        "--json",
        env=stray,
        input="long enough pw\n",
    )
    assert by_option.returncode == 0, by_option.stderr
    assert json.loads(by_option.stdout)["database"]["url"].endswith(database_url.split("@/", 1)[1])
    by_variable = cli("--json", "list-users", env={**stray, "SECONDLAYER_ENV_FILE": str(env_file)})
    assert by_variable.returncode == 0, by_variable.stderr
    assert email in {u["email"] for u in json.loads(by_variable.stdout)["users"]}


def test_a_bad_or_missing_env_file_is_one_line(cli, tmp_path):
    missing = cli("list-users", "--env-file", str(tmp_path / "nowhere.env"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"secondlayer list-users: configuration error: cannot read the env file "
        f"{tmp_path / 'nowhere.env'}: No such file or directory"
    )
    bad = tmp_path / "bad.env"
    bad.write_text("PORT=8000\nexport PASSWORD=hunter2\n")
    result = cli("list-users", env={"SECONDLAYER_ENV_FILE": str(bad)})
    assert result.returncode == 1 and f"{bad}:2: not a KEY=VALUE line" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_command_without_the_servers_settings_does_not_make_a_new_database(cli, tmp_path):
    # DATABASE_URL unset and no embedded database in the data dir: most likely the env file was forgotten.
    env = {"DATABASE_URL": "", "SECONDLAYER_DATA_DIR": str(tmp_path / "var")}
    for command in (["list-users"], ["create-api-key", "--user", "a@example.com", "--name", "x"], ["serve"]):
        result = cli(*command, env=env)
        assert result.returncode == 1
        assert "no database:" in result.stderr and "--env-file PATH" in result.stderr, result.stderr
    assert not (tmp_path / "var" / "postgres").exists()
