"""Shared fixtures: a real PostgreSQL, the real server on a random port in a thread, real HTTP clients.

PostgreSQL is TEST_DATABASE_URL when set (a server on which we may create databases), else a throw-away
embedded one (pgserver). Each test session gets its own freshly migrated database.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2
import psycopg2
import pytest

from app.audit import Actor
from app.config import Settings, load_settings
from app.db import Database
from app.db.schema import upgrade
from app.server import Runtime

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (works for socket URLs with ?host= too)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server (maintenance database) on which tests may create databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    tmp = Path(tempfile.mkdtemp(prefix="sl-test-pg-"))
    server = pgserver.get_server(tmp / "pgdata", cleanup_mode="delete")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_tmp_dir() -> Iterator[Path]:
    """A directory for an embedded PostgreSQL of a test's own. Not under pytest's tmp_path: pytest keeps
    that tree private (0700) to root, while pgserver runs postgres as an unprivileged system user."""
    path = Path(tempfile.mkdtemp(prefix="sl-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def create_database(server_url: str, prefix: str = "sl_test") -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return with_database(server_url, name)


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Callable[..., str]:
    """Factory: a new empty database on the test server, returning its URL (for migration tests)."""
    return lambda prefix="sl_empty": create_database(pg_server_url, prefix)


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> str:
    """A database migrated to head, shared by the session's server and tests."""
    url = create_database(pg_server_url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def test_settings(database_url: str, data_dir: Path, port: int, **overrides: str) -> Settings:
    env = {
        "DATABASE_URL": database_url,
        "SECONDLAYER_DATA_DIR": str(data_dir),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "COOKIE_SECRET": "test-cookie-secret-" + "x" * 32,
        "BCRYPT_ROUNDS": "4",
        "CLIENT_METADATA_ALLOW_LOOPBACK": "true",
        "LOG_LEVEL": "warning",
    }
    env.update(overrides)
    return load_settings(env)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, when imported


class ServerThread:
    """The real server (Runtime) on its own event loop in a background thread."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.runtime = Runtime(settings, database_url)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.runtime.start("127.0.0.1", self.settings.port))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runtime.stop())
        self.loop.close()

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def call(self, coro: Awaitable[T]) -> T:
        """Run a coroutine on the server's loop (to reach its services) and return the result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


@pytest.fixture(scope="session")
def server(database_url: str, data_dir: Path) -> Iterator[ServerThread]:
    """The product's server, shared by the whole session."""
    port = free_port()
    thread = ServerThread(test_settings(database_url, data_dir, port), database_url).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def settings(server: ServerThread) -> Settings:
    return server.settings


SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy", "X-Request-Id")


def check_invariants(response: httpx2.Response) -> httpx2.Response:
    """What every response of ours must have, whatever the endpoint."""
    for header in SECURITY_HEADERS:
        assert header in response.headers, f"{response.request.url} lacks {header}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    ctype = response.headers.get("Content-Type", "")
    if response.status_code >= 400 and not ctype.startswith("text/html"):
        assert ctype.startswith("application/json"), f"error without JSON: {ctype}"
    assert "Traceback" not in response.text
    return response


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx2.Client]:
    """A plain HTTP client on the server; every response is checked for the invariants."""
    with httpx2.Client(base_url=server.url, timeout=30, follow_redirects=False,
                       event_hooks={"response": [lambda r: (r.read(), check_invariants(r))[0]]}) as client:
        yield client


def run_db(database_url: str, fn: Callable[[Database], Awaitable[T]]) -> T:
    """Run `fn(db)` on a fresh loop and pool; for sync tests that need to read or seed the database."""

    async def go() -> T:
        db = Database(database_url, maxsize=2)
        try:
            return await fn(db)
        finally:
            await db.close()

    return asyncio.run(go())


@pytest.fixture
def dbrun(database_url: str) -> Callable[[Callable[[Database], Awaitable[Any]]], Any]:
    return lambda fn: run_db(database_url, fn)


@pytest.fixture
def make_user(database_url: str) -> Callable[..., dict[str, Any]]:
    """Factory: a user with a unique email; returns the row plus the clear password."""
    from app.auth.users import create_user

    def make(email: str | None = None, password: str | None = "correct horse battery", is_admin: bool = False,
             disabled: bool = False) -> dict[str, Any]:
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


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(database_url: str, data_dir: Path) -> Callable[..., CliResult]:
    """Run `python -m app ...` as a user would, against the test database."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> CliResult:
        full_env = {**os.environ, "DATABASE_URL": database_url, "SECONDLAYER_DATA_DIR": str(data_dir),
                    "BCRYPT_ROUNDS": "4", "PUBLIC_URL": "http://127.0.0.1:8000"}
        full_env.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "app", *args], input=input, capture_output=True, text=True,
                              env=full_env, timeout=timeout, cwd=ROOT)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def trickle_is_cut_off(port: int, head: bytes, body: bytes, within: float = 8.0) -> bool:
    """Send `head`, then `body` a byte every half second (never idle, never done, as a slowloris client does);
    True when the server closes the connection within `within` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body[:1])
        started = time.monotonic()
        try:
            for i in range(1, 2 * int(within) + 4):
                time.sleep(0.5)
                sock.sendall(body[i % len(body):i % len(body) + 1])
        except OSError:
            return time.monotonic() - started < within
        sock.settimeout(1)
        try:
            closed = sock.recv(1024) == b""
        except OSError:
            closed = True
        return closed and time.monotonic() - started < within


def artifact_path(name: str) -> Path:
    """Where tests keep screenshots and other artifacts for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


# ---- real headless Chromium: Debian's package driven by Playwright, never a downloaded browser -------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_unavailable(reason: str) -> None:
    """Skip, unless SECONDLAYER_REQUIRE_BROWSER=1 (CI sets it), where a missing browser is a failure."""
    if os.environ.get("SECONDLAYER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SECONDLAYER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not executable:
        _browser_unavailable("Debian's chromium is not installed (apt-get install chromium, or `make browser`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
