"""Idle event streams are cheap: one keepalive ticker for all of them, their objects freed when they close, and
the serve loop's freezer keeping them out of full collections (the figures are `scripts/bench_http.py --streams`)."""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import weakref
from collections.abc import Callable
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp.shared.message import ServerMessageMetadata

import app.handlers.mcp as mcp_handlers
from app.mcp.kernel import REPLAYED
from app.mcp.sessions import GET_STREAM, Keepalives, SseSession, StreamableSession
from app.server import StreamFreezer
from tests.helpers_mcp import SseListener, endpoint_of, open_session, session_headers
from tests.helpers_tokens import bearer

HANDSHAKE = "2025-11-25"


def _until(check: Callable[[], bool], what: str, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_one_ticker_writes_the_keepalives_of_every_idle_stream(
    server: Any, http: httpx2.Client, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_handlers, "KEEPALIVE_SECONDS", 0.3)  # the server runs in this process
    keepalives = server.runtime.services.mcp_sessions.keepalives
    sent = keepalives.sent
    session_id = open_session(http, bearer(key), version=HANDSHAKE)
    streams = [SseListener(server.url, bearer(key)) for _ in range(3)]
    streams.append(SseListener(server.url, session_headers(bearer(key), session_id, HANDSHAKE), path="/mcp"))
    try:
        for stream in streams[:3]:
            endpoint_of(stream)
        for stream in streams:  # every stream hears from the ticker, more than once
            assert stream.comments.get(timeout=5) == ": keepalive"
            assert stream.comments.get(timeout=5) == ": keepalive"

        async def waiting() -> int:
            return len(keepalives)

        assert server.call(waiting()) >= len(streams)  # all of them wait on the one ticker, not a timer each
        assert keepalives.sent - sent >= 2 * len(streams)
    finally:
        for stream in streams:
            stream.close()


def test_a_stream_that_says_something_is_due_a_keepalive_only_after_more_silence() -> None:
    class Writer:
        def __init__(self) -> None:
            self.written = 0

        def send_keepalive(self) -> None:
            self.written += 1

    async def go() -> list[int]:
        ticker = Keepalives()
        quiet, chatty, gone = Writer(), Writer(), Writer()
        for writer in (quiet, chatty, gone):
            ticker.idle(writer, 0.2)
        ticker.busy(gone)  # woke up (said something, or its client left): not the ticker's until idle again
        await asyncio.sleep(0.25)
        ticker.busy(chatty)
        ticker.idle(chatty, 0.2)  # idle again after writing: due 0.2 s from now, not from before
        first = ticker.send_due()
        await asyncio.sleep(0.25)
        second = ticker.send_due()
        return [first, second, quiet.written, chatty.written, gone.written, len(ticker)]

    assert asyncio.run(go()) == [1, 2, 2, 1, 0, 2]


def _stream_objects(server: Any, session_id: str, path_kind: type) -> list[weakref.ref[Any]]:
    """Weak references to a waiting stream's handler, its request and connection, and its OutboundStream."""
    store = server.runtime.services.mcp_sessions

    async def look() -> list[weakref.ref[Any]] | None:
        session = store._sessions[session_id]
        stream = session.stream if isinstance(session, SseSession) else session._streams[GET_STREAM]
        handlers: list[Any] = [
            writer
            for writers in store.keepalives._due.values()
            for writer in writers
            if getattr(writer, "_waiting_on", None) is stream
        ]
        if not handlers:
            return None
        assert len(handlers) == 1 and isinstance(handlers[0], path_kind)
        handler: Any = handlers[0]
        objects = [handler, handler.request, handler.request.connection]
        if isinstance(session, SseSession):
            objects += [session, stream]  # an HTTP+SSE session is its stream; a Streamable HTTP one outlives it
        return [weakref.ref(o) for o in objects]

    found: list[list[weakref.ref[Any]]] = []

    def registered() -> bool:
        refs = server.call(look())
        if refs is not None:
            found.append(refs)
        return refs is not None

    _until(registered, "the stream never waited on the keepalive ticker")
    return found[0]


def _raw_stream(server: Any, path: str, headers: dict[str, str], until: bytes) -> tuple[socket.socket, bytes]:
    """GET `path` as an event stream on a raw socket, read until `until`. Not a CheckedClient: the test needs the
    connection closed the moment it says so, and an HTTP client's stream read in another thread closes when its
    objects are collected, which the test holds off on purpose."""
    host, _, port = server.url.removeprefix("http://").partition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    fields = {**headers, "Accept": "text/event-stream"}
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in fields.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    seen = b""
    while b"\r\n\r\n" not in seen or until not in seen.split(b"\r\n\r\n", 1)[1]:
        chunk = sock.recv(4096)
        assert chunk, seen
        seen += chunk
    assert seen.startswith(b"HTTP/1.1 200"), seen
    return sock, seen


def test_a_closed_stream_is_freed_by_reference_counting(server: Any, http: httpx2.Client, key: str) -> None:
    """What StreamFreezer relies on: a stream's objects go when it closes, without a cycle collection, so freezing
    them while they are open keeps nothing once they end. They are frozen here as serve's freezer does (the
    collector never looks at them again), so only reference counting can free them."""
    store = server.runtime.services.mcp_sessions
    session_id = open_session(http, bearer(key), version=HANDSHAKE)
    legacy, seen = _raw_stream(server, "/sse", bearer(key), b"\n\n")
    legacy_id = seen.split(b"session_id=", 1)[1].split(b"\n", 1)[0].decode()
    modern, _ = _raw_stream(server, "/mcp", session_headers(bearer(key), session_id, HANDSHAKE), b"retry:")
    refs = _stream_objects(server, legacy_id, mcp_handlers.LegacySSEHandler)
    refs += _stream_objects(server, session_id, mcp_handlers.MCPResourceHandler)  # the session stays: its GET goes
    gc.collect()
    gc.freeze()
    try:

        async def legacy_open() -> bool:
            return legacy_id in store._sessions

        legacy.close()
        modern.close()
        _until(lambda: not server.call(legacy_open()), "the HTTP+SSE session did not end with its stream")
        _until(lambda: all(ref() is None for ref in refs), "a closed stream's objects are still alive")
    finally:
        gc.unfreeze()


def test_the_freezer_freezes_as_streams_open_and_cleans_when_they_fall() -> None:
    class Thing:
        pass

    freezer = StreamFreezer()
    few, every = StreamFreezer.GROWTH, StreamFreezer.EVERY
    try:
        assert freezer.tick(few - 1, now=0.0) is None  # fewer than a few
        plain, cycle = Thing(), Thing()
        cycle.self = cycle  # type: ignore[attr-defined]
        plain_ref, cycle_ref = weakref.ref(plain), weakref.ref(cycle)
        assert freezer.tick(few, now=0.0) == "frozen"
        assert gc.get_freeze_count() > 0
        assert freezer.tick(3 * few, now=every / 2) is None  # too soon after the last
        assert freezer.tick(3 * few, now=every) == "frozen"
        assert freezer.tick(3 * few, now=2 * every) is None  # none opened since
        del plain, cycle
        gc.collect()
        assert plain_ref() is None  # freed by reference counting, frozen or not
        assert cycle_ref() is not None  # a frozen cycle waits for the clean
        peak = 16 * few
        assert freezer.tick(peak, now=3 * every) == "frozen"
        assert freezer.tick(peak // 2, now=4 * every) == "cleaned"  # half the peak
        assert cycle_ref() is None
        assert freezer.tick(peak // 2, now=5 * every) is None
        assert freezer.tick(peak // 2 + few, now=6 * every) == "frozen"  # a few opened since the clean
        later = 6 * every + StreamFreezer.CLEAN_EVERY + 1
        assert freezer.tick(peak // 2 + few, now=later) == "cleaned"  # and at least once an hour
    finally:
        gc.unfreeze()


def test_a_session_parks_while_its_answered_initialize_stream_is_still_held(server: Any) -> None:
    """A client may send notifications/initialized before the server has released the initialize's own stream;
    the session parks all the same (its loop would otherwise run for as long as the session lives)."""
    store = server.runtime.services.mcp_sessions
    initialize = types.JSONRPCRequest(
        jsonrpc="2.0",
        id=0,
        method="initialize",
        params={"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    )
    initialized = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/initialized")

    async def handshake() -> StreamableSession:
        session = await store.open_streamable("test:parks-early")
        stream = session.open_request_stream(0, is_initialize=True)
        assert stream is not None
        await session.deliver(initialize, ServerMessageMetadata(request_context=REPLAYED))
        while not stream.complete:
            await stream.wait(stream.last_seq)
        await session.deliver(initialized, None)  # the initialize stream is answered but not released
        return session

    session = server.call(handshake())

    async def started() -> bool:
        return session.loop_started

    try:
        _until(lambda: not server.call(started()), "the session's loop did not park")
    finally:
        server.call(session.close())
