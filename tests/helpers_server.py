"""The product under test: its server in a thread (or as `serve` in a subprocess), its settings, and databases
on the test PostgreSQL server."""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx2
import psycopg2

from app.config import Settings, load_settings
from app.db import Database
from app.server import Runtime
from tests.helpers_http import CheckedClient

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
T = TypeVar("T")
DBRun = Callable[[Callable[[Database], Awaitable[Any]]], Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (works for socket URLs with ?host= too)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(server_url: str, prefix: str = "sl_test") -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return with_database(server_url, name)


def run_db(database_url: str, fn: Callable[[Database], Awaitable[T]]) -> T:
    """Run `fn(db)` on a fresh loop and pool; for sync tests that need to read or seed the database."""

    async def go() -> T:
        db = Database(database_url, maxsize=2)
        try:
            return await fn(db)
        finally:
            await db.close()

    return asyncio.run(go())


def server_settings(database_url: str, data_dir: Path, port: int, **overrides: str) -> Settings:
    """The settings a test server runs with; `overrides` are environment variables (`TRUSTED_PROXIES=...`)."""
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
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread, which raises it
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

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (to reach its services) and return the result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


def wait_ready(
    url: str, proc: subprocess.Popen[str] | None = None, timeout: float = 30, path: str = "/healthz"
) -> None:
    """Wait until a server started as a process answers `path` with 200 (failing at once if `proc` exits)."""
    deadline = time.monotonic() + timeout
    with CheckedClient(url, timeout=1) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if client.get(path).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError("server did not come up")


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def artifact_path(name: str) -> Path:
    """Where tests keep screenshots and other artifacts for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
