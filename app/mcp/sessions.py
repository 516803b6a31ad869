"""MCP sessions: the SDK kernel's serving loop per session, fed and drained through its memory streams.

This is the seam between HTTP and the SDK. Each session runs `mcp.server.runner.serve_loop` (Streamable
HTTP, handshake era) or `serve_dual_era_loop` (HTTP+SSE, as `Server.run` does) over a pair of SDK context
streams. The web layer pushes parsed JSON-RPC messages in with `deliver()`; whatever the kernel writes out
is routed to the SSE stream it belongs to (a request's own stream, or the standalone one) and kept
there for Last-Event-ID replay. Sessions belong to the principal identity that opened them.

A session's loop starts with the first message delivered to it (an idle HTTP+SSE stream runs none), and a
Streamable HTTP session whose loop has seen nothing but its handshake parks it: the loop ends, and the next
message starts a new one fed the same `initialize` (under a private id, its answer dropped) and
`notifications/initialized` first, so an idle session costs no running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from typing import Any, Protocol, TypeVar

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_dual_era_loop, serve_loop

# A private SDK module, used here and nowhere else: the SDK's own transports use these streams so that each
# message's contextvars (our request id, for the logs) reach the kernel; the SDK offers no public equivalent.
# tests/test_mcp_streamable.py (a call runs in the context of the request that sent it) fails if it changes.
from mcp.shared._context_streams import ContextSendStream, create_context_streams
from mcp.shared.message import ServerMessageMetadata, SessionMessage

from app.mcp.kernel import REPLAYED, McpCaller, ToolCalls
from app.mcp.modern import FastToolCalls, StaticResults

log = logging.getLogger("secondlayer.mcp")

GET_STREAM = "_standalone"
STANDALONE_KEEP = 256  # standalone-stream events kept for replay
RESUME_GRACE = 10.0  # seconds a dropped, resumable request stream waits for the client before it is cancelled
# An HTTP+SSE client that keeps POSTing but does not read its stream makes the server hold every answer;
# past this many unsent bytes the session is ended instead of growing without bound.
MAX_HELD_BYTES = 8 * 1024 * 1024
REQUEST_CANCELLED = -32800  # the code the SDK's own 2025 transport answers a cancelled request with


# Seconds a client refused because all its sessions are busy is told to wait (Retry-After).
BUSY_RETRY_AFTER = 5


class SessionLimitReached(Exception):
    """The principal already holds as many sessions or streams as settings.mcp_max_sessions allows."""


class SessionClosed(Exception):
    """The session ended while a message was being delivered."""


class OutboundStream:
    """The messages of one SSE stream, in order, with ids a client can resume from."""

    # Ten thousand idle streams are ten thousand of these: slots, and no Event or timer of their own (a weak
    # reference is allowed: tests/test_idle_streams.py checks that a closed stream's objects are freed).
    __slots__ = (
        "__weakref__",
        "_events",
        "_keep",
        "_next_seq",
        "_waiters",
        "cancel_timer",
        "closed",
        "complete",
        "consumers",
        "generation",
        "held_bytes",
        "key",
        "number",
    )

    def __init__(self, number: int, key: str, keep: int | None = None) -> None:
        self.number = number
        self.key = key
        self._keep = keep
        self._events: list[tuple[int, str]] = []
        self.held_bytes = 0  # size of the payloads in _events
        self._next_seq = 1
        self._waiters: list[asyncio.Future[None]] | None = None  # who waits in wait(), woken by _wake()
        self.complete = False  # the final message (the response) is in
        self.closed = False  # the session ended
        self.generation = 0  # bumped when a new consumer takes the stream over
        self.consumers = 0
        self.cancel_timer: asyncio.TimerHandle | None = None

    def event_id(self, seq: int) -> str:
        return f"{self.number}-{seq}"

    def append(self, payload: str, final: bool) -> None:
        self._events.append((self._next_seq, payload))
        self.held_bytes += len(payload)
        self._next_seq += 1
        if self._keep is not None and len(self._events) > self._keep:
            self._drop(len(self._events) - self._keep)
        self.complete = self.complete or final
        self._wake()

    def after(self, seq: int) -> list[tuple[int, str]]:
        return [event for event in self._events if event[0] > seq]

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def trim(self, seq: int) -> None:
        """Drop events up to `seq` once delivered, for streams that are never replayed."""
        self._drop(sum(1 for event in self._events if event[0] <= seq))

    def _drop(self, count: int) -> None:
        self.held_bytes -= sum(len(payload) for _, payload in self._events[:count])
        del self._events[:count]

    def take_over(self) -> int:
        """A new connection becomes the stream's writer; the previous one is woken to stop before writing again."""
        self.generation += 1
        self._wake()
        return self.generation

    def close(self) -> None:
        self.closed = True
        self._wake()

    def wake(self) -> None:
        """Wake whoever waits on this stream (the client left, the server is stopping)."""
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, seq: int, *also: Flag) -> None:
        """Return on news after `seq`, the stream ending, `wake()` or a take-over; at once when one of `also` is
        already set. Whoever sets one of `also` later calls `wake()` (the handler when its client leaves,
        `SessionStore.wake_all()` at shutdown). No timeout: an idle stream's keepalives are written by the one
        `Keepalives` ticker, so a waiting stream costs one future, not a timer and a wake-up per keepalive."""
        if self.after(seq) or self.closed or any(event.is_set() for event in also):
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = [waiter]
        else:
            self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class Flag(Protocol):
    """What `OutboundStream.wait` looks at besides the stream (an asyncio.Event, or the like)."""

    def is_set(self) -> bool:
        """Whether it happened."""


class KeepaliveWriter(Protocol):
    """An idle event stream's writer (the handler serving it)."""

    def send_keepalive(self) -> None:
        """Write one keepalive comment, without waiting for it to be sent."""


class Keepalives:
    """One ticker that writes the keepalives of every idle event stream of the process.

    A stream's writer registers while it waits with nothing to send (`idle`) and unregisters when it wakes
    (`busy`); a writer idle for `within` seconds gets a keepalive, then is due again `within` seconds later.
    Writers are kept in registration order per `within`, which is the order they fall due, so a tick looks only
    at the writers due. Rather than a timer and a coroutine wake-up per stream per keepalive, this is one task
    for the process, writing at most `CHUNK` keepalives between yields to the event loop.
    """

    TICK = 0.5  # seconds between looks at who is due: a keepalive is late by at most this
    CHUNK = 256  # keepalives written before the loop serves anything else

    def __init__(self) -> None:
        self._due: dict[float, dict[KeepaliveWriter, float]] = {}  # within -> writer -> due at, in that order
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def idle(self, writer: KeepaliveWriter, within: float) -> None:
        """`writer` waits with nothing to send: a keepalive is due after `within` seconds more of silence."""
        self._due.setdefault(within, {})[writer] = time.monotonic() + within

    def busy(self, writer: KeepaliveWriter) -> None:
        for writers in self._due.values():
            writers.pop(writer, None)

    def __len__(self) -> int:
        return sum(len(writers) for writers in self._due.values())

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._due.clear()

    async def _run(self) -> None:
        pause = self.TICK
        while True:
            await asyncio.sleep(pause)
            try:
                # A full chunk: more may be due, written after the loop has served whatever waits meanwhile.
                pause = 0 if self.send_due() >= self.CHUNK else self.TICK
            except Exception:
                log.exception("MCP keepalives failed")
                pause = self.TICK

    def send_due(self) -> int:
        """Write the keepalives due now (at most CHUNK); returns how many were written."""
        now = time.monotonic()
        due: list[tuple[KeepaliveWriter, float]] = []
        for within, writers in self._due.items():
            for writer, at in writers.items():
                if at > now or len(due) >= self.CHUNK:
                    break
                due.append((writer, within))
        for writer, within in due:
            writers = self._due[within]
            del writers[writer]
            writers[writer] = now + within  # to the end: due again after another `within` of silence
        for writer, _ in due:
            writer.send_keepalive()
        self.sent += len(due)
        return len(due)


class KernelSession:
    """One serving loop of the SDK kernel, owned by one principal identity."""

    kind = "session"
    __slots__ = (
        "__weakref__",
        "_inbound",
        "_outbound",
        "_outbound_reader",
        "_parked",
        "_parking",
        "_task",
        "active_requests",
        "closed",
        "created",
        "id",
        "identity",
        "last_active",
        "store",
    )

    def __init__(self, store: SessionStore, identity: str) -> None:
        # The owner's name leads the id, so the proxy sends every later request of the session to this process.
        self.id = f"{store.owner}.{secrets.token_hex(16)}" if store.owner else secrets.token_hex(16)
        self.identity = identity
        self.store = store
        self.created = time.time()
        self.last_active = time.monotonic()
        self.active_requests = 0
        self.closed = False
        # The kernel's serving loop (its streams, task group and tasks) starts with the first client message:
        # an HTTP+SSE stream or a session nobody writes to costs only these objects, not a running loop.
        self._inbound: ContextSendStream[SessionMessage | Exception] | None = None
        self._outbound: ContextSendStream[SessionMessage] | None = None
        self._outbound_reader: Any = None
        self._task: asyncio.Task[None] | None = None
        self._parking = False  # the loop is being stopped to be started again later (StreamableSession)
        self._parked: asyncio.Event | None = None  # set once a park has finished

    @property
    def loop_started(self) -> bool:
        """Whether the kernel's serving loop runs (it starts with the first message delivered)."""
        return self._task is not None

    def _start_loop(self) -> ContextSendStream[SessionMessage | Exception]:
        inbound, inbound_reader = create_context_streams[SessionMessage | Exception](0)
        self._outbound, self._outbound_reader = create_context_streams[SessionMessage](0)
        self._inbound = inbound
        self._task = asyncio.ensure_future(self._run(inbound_reader))
        return inbound

    async def _serve(self, reader: Any, writer: ContextSendStream[SessionMessage]) -> None:
        raise NotImplementedError

    async def _route(self, message: SessionMessage) -> None:
        raise NotImplementedError

    async def _run(self, inbound_reader: Any) -> None:
        try:
            assert self._outbound is not None
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._drain)
                await self._serve(inbound_reader, self._outbound)
        except Exception:
            log.exception("MCP session %s crashed", self.id[:8])
        finally:
            if self._parking:
                return  # noqa: B012 - parked, not ended: the session lives on without a loop
            self.closed = True
            self._on_end()
            self.store._forget(self)

    async def _drain(self) -> None:
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            async with self._outbound_reader:
                async for message in self._outbound_reader:
                    await self._route(message)

    def streams(self) -> list[OutboundStream]:
        """The session's outbound streams."""
        return []

    def _on_end(self) -> None:
        """Wake whoever waits on this session's streams."""

    async def deliver(self, message: types.JSONRPCMessage, metadata: ServerMessageMetadata | None) -> None:
        """Hand one client message to the kernel (its contextvars, e.g. the request id, travel with it)."""
        if self._parked is not None:
            await self._parked.wait()  # a park under way finishes first; this message starts the loop again
        if self.closed:
            raise SessionClosed(self.id)
        self.touch()
        try:
            if self._inbound is None:
                inbound = self._start_loop()
                for replayed in self._replayed():
                    await inbound.send(replayed)
            await self._require_inbound().send(SessionMessage(message, metadata=metadata))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise SessionClosed(self.id) from None

    def _require_inbound(self) -> ContextSendStream[SessionMessage | Exception]:
        if self._inbound is None:
            raise SessionClosed(self.id)
        return self._inbound

    def _replayed(self) -> list[SessionMessage]:
        """What a loop started again after a park is fed before the next message (StreamableSession)."""
        return []

    async def cancel_request(self, request_id: types.RequestId, reason: str) -> None:
        """Cancel an in-flight call through the kernel's own notifications/cancelled path."""
        if self._task is None:
            return  # nothing was ever delivered, so nothing is in flight
        notice = types.JSONRPCNotification(
            jsonrpc="2.0", method="notifications/cancelled", params={"requestId": request_id, "reason": reason}
        )
        with contextlib.suppress(SessionClosed):
            await self.deliver(notice, None)

    def touch(self) -> None:
        self.last_active = time.monotonic()

    def in_use(self) -> InUse:
        """Mark an HTTP request as being served on this session, which holds off idle expiry (a `with` block)."""
        return InUse(self)

    async def close(self) -> None:
        """End the session: the kernel's read side closes, in-flight calls are cancelled, the id answers 404."""
        if self.closed:
            self.store._forget(self)
            return
        self.closed = True
        self.store._forget(self)
        self._on_end()
        if self._inbound is None or self._task is None:
            return  # the kernel's loop never started
        with contextlib.suppress(Exception):
            await self._inbound.aclose()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()


class StreamableSession(KernelSession):
    """A Streamable HTTP session (handshake era): one kernel loop, many POSTs, one standalone GET stream."""

    kind = "streamable"
    __slots__ = (
        "_fast",
        "_handshake",
        "_ids",
        "_initialize_id",
        "_next_number",
        "_numbers",
        "_replay",
        "_replay_id",
        "_streams",
        "protocol_version",
        "standalone",
    )

    def __init__(self, store: SessionStore, identity: str) -> None:
        self.protocol_version: str | None = None
        self._initialize_id: str | None = None
        self._streams: dict[str, OutboundStream] = {}
        self._numbers: dict[int, OutboundStream] = {}
        # Request ids as the client typed them (1 is not "1"), so a cancellation names them exactly.
        self._ids: dict[str, types.RequestId] = {}
        self._next_number = 1
        # The handshake as the kernel saw it, to replay into a loop started again after a park; None once the
        # session has seen any other message (its loop may then hold state, e.g. a log level, and never parks).
        # Kept as JSON text, a tenth of the parsed models' memory, for as long as an idle session lives.
        self._handshake: list[str] | None = []
        self._replay_id = f"secondlayer-replay-{secrets.token_hex(8)}"  # no client request can collide with it
        self._replay: list[str] = []  # what the next loop is fed first: the handshake, after a park
        # Calls run beside the kernel (run_fast), by request id as text: (the id as typed, the task); made when
        # first needed (an idle session holds none).
        self._fast: dict[str, tuple[types.RequestId, asyncio.Task[None]]] | None = None
        super().__init__(store, identity)
        self.standalone = self._new_stream(GET_STREAM, keep=STANDALONE_KEEP)

    async def deliver(self, message: types.JSONRPCMessage, metadata: ServerMessageMetadata | None) -> None:
        if (
            self._fast
            and isinstance(message, types.JSONRPCNotification)
            and message.method == "notifications/cancelled"
            and isinstance(message.params, dict)
            and self._cancel_fast(message.params.get("requestId"))
        ):
            self.touch()
            return  # a call the kernel never saw: cancelled here, and the kernel is told nothing
        handshake = self._handshake
        park = False
        if handshake is not None:
            if isinstance(message, types.JSONRPCRequest) and message.method == "initialize" and not handshake:
                replay = types.JSONRPCRequest(
                    jsonrpc="2.0", id=self._replay_id, method="initialize", params=message.params
                )
                handshake.append(replay.model_dump_json(by_alias=True, exclude_unset=True))
            elif (
                isinstance(message, types.JSONRPCNotification)
                and message.method == "notifications/initialized"
                and len(handshake) == 1
            ):
                handshake.append(message.model_dump_json(by_alias=True, exclude_unset=True))
                park = True
            else:
                self._handshake = None
        await super().deliver(message, metadata)
        if park:
            self.store.spawn(self.park())

    def fast_ready(self) -> bool:
        """Whether a call may be served beside the kernel (FastToolCalls.session_call): the kernel has seen nothing
        but the handshake, so no state of its (a log level, a subscription) could shape the answer."""
        return self.protocol_version is not None and self._handshake is not None and len(self._handshake) == 2

    def run_fast(
        self,
        request_id: types.RequestId,
        stream: OutboundStream,
        reply: Callable[[Callable[[str], None]], Awaitable[str]],
    ) -> None:
        """Run a call FastToolCalls serves beside the kernel: what it logs and its reply go where the kernel's
        would (the standalone stream, then the request's). It is cancelled as the kernel's calls are (the client's
        notifications/cancelled, the client gone for good, the session ending), and then answered as they are:
        "Request cancelled"."""
        key = str(request_id)

        async def run() -> None:
            try:
                # The kernel sends a handshake session's logs on its standalone (GET) stream, not the request's.
                text = await reply(lambda note: self.standalone.append(note, False))
            except asyncio.CancelledError:
                error = types.JSONRPCError(
                    jsonrpc="2.0",
                    id=request_id,
                    error=types.ErrorData(code=REQUEST_CANCELLED, message="Request cancelled"),
                )
                text = error.model_dump_json(by_alias=True, exclude_unset=True)
            finally:
                if self._fast is not None:
                    self._fast.pop(key, None)
            stream.append(text, True)

        task = asyncio.ensure_future(run())
        if self._fast is None:
            self._fast = {}
        self._fast[key] = (request_id, task)

    def _cancel_fast(self, request_id: Any) -> bool:
        """Cancel a call run beside the kernel, named exactly as the client named it (1 is not "1")."""
        found = self._fast.get(str(request_id)) if self._fast else None
        if found is None or found[0] != request_id or type(found[0]) is not type(request_id):
            return False
        found[1].cancel()
        return True

    async def cancel_request(self, request_id: types.RequestId, reason: str) -> None:
        if not self._cancel_fast(request_id):
            await super().cancel_request(request_id, reason)

    def _replayed(self) -> list[SessionMessage]:
        replay, self._replay = self._replay, []
        if not replay:
            return []
        initialize, initialized = replay
        return [
            SessionMessage(
                types.JSONRPCRequest.model_validate_json(initialize),
                metadata=ServerMessageMetadata(request_context=REPLAYED),
            ),
            SessionMessage(types.JSONRPCNotification.model_validate_json(initialized)),
        ]

    async def park(self) -> None:
        """Stop the kernel's loop of a session that has done nothing but its handshake (an idle session costs
        no running loop then); the next message starts a loop again, fed the same handshake first (its answer,
        under a private id, is dropped). Sessions with anything else in their history keep their loop."""
        task, inbound = self._task, self._inbound
        if (
            self.closed
            or self._parked is not None
            or task is None
            or inbound is None
            or self._handshake is None
            or len(self._handshake) != 2
            or self.protocol_version is None
            # a request is in flight (the handshake's own stream may still be here, answered, until its handler
            # releases it: the client can send notifications/initialized before that)
            or any(not stream.complete for key, stream in self._streams.items() if key != GET_STREAM)
        ):
            return
        parked = self._parked = asyncio.Event()
        replay = list(self._handshake)  # a message arriving meanwhile clears _handshake, not what it must follow
        self._parking = True
        try:
            with contextlib.suppress(Exception):
                await inbound.aclose()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("MCP session %s: its loop did not stop to park; the session ends", self.id[:8])
                self._parking = False
                task.cancel()
        finally:
            self._parking = False
            if not self.closed:
                self._inbound = self._outbound = self._outbound_reader = None
                self._task = None
                self._replay = replay
            self._parked = None
            parked.set()

    async def _serve(self, reader: Any, writer: ContextSendStream[SessionMessage]) -> None:
        await serve_loop(
            self.store.server, reader, writer, lifespan_state=self.store.lifespan_state, session_id=self.id
        )

    def _new_stream(self, key: str, keep: int | None = None) -> OutboundStream:
        stream = OutboundStream(self._next_number, key, keep)
        self._next_number += 1
        self._streams[key] = stream
        self._numbers[stream.number] = stream
        return stream

    def open_request_stream(self, request_id: types.RequestId, is_initialize: bool) -> OutboundStream | None:
        """The stream a request's response will arrive on; None when that id is already in flight."""
        key = str(request_id)
        if key in self._streams:
            return None
        if is_initialize:
            self._initialize_id = key
        self._ids[key] = request_id
        return self._new_stream(key)

    def stream_for_event(self, event_id: str) -> tuple[OutboundStream, int] | None:
        """The stream and position a Last-Event-ID points into, if this session still holds it."""
        number, _, seq = event_id.partition("-")
        if not (number.isdigit() and seq.isdigit()):
            return None
        stream = self._numbers.get(int(number))
        return (stream, int(seq)) if stream is not None else None

    def release(self, stream: OutboundStream) -> None:
        """Forget a request stream whose response has been delivered (or abandoned)."""
        if stream.key == GET_STREAM:
            return
        if stream.cancel_timer is not None:
            stream.cancel_timer.cancel()
        self._streams.pop(stream.key, None)
        self._numbers.pop(stream.number, None)
        self._ids.pop(stream.key, None)
        stream.close()

    def metadata(
        self, caller: McpCaller, request_id: types.RequestId | None, *, streaming: bool
    ) -> ServerMessageMetadata:
        on_unanswered = partial(self._answer_cancelled, request_id) if request_id is not None else None
        return ServerMessageMetadata(
            request_context=caller, on_request_unanswered=on_unanswered, can_send_request=streaming
        )

    async def _answer_cancelled(self, request_id: types.RequestId) -> None:
        # The 2025 wire ends a request's stream only with a response, so a cancelled call gets one,
        # written through the kernel's own channel so it cannot overtake anything queued before it.
        error = types.JSONRPCError(
            jsonrpc="2.0", id=request_id, error=types.ErrorData(code=REQUEST_CANCELLED, message="Request cancelled")
        )
        if self._outbound is None:
            return
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await self._outbound.send(SessionMessage(error))

    async def _route(self, message: SessionMessage) -> None:
        msg = message.message
        reply_id = msg.id if isinstance(msg, types.JSONRPCResponse | types.JSONRPCError) else None
        final = reply_id is not None
        if final:
            key = str(reply_id)
        elif isinstance(message.metadata, ServerMessageMetadata) and message.metadata.related_request_id is not None:
            key = str(message.metadata.related_request_id)
        else:
            key = GET_STREAM
        if final and key == self._initialize_id and isinstance(msg, types.JSONRPCResponse):
            self.protocol_version = str(msg.result.get("protocolVersion") or "") or None
        stream = self._streams.get(key)
        if stream is None:
            log.debug("MCP session %s: dropped a message for finished request %s", self.id[:8], key)
            return
        stream.append(msg.model_dump_json(by_alias=True, exclude_unset=True), final and key != GET_STREAM)

    def abandon(self, stream: OutboundStream, resumable: bool) -> None:
        """The client went away before the response: cancel now, or after a grace for it to resume."""
        if stream.consumers:
            return  # another connection has taken the stream over
        if stream.complete or stream.key == GET_STREAM or self.closed:
            self.release(stream)
            return
        loop = asyncio.get_running_loop()
        delay = RESUME_GRACE if resumable else 0.0
        stream.cancel_timer = loop.call_later(delay, self._cancel_abandoned, stream, stream.generation)

    def _cancel_abandoned(self, stream: OutboundStream, generation: int) -> None:
        if stream.generation != generation or stream.consumers or stream.complete:
            return  # resumed, or answered meanwhile
        request_id = self._ids.get(stream.key, stream.key)
        self.release(stream)
        self.store.spawn(self.cancel_request(request_id, "client disconnected"))

    def streams(self) -> list[OutboundStream]:
        return list(self._streams.values())

    def _on_end(self) -> None:
        for stream in list(self._streams.values()):
            stream.close()
        for _, task in list((self._fast or {}).values()):
            task.cancel()  # as the kernel cancels its calls in flight when the session ends


class SseSession(KernelSession):
    """An HTTP+SSE (2024-11-05) session: one GET stream carries everything, POST /messages feeds it."""

    kind = "sse"
    __slots__ = ("stream",)

    def __init__(self, store: SessionStore, identity: str) -> None:
        self.stream = OutboundStream(1, "sse")
        super().__init__(store, identity)

    async def _serve(self, reader: Any, writer: ContextSendStream[SessionMessage]) -> None:
        await serve_dual_era_loop(
            self.store.server, reader, writer, lifespan_state=self.store.lifespan_state, session_id=self.id
        )

    async def _route(self, message: SessionMessage) -> None:
        self.stream.append(message.message.model_dump_json(by_alias=True, exclude_unset=True), False)
        if self.stream.held_bytes > MAX_HELD_BYTES:
            log.warning(
                "HTTP+SSE session %s ended: its client left %d bytes unread", self.id[:8], self.stream.held_bytes
            )
            self.store.spawn(self.close())

    def streams(self) -> list[OutboundStream]:
        return [self.stream]

    def _on_end(self) -> None:
        self.stream.close()


class InUse:
    """`KernelSession.in_use()`: held by every idle stream, so a slotted object, not a generator and its frame."""

    __slots__ = ("_session",)

    def __init__(self, session: KernelSession) -> None:
        self._session = session

    def __enter__(self) -> None:
        self._session.active_requests += 1
        self._session.touch()

    def __exit__(self, *exc_info: object) -> None:
        self._session.active_requests -= 1
        self._session.touch()


class StreamSlot:
    """`SessionStore.stream_slot()`: held by every idle stream, so a slotted object, not a generator and its frame."""

    __slots__ = ("_identity", "_store")

    def __init__(self, store: SessionStore, identity: str) -> None:
        self._store = store
        self._identity = identity

    def __enter__(self) -> None:
        self._store._take_slot(self._identity)

    def __exit__(self, *exc_info: object) -> None:
        self._store._give_slot(self._identity)


SessionKind = TypeVar("SessionKind", bound=KernelSession)


class SessionStore:
    """Every open MCP session of this process, with per-principal caps and idle expiry."""

    def __init__(
        self,
        server: Server[Any],
        *,
        max_per_principal: int,
        idle_timeout: float,
        tool_calls: ToolCalls | None = None,
    ) -> None:
        self.server = server
        self.max_per_principal = max_per_principal
        self.idle_timeout = idle_timeout
        self.lifespan_state: Any = None
        self.static_results = StaticResults()  # 2026-07-28 answers replayed without running the kernel
        self.owner = ""  # this process's name (NODE_NAME and port), set once it listens
        # 2026-07-28 tools/call run without the kernel's per-request machinery (None: every call to the kernel)
        self.fast_calls = FastToolCalls(server, tool_calls) if tool_calls is not None else None
        self._sessions: dict[str, KernelSession] = {}
        self._per_identity: dict[str, int] = {}  # sessions in _sessions by principal identity
        self._streams: dict[str, int] = {}
        self.open_streams = 0  # long-lived streams open in this process (the sum of _streams)
        self.keepalives = Keepalives()  # writes every idle stream's keepalives
        self._stack = AsyncExitStack()
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        # The server lifespan is entered once for the process, as the SDK's session manager does.
        self.lifespan_state = await self._stack.enter_async_context(self.server.lifespan(self.server))
        self._reaper = asyncio.ensure_future(self._reap_forever())
        self.keepalives.start()

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        self.keepalives.stop()
        await asyncio.gather(*(session.close() for session in list(self._sessions.values())), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await self._stack.aclose()

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run a fire-and-forget coroutine, keeping a reference so it is not collected mid-flight."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def counts(self) -> tuple[dict[str, int], int]:
        """Open sessions by transport, and open long-lived streams, in this process."""
        by_kind = {"streamable": 0, "sse": 0}
        for session in self._sessions.values():
            by_kind[session.kind] = by_kind.get(session.kind, 0) + 1
        return by_kind, sum(self._streams.values())

    def wake_all(self) -> None:
        """Wake every stream's waiter (the server is stopping: pumps see the shutdown and end)."""
        for session in list(self._sessions.values()):
            for stream in session.streams():
                stream.wake()

    def count(self, identity: str) -> int:
        return sum(1 for session in self._sessions.values() if session.identity == identity)

    async def _make_room(self, identity: str) -> None:
        """At the cap, end the principal's least recently used idle session. Many clients (the TypeScript SDK's,
        MCP Inspector) leave without DELETE, so refusing would lock a credential out until its sessions expire;
        only when every session is busy serving a request or a stream is the new one refused."""
        if self._per_identity.get(identity, 0) < self.max_per_principal:
            return  # under the cap: no walk over every session of the process on each open
        mine = [s for s in self._sessions.values() if s.identity == identity and not s.closed]
        if len(mine) < self.max_per_principal:
            return
        idle = [s for s in mine if s.active_requests == 0]
        if not idle:
            raise SessionLimitReached(
                f"all {self.max_per_principal} MCP sessions of this credential are busy; "
                f"retry in {BUSY_RETRY_AFTER} seconds or end one (DELETE)"
            )
        oldest = min(idle, key=lambda session: session.last_active)
        log.info("MCP session %s ended to make room (least recently used of %d)", oldest.id[:8], len(mine))
        await oldest.close()

    async def open_streamable(self, identity: str) -> StreamableSession:
        await self._make_room(identity)
        session = StreamableSession(self, identity)
        self._register(session)
        log.info("MCP session %s opened (streamable HTTP)", session.id[:8])
        return session

    async def open_sse(self, identity: str) -> SseSession:
        await self._make_room(identity)
        session = SseSession(self, identity)
        self._register(session)
        log.info("MCP session %s opened (HTTP+SSE)", session.id[:8])
        return session

    def get(self, session_id: str | None, identity: str, kind: type[SessionKind]) -> SessionKind | None:
        """The session if it exists, is of `kind` and belongs to `identity`; else None, which callers answer 404."""
        session = self._sessions.get(session_id or "")
        if session is None or session.closed or not isinstance(session, kind):
            return None
        if not secrets.compare_digest(session.identity.encode(), identity.encode()):
            log.warning("MCP session %s presented by another credential; answered as unknown", session.id[:8])
            return None
        return session

    def _register(self, session: KernelSession) -> None:
        self._sessions[session.id] = session
        self._per_identity[session.identity] = self._per_identity.get(session.identity, 0) + 1

    def _forget(self, session: KernelSession) -> None:
        if self._sessions.get(session.id) is session:
            del self._sessions[session.id]
            left = self._per_identity.get(session.identity, 1) - 1
            if left > 0:
                self._per_identity[session.identity] = left
            else:
                self._per_identity.pop(session.identity, None)
            log.info("MCP session %s closed", session.id[:8])

    def stream_slot(self, identity: str) -> StreamSlot:
        """Hold one of the principal's long-lived stream slots for the duration of a `with` block."""
        return StreamSlot(self, identity)

    def _take_slot(self, identity: str) -> None:
        if self._streams.get(identity, 0) >= self.max_per_principal:
            raise SessionLimitReached(f"at most {self.max_per_principal} open MCP streams per credential")
        self._streams[identity] = self._streams.get(identity, 0) + 1
        self.open_streams += 1

    def _give_slot(self, identity: str) -> None:
        self.open_streams -= 1
        self._streams[identity] -= 1
        if not self._streams[identity]:
            del self._streams[identity]

    async def expire_idle(self) -> int:
        """Close sessions with nothing in flight for longer than the idle timeout; returns how many."""
        now = time.monotonic()
        idle = [
            s for s in self._sessions.values() if s.active_requests == 0 and now - s.last_active > self.idle_timeout
        ]
        for session in idle:
            log.info("MCP session %s expired after %.0fs idle", session.id[:8], now - session.last_active)
            await session.close()
        return len(idle)

    async def _reap_forever(self) -> None:
        interval = max(1.0, min(30.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.expire_idle()
            except Exception:
                log.exception("MCP session expiry failed")
