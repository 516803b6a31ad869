"""The Tornado application and the `serve` lifecycle: start, serve, shut down cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.iostream
import tornado.locale
import tornado.netutil
import tornado.web

from app.config import Settings, public_url_mismatch
from app.db import UNAVAILABLE, Database
from app.db.embedded import EmbeddedPostgres
from app.db.schema import schema_problem
from app.forwarded import ProxyAwareHTTPServer
from app.handlers import all_routes, bodies
from app.handlers.base import GzipExceptEventStreams, NotFoundHandler, StaticHandler
from app.services import Inflight, Services

log = logging.getLogger("secondlayer")

HERE = Path(__file__).resolve().parent
SHUTDOWN_GRACE = 20.0  # seconds to let in-flight requests finish; supervisord waits 30
QUIET_PERIOD = 0.2  # seconds without a new request before the remaining (idle) connections are closed


class StartupError(Exception):
    """The server cannot start; the message is one line for the operator."""


def load_locales() -> None:
    tornado.locale.load_translations(str(HERE / "locale"))
    tornado.locale.set_default_locale("en_US")


def make_app(services: Services) -> tornado.web.Application:
    """The application with every route; handlers reach `services` as `self.services`."""
    settings = services.config
    load_locales()
    routes = all_routes()
    return tornado.web.Application(
        routes,
        metric_routes=metric_routes(routes),
        services=services,
        cookie_secret=settings.cookie_secret,
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": True, "samesite": "Lax", "secure": settings.secure_cookies},
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        static_handler_class=StaticHandler,
        default_handler_class=NotFoundHandler,
        login_url="/admin/login",
        autoescape="xhtml_escape",
        transforms=[GzipExceptEventStreams],  # compress_response, but never an event stream
        log_function=_log_request,
    )


def metric_routes(routes: list[Any]) -> dict[type, str]:
    """Each handler class's route pattern, the `http_route` label of its requests."""
    labels: dict[type, str] = {}
    for route in routes:
        pattern, handler = route[0], route[1]
        labels.setdefault(handler, pattern.removesuffix("$").removesuffix("/?"))
    labels[NotFoundHandler] = "unmatched"
    return labels


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Our handlers write their own access line (without query strings); others get a minimal one."""
    if hasattr(handler, "log_request"):
        handler.log_request()
    else:
        log.info("%s %s %s", handler.request.method, handler.request.path, handler.get_status())


class Runtime:
    """The running server: database pool, long-lived services and the HTTP listener.

    `serve` drives one from signals; the tests drive one in a thread on a random port.
    """

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.db = Database(database_url, maxsize=settings.db_pool_size)
        self.services = Services(settings, self.db)
        self.app: tornado.web.Application | None = None
        self.server: tornado.httpserver.HTTPServer | None = None
        self.sockets: list[socket.socket] = []
        self.port = 0

    async def start(self, host: str, port: int, sockets: list[socket.socket] | None = None) -> int:
        """Check the database, start services, listen (on `sockets` when given); returns the bound port."""
        try:
            problem = await schema_problem(self.db)
        except UNAVAILABLE as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StartupError(f"cannot reach the database at {self.db.safe_url}: {reason}") from None
        if problem:
            raise StartupError(f"refusing to start: {problem}")
        await self.services.start()
        self.app = make_app(self.services)
        # xheaders, but believed only from TRUSTED_PROXIES (see app/forwarded.py).
        # body_timeout: Tornado waits for ever by default, so a client trickling a body (slowloris) would hold
        # a connection on any endpoint; the API handlers apply the same limit to the bodies they stream in.
        self.server = ProxyAwareHTTPServer(
            self.app,
            max_body_size=self.settings.max_body_bytes,
            idle_connection_timeout=75,
            body_timeout=bodies.BODY_TIMEOUT,
            trusted_proxies=self.settings.trusted_proxies,
        )
        # Bound only now, once ready: until then a proxy's connection is refused and it tries its next server.
        self.sockets = sockets or bind(host, port)
        self.server.add_sockets(self.sockets)
        self.port = self.sockets[0].getsockname()[1]
        self.services.mcp_sessions.owner = f"{self.settings.node_name}{self.port}"
        return self.port

    async def stop(self) -> None:
        """Stop accepting, end streams, wait for in-flight requests, then close services and the pool."""
        if self.server is not None:
            inflight = self.services.inflight
            log.info("shutting down: no new connections, waiting for %d in-flight requests", inflight.count)
            self._accept_waiting(self.server)
            self.server.stop()
            self.services.shutdown.set()  # long-lived streams end themselves
            self.services.mcp_sessions.wake_all()  # at once, not at their next keepalive
            await self._quiet(inflight)
            await self.server.close_all_connections()
            self.server = None
        try:
            await self.services.stop()
        finally:
            await self.db.close()

    def _accept_waiting(self, server: tornado.httpserver.HTTPServer) -> None:
        """Serve the connections the kernel completed that the loop has not accepted yet.

        Closing a listening socket resets them, and a proxy that had already sent a POST on one answers 502
        rather than trying its next server. Accepted here, in the same step as the close, they are served.
        """
        for sock in self.sockets:
            while True:
                try:
                    connection, address = sock.accept()
                except OSError:  # BlockingIOError: none waiting
                    break
                server.handle_stream(tornado.iostream.IOStream(connection), address)
        self.sockets = []

    async def _quiet(self, inflight: Inflight) -> None:
        """Wait until no request is in flight, nor begins within QUIET_PERIOD (a connection just accepted may not
        have been read yet), for at most SHUTDOWN_GRACE seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        while True:
            try:
                await asyncio.wait_for(inflight.idle.wait(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                log.warning("shutdown: %d requests still running after %.0fs", inflight.count, SHUTDOWN_GRACE)
                return
            await asyncio.sleep(QUIET_PERIOD)
            if inflight.idle.is_set() or loop.time() >= deadline:
                return


class StreamFreezer:
    """Keeps the objects of long-lived event streams out of the collector's full collections.

    Ten thousand idle streams are about a million objects the cyclic collector tracks (Tornado's connection,
    request and handler, the coroutines waiting, the session), and a full collection walks them all at every
    turn, hundreds of milliseconds with the event loop stopped, collecting nothing. So whenever a few streams
    have opened since the last freeze (at most every `EVERY` seconds), garbage is collected (a full collection,
    but over what is not frozen yet: what came since the last freeze, a few milliseconds) and everything alive
    is moved to the permanent generation (`gc.freeze()`), which full collections do not walk. A stream that
    ends frees its objects by reference counting (`tests/test_idle_streams.py` checks that a closed stream's
    objects go); what a frozen object later leaves in a cycle (a request in flight at a freeze) stays, so this
    is bounded: when the streams fall to half their peak, and at least every `CLEAN_EVERY` seconds after a
    freeze, everything is unfrozen, collected once and frozen again.
    """

    GROWTH = 8  # streams opened since the last freeze that make another one
    EVERY = 2.0  # seconds between freezes at least
    CLEAN_EVERY = 3600.0

    def __init__(self) -> None:
        self.frozen_at = 0  # open streams at the last freeze
        self.frozen = float("-inf")  # when (time.monotonic())
        self.peak = 0  # most streams open since the last clean
        self.cleaned = time.monotonic()

    def tick(self, streams: int, now: float | None = None) -> str | None:
        """Look at the number of open streams; returns what was done ("frozen", "cleaned") or None."""
        now = time.monotonic() if now is None else now
        if streams - self.frozen_at >= self.GROWTH and now - self.frozen >= self.EVERY:
            gc.collect()  # what is not frozen yet: garbage is collected, not frozen
            gc.freeze()
            self.frozen_at, self.frozen = streams, now
            self.peak = max(self.peak, streams)
            return "frozen"
        if self.peak and (
            (self.peak >= 16 * self.GROWTH and streams <= self.peak // 2) or now - self.cleaned > self.CLEAN_EVERY
        ):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.frozen_at = self.peak = streams
            self.frozen = self.cleaned = now
            return "cleaned"
        self.frozen_at = min(self.frozen_at, streams)  # so that streams opened again are frozen again
        return None

    async def run(self, open_streams: Callable[[], int], every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            streams = open_streams()
            started = time.perf_counter()
            done = self.tick(streams)
            if done:
                log.info(
                    "long-lived objects %s at %d open streams in %.0f ms",
                    done,
                    streams,
                    (time.perf_counter() - started) * 1000,
                )


def bind(host: str, port: int) -> list[socket.socket]:
    try:
        return tornado.netutil.bind_sockets(port, address=host)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


async def serve(settings: Settings, host: str, port: int, *, database: str) -> None:
    """Run until SIGTERM or SIGINT, then shut down cleanly (and stop the embedded database if ours).

    An unset PUBLIC_URL follows the address listened on (`database` names the database in the log)."""
    sockets = None
    if port == 0 and not settings.public_url_explicit:
        sockets = bind(host, 0)  # the public URL needs the port the system picks
        port = sockets[0].getsockname()[1]
    settings = settings.bound_to(host, port)
    mismatch = public_url_mismatch(settings, host, port)
    if mismatch:
        log.warning("%s", mismatch)
    embedded: EmbeddedPostgres | None = None
    database_url = settings.database_url
    loop = asyncio.get_running_loop()
    if not database_url:
        embedded = EmbeddedPostgres(settings.data_dir)
        database_url = await loop.run_in_executor(None, embedded.start)
    runtime = Runtime(settings, database_url)
    freezer: asyncio.Future[None] | None = None
    try:
        await runtime.start(host, port, sockets)
        # What startup built (modules, the application, schemas, the tools) lives as long as the process: moved out
        # of the collector's sight, so a full collection scans only what requests and open streams made since,
        # not the whole heap, and pauses the event loop that much less.
        gc.collect()
        gc.freeze()
        freezer = asyncio.ensure_future(StreamFreezer().run(lambda: runtime.services.mcp_sessions.open_streams))
        log.info(
            "serving on http://%s:%s; public URL %s%s; database %s",
            host,
            runtime.port,
            settings.public_url,
            "" if settings.public_url_explicit else " (PUBLIC_URL unset: follows the address)",
            database,
        )
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        if freezer is not None:
            freezer.cancel()
        await runtime.stop()
        if embedded is not None:
            await loop.run_in_executor(None, embedded.stop)
        log.info("stopped")
