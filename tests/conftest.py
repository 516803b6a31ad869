"""Every shared fixture, and only fixtures: plain functions and classes live in the `tests/helpers_*.py` modules.

The real server runs on a random port in a thread against a real PostgreSQL: TEST_DATABASE_URL when set (a
server on which we may create databases), else a throw-away embedded one (pgserver). Each test session gets
its own freshly migrated database.

======================================  ========  ===========================================================
fixture                                 scope     gives
======================================  ========  ===========================================================
pg_server_url                           session   URL of the PostgreSQL server (its maintenance database)
make_database                           session   factory: a new empty database on it, returning its URL
database_url                            session   the session's database, migrated to head
data_dir                                session   SECONDLAYER_DATA_DIR of the session's server
server                                  session   the product's server (helpers_server.ServerThread)
settings                                session   that server's Settings
http                                    function  a CheckedClient on `server` (every response checked)
dbrun                                   function  dbrun(lambda db: ...): run a coroutine on a fresh pool
make_user                               function  factory: a user with a unique email (row + clear password)
user                                    function  a fresh user from make_user()
key                                     function  an API key (sl_...) of `user`
auth                                    function  {"Authorization": "Bearer <key>"}
api                                     module    a CheckedClient on `server` carrying an API key of its own user
client                                  function  a registered OAuth client, client_secret_post (helpers_oauth.Client)
docs                                    module    a web site on loopback serving client metadata documents
browser                                 function  a console Browser, signed out
operator                                function  a user with operator rights
admin                                   function  a Browser signed in to the console as `operator` (admin.user)
listener                                function  GET /sse held open with `key` (helpers_mcp.SseListener)
probe                                   module    what the extra test tools saw (helpers_mcp.ToolProbe)
tool_server                             module    a second server with the extra tools, 3 MCP sessions a principal
tool_http                               function  a CheckedClient on `tool_server`
demo_corpus                             module    loads the demo corpus into the session's database
empty_database                          function  a database of its own, migrated, with no rows
publisher                               function  a publisher's site on loopback over a temp dir (PublisherSite)
fresh_registration_budget               function  clears the /oauth/register rate limits before and after
forget_failed_sign_ins                  function  clears the sign-in throttle after the test
cli                                     function  cli("migrate", ...): `python -m app` against database_url
pg_tmp_dir                              function  a directory for an embedded PostgreSQL of a test's own
chromium                                module    headless Debian Chromium driven by Playwright (or a skip)
======================================  ========  ===========================================================

Fixtures a single test module needs stay in that module; `fresh_registration_budget` and
`forget_failed_sign_ins` are opted into per module with `pytestmark = pytest.mark.usefixtures(...)`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.audit import Actor
from app.config import Settings
from app.db import Database
from app.db.schema import upgrade
from app.db.tables import auth_throttle, rate_limits
from tests.helpers_admin import Browser
from tests.helpers_browser import CHROMIUM, CHROMIUM_ARGS, browser_unavailable
from tests.helpers_corpus import PublisherSite, load_demo
from tests.helpers_http import CheckedClient
from tests.helpers_mcp import SseListener, ToolProbe, start_server_with_extra_tools
from tests.helpers_oauth import Client, DocumentServer, make_client
from tests.helpers_server import (
    ROOT,
    CliResult,
    DBRun,
    ServerThread,
    create_database,
    free_port,
    run_db,
    server_settings,
)
from tests.helpers_tokens import api_key, bearer

# ---- the database server and the session's server -------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server
    tmp = Path(tempfile.mkdtemp(prefix="sl-test-pg-"))
    server = get_server(tmp / "pgdata", cleanup_mode="delete")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_tmp_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: pytest keeps that tree private (0700) to root, while pgserver runs postgres
    # as an unprivileged system user.
    path = Path(tempfile.mkdtemp(prefix="sl-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Callable[..., str]:
    return lambda prefix="sl_empty": create_database(pg_server_url, prefix)


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> str:
    url = create_database(pg_server_url)
    upgrade(url)
    return url


@pytest.fixture
def empty_database(make_database: Callable[..., str]) -> str:
    url = make_database("sl_fresh")
    upgrade(url)
    return url


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[PublisherSite]:
    root = tmp_path / "publisher"
    root.mkdir()
    site = PublisherSite(root)
    yield site
    site.stop()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def server(database_url: str, data_dir: Path) -> Iterator[ServerThread]:
    port = free_port()
    thread = ServerThread(server_settings(database_url, data_dir, port), database_url).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def settings(server: ServerThread) -> Settings:
    return server.settings


@pytest.fixture
def http(server: ServerThread) -> Iterator[CheckedClient]:
    with CheckedClient(server.url) as client:
        yield client


@pytest.fixture
def dbrun(database_url: str) -> DBRun:
    return lambda fn: run_db(database_url, fn)


@pytest.fixture
def cli(database_url: str, data_dir: Path) -> Callable[..., CliResult]:
    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECONDLAYER_DATA_DIR": str(data_dir),
            "BCRYPT_ROUNDS": "4",
            "PUBLIC_URL": "http://127.0.0.1:8000",
        }
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "app", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=ROOT,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


# ---- people and credentials ------------------------------------------------------------------------------


@pytest.fixture
def make_user(database_url: str) -> Callable[..., dict[str, Any]]:
    from app.auth.users import create_user

    def make(
        email: str | None = None,
        password: str | None = "correct horse battery",
        is_admin: bool = False,
        disabled: bool = False,
    ) -> dict[str, Any]:
        email = email or f"user-{secrets.token_hex(4)}@example.com"

        async def go(db: Database) -> dict[str, Any]:
            row = await create_user(db, email, password=password, is_admin=is_admin, rounds=4, actor=Actor("test"))
            if disabled:
                await db.execute("UPDATE users SET disabled = true WHERE id = %(id)s", {"id": row["id"]})
                row["disabled"] = True
            return row

        row = run_db(database_url, go)
        return {**row, "password": password}

    return make


@pytest.fixture
def user(make_user: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_user()


@pytest.fixture
def key(dbrun: DBRun, user: dict[str, Any]) -> str:
    return api_key(dbrun, user)


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return bearer(key)


@pytest.fixture(scope="module")
def api(server: ServerThread, database_url: str) -> Iterator[CheckedClient]:
    # Module scope, for the fuzzers' hundreds of calls; hence its own user and key, not `key`.
    from app.auth.api_keys import create_api_key
    from app.auth.users import create_user

    async def new_key(db: Database) -> str:
        row = await create_user(db, f"api-{secrets.token_hex(4)}@example.com", password=None, actor=Actor("test"))
        return (await create_api_key(db, row["email"], "tests", actor=Actor("test")))[1]

    with CheckedClient(server.url, headers=bearer(run_db(database_url, new_key))) as client:
        yield client
    with CheckedClient(server.url, timeout=10) as plain:
        assert plain.get("/healthz").status_code == 200  # still serving after everything the module sent


# ---- OAuth -----------------------------------------------------------------------------------------------


@pytest.fixture
def client(dbrun: DBRun) -> Client:
    return make_client(dbrun)


@pytest.fixture(scope="module")
def docs() -> Iterator[DocumentServer]:
    site = DocumentServer()
    yield site
    site.stop()


@pytest.fixture
def fresh_registration_budget(dbrun: DBRun) -> Iterator[None]:
    # Every registration from 127.0.0.1 (DCR or a metadata-document client) counts against one budget.
    register = rate_limits.delete().where(rate_limits.c.key.like("register:%"))
    dbrun(lambda db: db.execute(register))
    yield
    dbrun(lambda db: db.execute(register))


@pytest.fixture
def forget_failed_sign_ins(dbrun: DBRun) -> Iterator[None]:
    # Failed sign-ins count against the address they came from (often 127.0.0.1): clear them so later tests
    # are not locked out.
    yield
    dbrun(lambda db: db.execute(auth_throttle.delete()))


# ---- the operator console --------------------------------------------------------------------------------


@pytest.fixture
def browser(server: ServerThread) -> Iterator[Browser]:
    b = Browser(server.url)
    yield b
    b.close()


@pytest.fixture
def operator(make_user: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_user(email=f"op-{secrets.token_hex(4)}@example.com", is_admin=True)


@pytest.fixture
def admin(server: ServerThread, operator: dict[str, Any]) -> Iterator[Browser]:
    b = Browser(server.url)
    response = b.sign_in(operator["email"], operator["password"])
    assert response.status_code == 303, response.text[:500]
    b.user = operator
    yield b
    b.close()


# ---- MCP -------------------------------------------------------------------------------------------------


@pytest.fixture
def listener(server: ServerThread, key: str) -> Iterator[SseListener]:
    sse = SseListener(server.url, bearer(key))
    yield sse
    sse.close()


@pytest.fixture(scope="module")
def probe() -> ToolProbe:
    return ToolProbe()


@pytest.fixture(scope="module")
def tool_server(database_url: str, data_dir: Path, probe: ToolProbe) -> Iterator[ServerThread]:
    # Its own server, so the session server's tool list stays the product's.
    thread = start_server_with_extra_tools(database_url, data_dir, probe, MCP_MAX_SESSIONS="3")
    yield thread
    thread.stop()


@pytest.fixture
def tool_http(tool_server: ServerThread) -> Iterator[CheckedClient]:
    with CheckedClient(tool_server.url) as client:
        yield client


# ---- the legal corpus ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_corpus(database_url: str) -> None:
    load_demo(database_url)  # idempotent: every module that needs it loads it again


# ---- a real browser --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not executable:
        browser_unavailable("Debian's chromium is not installed (apt-get install chromium, or `make browser`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
