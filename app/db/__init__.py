"""The database layer: an aiopg pool that runs SQLAlchemy Core statements, and transactions.

aiopg 1.4's `aiopg.sa` does not import with SQLAlchemy 2.x, so statements are compiled here with the
psycopg2 dialect and executed through plain aiopg cursors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiopg
import psycopg2
import psycopg2.extras
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger(__name__)

Row = dict[str, Any]
Statement = ClauseElement | str

_DIALECT = postgresql.psycopg2.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves __init__ unannotated

# Errors that mean "the database is not there right now", as opposed to a bad statement.
UNAVAILABLE = (psycopg2.OperationalError, psycopg2.InterfaceError, OSError, asyncio.TimeoutError)


def redact_url(url: str) -> str:
    """The URL with its password replaced, safe to print in logs and error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed database URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, parts.fragment))


def compile_statement(stmt: Statement, params: Mapping[str, Any] | None = None) -> tuple[str, Any]:
    """SQL text and parameters for psycopg2, from a Core statement or a plain SQL string.

    The parameters are converted as SQLAlchemy's own execution converts them (e.g. JSON serialised), through
    public API only: the expanded state (IN lists, one parameter per value) and each type's bind processor.
    """
    if isinstance(stmt, str):
        return stmt, dict(params or {})
    compiled = stmt.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler), "DDL is Alembic's, not run through here"
    expanded = compiled.construct_expanded_state(params)
    values = dict(expanded.parameters)
    processors = dict(expanded.processors)  # those of the expanded IN-list values
    for bind, name in compiled.bind_names.items():
        key = compiled.escaped_bind_names.get(name, name)
        if key in values and key not in processors:
            processor = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            if processor is not None:
                processors[key] = processor
    for key, processor in processors.items():
        if values.get(key) is not None:
            values[key] = processor(values[key])
    return expanded.statement, values


class Connection:
    """One checked-out connection; every statement helper lives here and on Database."""

    def __init__(self, conn: aiopg.Connection) -> None:
        self._conn = conn

    async def execute(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement and return the affected row count."""
        sql, values = compile_statement(stmt, params)
        async with self._conn.cursor() as cur:
            await cur.execute(sql, values)
            return int(cur.rowcount)

    async def fetch_all(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        sql, values = compile_statement(stmt, params)
        async with self._conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            await cur.execute(sql, values)
            return [dict(r) for r in await cur.fetchall()]

    async def fetch_one(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.fetch_all(stmt, params)
        return rows[0] if rows else None

    async def fetch_value(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None; read with a plain cursor (no dict per row)."""
        sql, values = compile_statement(stmt, params)
        async with self._conn.cursor() as cur:
            await cur.execute(sql, values)
            row = await cur.fetchone()
            return None if row is None else row[0]


class Database:
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, url: str, *, maxsize: int = 10, timeout: float = 30.0) -> None:
        self.url = url
        self.maxsize = maxsize
        self.timeout = timeout
        self._pool: aiopg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    async def connect(self) -> None:
        """Open the pool; raises one of UNAVAILABLE when the server cannot be reached."""
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await aiopg.create_pool(
                    self.url, minsize=0, maxsize=self.maxsize, timeout=self.timeout, pool_recycle=600
                )

    def pool_use(self) -> tuple[int, int]:
        """Connections of the pool in use and idle, now."""
        if self._pool is None:
            return 0, 0
        return self._pool.size - self._pool.freesize, self._pool.freesize

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self._pool is None:
            await self.connect()
        assert self._pool is not None
        conn = await self._pool.acquire()
        try:
            yield Connection(conn)
        except UNAVAILABLE:
            # A broken connection must not go back into the pool to fail the next request.
            conn.close()
            raise
        finally:
            await self._pool.release(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """BEGIN ... COMMIT, rolled back on any exception so nothing half-written stays."""
        async with self.connection() as conn:
            await conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                if not conn._conn.closed:
                    await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def execute(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> int:
        async with self.connection() as conn:
            return await conn.execute(stmt, params)

    async def fetch_all(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        async with self.connection() as conn:
            return await conn.fetch_all(stmt, params)

    async def fetch_one(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> Row | None:
        async with self.connection() as conn:
            return await conn.fetch_one(stmt, params)

    async def fetch_value(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> Any:
        async with self.connection() as conn:
            return await conn.fetch_value(stmt, params)

    async def listen(
        self,
        channel: str,
        callback: Callable[[str], Awaitable[None] | None],
        stop: asyncio.Event,
        *,
        on_listening: Callable[[], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """Deliver NOTIFY payloads on `channel` to `callback` until `stop` is set, reconnecting on loss.

        `on_listening` is called on every (re)connection once LISTEN is in place (what was sent before is lost);
        `on_lost` as soon as the connection is found dead, which a quiet one is checked for every LISTEN_PROBE
        seconds.
        """
        delay = 0.5
        while not stop.is_set():
            try:
                async with aiopg.connect(
                    self.url, timeout=self.timeout, application_name=f"secondlayer-listen-{channel}"[:63]
                ) as conn:
                    async with conn.cursor() as cur:
                        await cur.execute(f'LISTEN "{channel}"')
                    delay = 0.5
                    if on_listening is not None:
                        on_listening()
                    while not stop.is_set():
                        get = asyncio.ensure_future(conn.notifies.get())
                        stopper = asyncio.ensure_future(stop.wait())
                        done, pending = await asyncio.wait(
                            {get, stopper}, timeout=LISTEN_PROBE, return_when=asyncio.FIRST_COMPLETED
                        )
                        for task in pending:
                            task.cancel()
                        if get in done:
                            await _call(callback, get.result().payload)
                        elif not done:
                            async with conn.cursor() as cur:  # a silent connection may be a dead one
                                await cur.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening across database restarts, whatever the error
                if on_lost is not None:
                    on_lost()
                log.warning("listen on %s lost (%s); retrying in %.1fs", channel, type(exc).__name__, delay)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 10.0)


LISTEN_PROBE = 5.0


async def _call(callback: Callable[[str], Awaitable[None] | None], payload: str) -> None:
    result = callback(payload)
    if asyncio.iscoroutine(result):
        await result
