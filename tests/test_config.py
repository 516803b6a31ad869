"""Settings: defaults, validation with one clear line, and the same rules at `serve`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import SETTINGS, ConfigError, ensure_cookie_secret, load_settings, settings_table_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_match_the_contract():
    s = load_settings({})
    assert s.database_url == ""
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.access_token_ttl == 2592000
    assert s.refresh_token_ttl == 7776000
    assert s.auth_code_ttl == 600
    assert s.bcrypt_rounds == 10
    assert s.cleanup_cron == "0 3 * * *"
    assert s.data_dir.name == "var"


def test_every_setting_has_help_text():
    for setting in SETTINGS:
        assert setting.help and "\n" not in setting.help, setting.name


def test_the_readme_settings_table_is_the_settings_table():
    section = README.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == settings_table_markdown(), (
        "README.md's settings table differs from app/config.py; paste the output of "
        "python -c 'from app.config import settings_table_markdown as t; print(t())'"
    )


def test_public_url_trailing_slash_is_dropped():
    assert load_settings({"PUBLIC_URL": "https://mcp.example.org/"}).public_url == "https://mcp.example.org"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"PUBLIC_URL": "http://mcp.example.org"}, "must use https unless the host is loopback"),
        ({"PUBLIC_URL": "mcp.example.org"}, "absolute http(s) URL"),
        ({"PUBLIC_URL": "https://mcp.example.org/?x=1"}, "query"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "postgresql://"),
        ({"DATABASE_URL": "postgresql://u:p@h:notaport/db"}, "malformed port"),
        ({"DATABASE_URL": "postgresql://u:p@h:5432"}, "must name a database"),
        ({"BCRYPT_ROUNDS": "ten"}, "BCRYPT_ROUNDS must be a whole number"),
        ({"BCRYPT_ROUNDS": "40"}, "between 4 and 16"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
        ({"CLEANUP_CRON": "every day"}, "CLEANUP_CRON must be a 5-field crontab"),
        ({"ALLOWED_ORIGINS": "chatgpt.com"}, "ALLOWED_ORIGINS"),
        ({"CLIENT_METADATA_ALLOW_LOOPBACK": "maybe"}, "true or false"),
    ],
)
def test_bad_values_are_refused_with_one_line(env, fragment):
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize("url", ["http://localhost:8000", "http://127.0.0.1", "http://[::1]:9000"])
def test_http_is_fine_on_loopback(url):
    assert load_settings({"PUBLIC_URL": url}).public_url == url


def test_cookie_secret_generated_once_and_kept(tmp_path):
    s = load_settings({"SECONDLAYER_DATA_DIR": str(tmp_path)})
    first = ensure_cookie_secret(s).cookie_secret
    second = ensure_cookie_secret(s).cookie_secret
    assert first == second and len(first) >= 32
    assert (tmp_path / "cookie_secret").stat().st_mode & 0o077 == 0


def test_serve_exits_1_with_one_line_on_bad_setting(cli):
    result = cli("serve", env={"PUBLIC_URL": "http://public.example.org"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "PUBLIC_URL must use https" in lines[0]


def test_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme, f"README lacks {setting.name}"


def test_an_unset_public_url_follows_host_and_port():
    from app.config import url_for_bind

    settings = load_settings({"PORT": "8100"})
    assert settings.public_url == "http://127.0.0.1:8100" and not settings.public_url_explicit
    assert settings.bound_to("127.0.0.1", 8200).public_url == "http://127.0.0.1:8200"
    assert settings.bound_to("0.0.0.0", 8200).public_url == "http://127.0.0.1:8200"  # noqa: S104 - not bound
    assert url_for_bind("::1", 9000) == "http://[::1]:9000"
    assert url_for_bind("localhost", 9000) == "http://localhost:9000"
    explicit = load_settings({"PUBLIC_URL": "https://mcp.example.org", "PORT": "8100"})
    assert explicit.bound_to("127.0.0.1", 8200).public_url == "https://mcp.example.org"
    with pytest.raises(ConfigError, match=r"PUBLIC_URL is unset and HOST 10\.1\.2\.3 is not a loopback address"):
        load_settings({"HOST": "10.1.2.3"})


def test_a_loopback_public_url_that_misses_the_server_is_named():
    from app.config import public_url_mismatch

    s = load_settings({"PUBLIC_URL": "http://127.0.0.1:8000", "PORT": "8100"})
    assert "names port 8000 but the server listens on port 8100" in str(public_url_mismatch(s, "127.0.0.1", 8100))
    assert public_url_mismatch(s, "127.0.0.1", 8000) is None
    assert "not on loopback" in str(public_url_mismatch(s, "10.1.2.3", 8000))
    assert public_url_mismatch(load_settings({"PUBLIC_URL": "http://localhost"}), "127.0.0.1", 80) is None
    # Behind a TLS proxy the ports differ by design; an unset PUBLIC_URL cannot disagree.
    assert public_url_mismatch(load_settings({"PUBLIC_URL": "https://mcp.example.org"}), "127.0.0.1", 8000) is None
    assert public_url_mismatch(load_settings({"PORT": "8100"}), "127.0.0.1", 8100) is None


def test_env_file_lines_are_taken_literally(tmp_path):
    from app.config import read_env_file

    path = tmp_path / "secondlayer.env"
    path.write_text("# comment\n\nA=1\nSECRET=p@ss word=#$HOME 'x'\r\nEMPTY=\n")
    assert read_env_file(path) == {"A": "1", "SECRET": "p@ss word=#$HOME 'x'", "EMPTY": ""}
    for bad in ("no equals sign", "export A=1", "=value", " A=1", "KÉY=1"):
        path.write_text(f"A=1\n{bad}\n")
        with pytest.raises(ConfigError, match=r"secondlayer.env:2: not a KEY=VALUE line"):
            read_env_file(path)


def test_the_deployment_env_file_lists_every_setting():
    from app.config import read_env_file

    example = README.parent / "deploy" / "secondlayer.env.example"
    text = example.read_text(encoding="utf-8")
    for setting in SETTINGS:
        if setting.name != "SECONDLAYER_ENV_FILE":  # names the file itself
            assert f"\n{setting.name}=" in text or f"\n#{setting.name}=" in text, setting.name
    assert load_settings(read_env_file(example)).public_url == "https://stage.example.org"
