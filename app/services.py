"""What handlers use besides the request: settings, the database, and the long-lived services of the server."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import metrics
from app.auth.bearer import BearerAuthenticator
from app.auth.jwks import JwksCache
from app.config import Settings
from app.corpus.sync import schedule_syncs
from app.db import Database
from app.jobs import schedule_cleanup
from app.mcp.kernel import ToolCalls, build_server
from app.mcp.sessions import SessionStore
from app.tools.registry import default_registry

GAUGE_INTERVAL = 5.0  # seconds between updates of this process's gauges


@dataclass
class Inflight:
    """Counts requests being served, so shutdown can wait for them."""

    count: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    def enter(self) -> None:
        self.count += 1
        self.idle.clear()

    def leave(self) -> None:
        self.count = max(0, self.count - 1)
        if self.count == 0:
            self.idle.set()


class Services:
    """One per server process, reached by handlers as `self.services`.

    Building one starts nothing; `start()` starts the services in order and, if one fails, stops those already
    started before raising; `stop()` stops them in reverse order. The database pool belongs to the caller.
    """

    def __init__(self, config: Settings, db: Database) -> None:
        self.config = config
        self.db = db
        self.inflight = Inflight()
        self.shutdown = asyncio.Event()  # set when the server stops: long-lived streams end themselves
        self.authenticator = BearerAuthenticator(db, config.accepted_audiences)
        self.jwks = JwksCache()  # private_key_jwt clients' fetched public keys, shared by every request
        self.tools = default_registry()
        calls = ToolCalls(self.tools, config, db)
        self.mcp_sessions = SessionStore(
            build_server(calls),
            tool_calls=calls,
            max_per_principal=config.mcp_max_sessions,
            idle_timeout=config.mcp_session_idle_timeout,
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running = AsyncExitStack()
        self._gauges: asyncio.Task[None] | None = None

    def publish_gauges(self) -> None:
        """This process's share of the host's gauges: open sessions and streams, database connections."""
        by_kind, streams = self.mcp_sessions.counts()
        for kind, count in by_kind.items():
            metrics.mcp_sessions.labels(kind).set(count)
        metrics.mcp_streams.set(streams)
        in_use, idle = self.db.pool_use()
        metrics.db_pool.labels("in_use").set(in_use)
        metrics.db_pool.labels("idle").set(idle)
        metrics.db_pool.labels("max").set(self.db.maxsize)

    async def _publish_forever(self) -> None:
        # Every few seconds, so a scrape answered by another process still sees this one's figures.
        while True:
            self.publish_gauges()
            await asyncio.sleep(GAUGE_INTERVAL)

    def _stop_gauges(self) -> None:
        if self._gauges is not None:
            self._gauges.cancel()
        metrics.processes.dec()
        metrics.process_exited()

    async def start(self) -> None:
        async with AsyncExitStack() as started:
            await self.authenticator.start()  # revocation feed (LISTEN) and usage flush
            started.push_async_callback(self.authenticator.stop)
            await self.mcp_sessions.start()
            started.push_async_callback(self.mcp_sessions.stop)
            schedule_cleanup(self.scheduler, self.config, self.db)
            schedule_syncs(self.scheduler, self.config, self.db)
            self.scheduler.start()
            started.callback(self.scheduler.shutdown, wait=False)
            metrics.processes.inc()
            self._gauges = asyncio.ensure_future(self._publish_forever())
            started.callback(self._stop_gauges)
            self._running = started.pop_all()

    async def stop(self) -> None:
        await self._running.aclose()
