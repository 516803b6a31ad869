"""MCP over HTTP: Streamable HTTP at /mcp (also POST/GET/DELETE /sse), HTTP+SSE (2024-11-05) at GET /sse.

These handlers only speak HTTP: they check origin, credentials and body size, parse the JSON-RPC message and
hand it to the SDK kernel through app.mcp (sessions for the handshake era, one exchange per request for
2026-07-28), then write what the kernel answers as JSON or as a Server-Sent Events stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

import mcp_types as types
import tornado.web
from mcp.shared.message import ServerMessageMetadata
from tornado.iostream import StreamClosedError

from app.auth.bearer import Principal
from app.handlers.base import ApiError
from app.handlers.bearer import BearerAPIHandler
from app.handlers.deadlines import Deadlines
from app.mcp.kernel import McpCaller
from app.mcp.modern import NOT_DECODED, Answer, FastCall, FastToolCalls, ModernExchange, decode_body, open_exchange
from app.mcp.sessions import (
    BUSY_RETRY_AFTER,
    GET_STREAM,
    OutboundStream,
    SessionClosed,
    SessionLimitReached,
    SseSession,
    StreamableSession,
)
from app.mcp.wire import (
    DEFAULT_VERSION,
    KEEPALIVE_SECONDS,
    MODERN_VERSIONS,
    RESUMABLE_FROM,
    RETRY_MS,
    SSE_KEEPALIVE,
    SUPPORTED_VERSIONS,
    accepts,
    client_message,
    host_allowed,
    is_version_at_least,
    jsonrpc_error,
    origin_allowed,
    sse_event,
    unsupported_version_error,
)

SESSION_HEADER = "Mcp-Session-Id"
# How long a session's tools/call that sends nothing but its reply on the request's stream (FastToolCalls) may hold
# the stream's headers back, so that a quick reply goes out whole in one write (the headers, the priming event,
# the reply, and a known length: no chunks). A slower reply streams as every other, priming event first.
WHOLE_WITHIN = 0.25
VERSION_HEADER = "MCP-Protocol-Version"
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name"
)
CORS_EXPOSE_HEADERS = "Mcp-Session-Id, WWW-Authenticate, X-Request-Id"


class McpHandler(BearerAPIHandler):
    """Shared by the MCP endpoints: origin and body-size checks, auth, SSE writing, disconnect tracking."""

    SUPPORTED_METHODS = ("GET", "POST", "DELETE", "OPTIONS")

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._gone = _Gone()
        self._ended = False
        self._on_gone: Callable[[], None] | None = None  # called when the client leaves
        self._waiting_on: OutboundStream | None = None  # the stream this request waits on, woken when it leaves
        self._sse_started = False

    async def admit(self) -> None:
        if not host_allowed(self.request.headers.get("Host"), self.config):
            # The SDK's transport security answers the same way: 421 Misdirected Request.
            raise ApiError(
                421,
                "misdirected_request",
                f"This server does not answer for the host {self.request.headers.get('Host', '')!r}",
            )
        origin = self.request.headers.get("Origin")
        if not origin_allowed(origin, self.config):
            raise ApiError(403, "forbidden_origin", f"Requests from origin {origin} are not allowed here")
        if origin is not None:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS)
            self.set_header("Vary", "Origin")
        if self.request.method != "OPTIONS":
            await self.require_principal()

    def options(self, *args: Any) -> None:
        # CORS preflight from an allowed browser origin (prepare() already refused foreign ones).
        self.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
        self.set_header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    @property
    def caller(self) -> McpCaller:
        assert self.principal is not None
        return McpCaller(self.principal, self.request_id, {"user-agent": self.request.headers.get("User-Agent", "")})

    @property
    def identity(self) -> str:
        principal: Principal | None = self.principal
        assert principal is not None
        return principal.identity

    def on_connection_close(self) -> None:
        self._gone.set()
        if self._on_gone is not None:
            self._on_gone()
        if self._waiting_on is not None:
            self._waiting_on.wake()
        super().on_connection_close()

    def on_finish(self) -> None:
        self._ended = True
        super().on_finish()

    # --- Server-Sent Events -------------------------------------------------------------------

    async def start_sse(self, session_id: str | None = None, *first: bytes) -> bool:
        """Send the event stream's headers, and `first` frames with them in the same write; False when the client
        has gone already (nothing more to send)."""
        self._sse_headers(session_id)
        return await self.send_sse(*first)

    def _sse_headers(self, session_id: str | None = None) -> None:
        self._sse_started = True
        self.set_status(200)
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache, no-transform")
        self.set_header("X-Accel-Buffering", "no")
        if session_id:
            self.set_header(SESSION_HEADER, session_id)

    async def send_sse(self, *frames: bytes) -> bool:
        """Write and flush frames; False when the client has gone."""
        if self._gone.is_set():
            return False
        try:
            for frame in frames:
                self.write(frame)
            await self.flush()
        except StreamClosedError:
            self._gone.set()
            return False
        return True

    def end_stream(self) -> None:
        with contextlib.suppress(StreamClosedError):
            if not self._ended:
                self.finish()

    async def pump(
        self, stream: OutboundStream, position: int, *, with_ids: bool, until_complete: bool, keep_history: bool = True
    ) -> tuple[int, bool]:
        """Copy `stream` to the client from `position` with keepalives.

        Ends when the response is written (`until_complete`), the session ends, the server shuts down,
        the client leaves, or another connection takes the stream over. Returns (position, client still there).
        """
        generation = stream.take_over()
        stream.consumers += 1
        if stream.cancel_timer is not None:
            stream.cancel_timer.cancel()
            stream.cancel_timer = None
        try:
            while True:
                if stream.generation != generation:
                    # Another connection took the stream over (a resume): from here on only it writes, so
                    # no message goes out on two streams.
                    return position, not self._gone.is_set()
                events = stream.after(position)
                frames = [
                    sse_event(payload, event_id=stream.event_id(seq) if with_ids else None) for seq, payload in events
                ]
                if frames:
                    position = events[-1][0]
                    if not await self.send_sse(*frames):
                        return position, False
                    if not keep_history:
                        stream.trim(position)
                if until_complete and stream.complete and position >= stream.last_seq:
                    return position, True
                if stream.closed or self.services.shutdown.is_set():
                    return position, not self._gone.is_set()
                self._waiting_on = stream
                # While it waits, the process's one keepalive ticker writes this stream's keepalives.
                keepalives = self.services.mcp_sessions.keepalives
                keepalives.idle(self, KEEPALIVE_SECONDS)
                try:
                    await stream.wait(position, self.services.shutdown, self._gone)
                finally:
                    keepalives.busy(self)
                if self._gone.is_set():
                    return position, False
        finally:
            stream.consumers -= 1

    def send_keepalive(self) -> None:
        """A keepalive comment on this idle stream, written by `Keepalives` while `pump` waits (so nothing else
        writes meanwhile); not awaited: a client that left is `on_connection_close`'s to handle."""
        if self._gone.is_set() or self._ended:
            return
        with contextlib.suppress(StreamClosedError):
            self.write(SSE_KEEPALIVE)
            self.flush().add_done_callback(_retrieved)

    def write_protocol_error(self, status: int, body: dict[str, Any]) -> None:
        self.write_json(body, status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # send_error() cleared our headers; a browser client on an allowed origin still needs to read the error.
        origin = self.request.headers.get("Origin")
        if origin is not None and origin_allowed(origin, self.config):
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS)
            self.set_header("Vary", "Origin")
        super().write_error(status_code, **kwargs)


class StreamableHTTPHandler(McpHandler):
    """Streamable HTTP: POST messages, GET the server-to-client stream, DELETE the session."""

    async def post(self) -> None:
        body = self.body()
        version = self.request.headers.get(VERSION_HEADER)
        if version is not None and version not in SUPPORTED_VERSIONS:
            return self.write_protocol_error(400, unsupported_version_error(version))
        if version in MODERN_VERSIONS:
            return await self._serve_modern(body)
        message = self._parse_message(body)
        session = await self._session_for(message)
        if not isinstance(message, types.JSONRPCRequest):
            await self._deliver(session, message, session.metadata(self.caller, None, streaming=False))
            self.set_header(SESSION_HEADER, session.id)
            self.set_status(202)
            self.finish()
            return
        await self._serve_request(session, message)

    async def get(self) -> None:
        version = self.request.headers.get(VERSION_HEADER)
        if version in MODERN_VERSIONS or not self.request.headers.get(SESSION_HEADER):
            # No stream to offer without a session; the spec's answer for that is 405, never 400.
            allow = "POST" if version in MODERN_VERSIONS else "GET, POST, DELETE"
            raise ApiError(
                405,
                "method_not_allowed",
                "Open the server-to-client stream with the Mcp-Session-Id returned by initialize",
                {"Allow": allow},
            )
        if not accepts(self.request.headers.get("Accept"))[1]:
            raise ApiError(406, "not_acceptable", "GET opens an event stream: send Accept: text/event-stream")
        session = self._known_session()
        try:
            with self.services.mcp_sessions.stream_slot(self.identity), session.in_use():
                await self._serve_get(session)
        except SessionLimitReached as exc:
            raise ApiError(429, "too_many_streams", str(exc)) from None

    async def delete(self) -> None:
        if not self.request.headers.get(SESSION_HEADER):
            raise ApiError(400, "missing_session", "Send the Mcp-Session-Id of the session to end")
        session = self._known_session()
        await session.close()
        self.set_status(204)
        self.finish()

    # --- handshake era ------------------------------------------------------------------------

    def _parse_message(self, body: bytes) -> types.JSONRPCMessage:
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(
                415, "unsupported_media_type", "POST the JSON-RPC message with Content-Type: application/json"
            )
        json_ok, sse_ok = accepts(self.request.headers.get("Accept"))
        if not (json_ok or sse_ok):
            raise ApiError(406, "not_acceptable", "Accept application/json and text/event-stream")
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):
            self._protocol_error(400, jsonrpc_error(None, types.PARSE_ERROR, "Parse error: the body is not JSON"))
        try:
            return client_message(decoded)
        except ValueError:  # pydantic's ValidationError included
            self._protocol_error(
                400,
                jsonrpc_error(
                    None, types.INVALID_REQUEST, "The body must be one JSON-RPC request, notification or response"
                ),
            )

    def _protocol_error(self, status: int, body: dict[str, Any]) -> NoReturn:
        """Stop the request with a JSON-RPC error body (what MCP clients parse) at an HTTP status."""
        self.write_json(body, status)
        raise tornado.web.Finish()

    def _known_session(self) -> StreamableSession:
        session_id = self.request.headers.get(SESSION_HEADER)
        session = self.services.mcp_sessions.get(session_id, self.identity, StreamableSession)
        if session is None:
            raise ApiError(404, "session_not_found", "No such MCP session (it ended or expired): initialize again")
        return session

    async def _session_for(self, message: types.JSONRPCMessage) -> StreamableSession:
        is_initialize = isinstance(message, types.JSONRPCRequest) and message.method == "initialize"
        if self.request.headers.get(SESSION_HEADER):
            return self._known_session()
        if not is_initialize:
            raise ApiError(400, "missing_session", "Send Mcp-Session-Id from initialize, or initialize first")
        try:
            return await self.services.mcp_sessions.open_streamable(self.identity)
        except SessionLimitReached as exc:
            # What MCP clients parse is a JSON-RPC error, answered to the initialize it refuses.
            self.set_header("Retry-After", str(BUSY_RETRY_AFTER))
            request_id = message.id if isinstance(message, types.JSONRPCRequest) else None
            self._protocol_error(429, jsonrpc_error(request_id, types.INTERNAL_ERROR, str(exc)))

    async def _deliver(self, session: StreamableSession, message: types.JSONRPCMessage, metadata: Any) -> None:
        try:
            await session.deliver(message, metadata)
        except SessionClosed:
            raise ApiError(404, "session_not_found", "The MCP session ended; initialize again") from None

    async def _serve_request(self, session: StreamableSession, request: types.JSONRPCRequest) -> None:
        is_initialize = request.method == "initialize"
        stream = session.open_request_stream(request.id, is_initialize)
        if stream is None:
            raise ApiError(409, "duplicate_request_id", f"Request id {request.id} is already in flight")
        streaming = accepts(self.request.headers.get("Accept"))[1]
        version = (
            (request.params or {}).get("protocolVersion")
            if is_initialize
            else self.request.headers.get(VERSION_HEADER, DEFAULT_VERSION)
        )
        resumable = streaming and is_version_at_least(str(version), RESUMABLE_FROM)
        fast = self.services.mcp_sessions.fast_calls
        call = None
        if fast is not None and session.fast_ready():
            call = fast.session_call(request, session.protocol_version)
        with session.in_use():
            if call is not None and fast is not None:
                # A tools/call FastToolCalls serves beside the kernel: the same answer on the same stream, without
                # the kernel's loop (tests/test_mcp_fast_call.py compares the two byte for byte).
                reply = partial(fast.session_reply, request.id, call, str(session.protocol_version), self.caller)
                session.run_fast(request.id, stream, reply)
            else:
                await self._deliver(session, request, session.metadata(self.caller, request.id, streaming=streaming))
            if streaming:
                delivered = await self._stream_response(session, stream, resumable, whole_within=call is not None)
            else:
                delivered = await self._json_response(session, stream)
        if is_initialize and (not delivered or session.protocol_version is None):
            await session.close()  # the handshake failed or was not heard: nothing was established
        elif not delivered:
            # A client that left before the stream's headers never saw its priming event: it cannot resume.
            session.abandon(stream, resumable and self._sse_started)
        else:
            session.release(stream)

    async def _stream_response(
        self, session: StreamableSession, stream: OutboundStream, resumable: bool, whole_within: bool = False
    ) -> bool:
        """The request's event stream, to its response. With `whole_within` (a call that sends nothing on this
        stream but its reply), a reply ready within WHOLE_WITHIN seconds goes out with the headers and the
        priming event as one response of known length, in one write; a slower one streams as every other."""
        # The priming event (its id is where a resumption starts) goes out with the headers, in one write.
        priming = [sse_event("", event=None, event_id=stream.event_id(0), retry_ms=RETRY_MS)] if resumable else []
        if whole_within and await self._complete_within(stream, WHOLE_WITHIN):
            if self._gone.is_set():
                return False
            self._sse_headers(session.id)
            for frame in priming:
                self.write(frame)
            for seq, payload in stream.after(0):
                self.write(sse_event(payload, event_id=stream.event_id(seq) if resumable else None))
            try:
                self.finish()
            except StreamClosedError:
                self._gone.set()
                return False
            return True
        if self._gone.is_set() or not await self.start_sse(session.id, *priming):
            return False  # the request stream is abandoned (kept for a resumption when resumable), not leaked
        position, present = await self.pump(stream, 0, with_ids=resumable, until_complete=True)
        self.end_stream()
        return present and stream.complete and position >= stream.last_seq

    async def _complete_within(self, stream: OutboundStream, within: float) -> bool:
        """Wait up to `within` seconds for `stream`'s final message: True when it is in, False when the time ran
        out, the stream ended or the client left first."""
        if stream.complete:
            return True
        late = False

        def overdue() -> None:
            nonlocal late
            late = True
            stream.wake()

        deadlines = Deadlines.named("whole replies")
        deadlines.add(self, within, overdue, within / 4)
        self._waiting_on = stream
        try:
            while not stream.complete:
                if late or stream.closed or self._gone.is_set() or self.services.shutdown.is_set():
                    return False
                await stream.wait(stream.last_seq, self._gone, self.services.shutdown)
        finally:
            deadlines.discard(self)
            self._waiting_on = None
        return True

    async def _json_response(self, session: StreamableSession, stream: OutboundStream) -> bool:
        # Without SSE the reply is the response alone; anything the call sends before it has no wire here.
        while not stream.complete:
            if stream.closed or self._gone.is_set():
                return False
            self._waiting_on = stream
            await stream.wait(stream.last_seq, self._gone)
        final = stream.after(stream.last_seq - 1)[-1][1]
        self.set_header(SESSION_HEADER, session.id)
        self.set_header("Content-Type", "application/json")
        self.finish(final)
        return True

    async def _serve_get(self, session: StreamableSession) -> None:
        last_event_id = self.request.headers.get("Last-Event-ID")
        found = session.stream_for_event(last_event_id) if last_event_id else None
        if not await self.start_sse(session.id):
            return
        if found is not None and found[0].key != GET_STREAM:
            # Resuming a request's response stream: replay after the id, then live until the response.
            stream, position = found
            _, present = await self.pump(stream, position, with_ids=True, until_complete=True)
            if present and stream.complete:
                session.release(stream)
            self.end_stream()
            return
        stream = session.standalone
        position = found[1] if found is not None else stream.last_seq
        if is_version_at_least(session.protocol_version, RESUMABLE_FROM):
            if not await self.send_sse(
                sse_event("", event=None, event_id=stream.event_id(position), retry_ms=RETRY_MS)
            ):
                return
        await self.pump(stream, position, with_ids=True, until_complete=False)
        self.end_stream()

    # --- 2026-07-28 ----------------------------------------------------------------------------

    async def _serve_modern(self, body: bytes) -> None:
        json_ok, sse_ok = accepts(self.request.headers.get("Accept"))
        if not json_ok:
            raise ApiError(406, "not_acceptable", "Accept application/json (and text/event-stream for streaming)")
        sessions = self.services.mcp_sessions
        decoded = decode_body(body)
        fast = sessions.fast_calls
        if fast is not None and decoded is not NOT_DECODED:
            call = fast.route(decoded, self.request.headers)
            if call is not None:
                return await self._serve_fast(fast, call)
        exchange = open_exchange(
            sessions.server,
            sessions.lifespan_state,
            body=body,
            header_lines=list(self.request.headers.get_all()),
            caller=self.caller,
            streaming=sse_ok,
            static=sessions.static_results,
            fast=fast,
            decoded=decoded,
        )
        if isinstance(exchange, Answer):
            if exchange.body is None:
                self.set_status(exchange.status)
                self.finish()
                return
            return self.write_protocol_error(exchange.status, exchange.body)
        replayed = exchange.replayed()
        if replayed is not None:
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(replayed)
            return
        exchange.start()
        try:
            if exchange.fast:
                # FastToolCalls sends nothing before the reply (it takes no progress token or log level), so the
                # reply is awaited alone, without the queue's waiters; the client leaving cancels the call.
                self._on_gone = exchange.cancel
                if self._gone.is_set():
                    raise tornado.web.Finish()
                kind, note = ("done", None) if await exchange.finished(KEEPALIVE_SECONDS) else ("idle", None)
                if exchange.reply is None and kind == "done":
                    raise tornado.web.Finish()  # cancelled: the client left
            else:
                kind, note = await self._modern_wait(exchange)
            if kind == "done":
                # Finished before saying anything else: a plain JSON reply with the SDK's status for it.
                return self.write_json(exchange.reply, exchange.status)
            if not await self.start_sse():
                return
            while kind != "done":
                if not await self.send_sse(sse_event(note) if note else SSE_KEEPALIVE):
                    return
                kind, note = await self._modern_wait(exchange)
            await self.send_sse(sse_event(json.dumps(exchange.reply, ensure_ascii=False)))
            self.end_stream()
        finally:
            exchange.cancel()  # a no-op once finished; cancels the call if the client left or we shut down

    async def _serve_fast(self, fast: FastToolCalls, call: FastCall) -> None:
        """A tools/call FastToolCalls serves: it sends nothing before its reply (no progress token, no log level),
        so the call is awaited right here, without a task, queue or timeout of its own. As for every exchange, the
        client leaving cancels the call, and a call still running after KEEPALIVE_SECONDS turns the answer into an
        event stream that carries a keepalive every KEEPALIVE_SECONDS and then the reply."""
        if self._gone.is_set():
            raise tornado.web.Finish()
        task = asyncio.current_task()
        assert task is not None
        left = False

        def cancel() -> None:
            nonlocal left
            left = True
            task.cancel()

        self._on_gone = cancel
        watch = Deadlines.named("fast call keepalives")
        watch.add(self, KEEPALIVE_SECONDS, self._fast_keepalive, KEEPALIVE_SECONDS / 5)
        try:
            status, text = await fast.reply(call, self.caller)
        except asyncio.CancelledError:
            if not left:
                raise  # the server is stopping
            task.uncancel()
            raise tornado.web.Finish() from None  # the client left
        finally:
            self._on_gone = None
            watch.discard(self)
        if left:
            raise tornado.web.Finish()  # the client left as the call ended
        if not self._sse_started:
            self.set_status(status)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(text)
            return
        await self.send_sse(sse_event(text))
        self.end_stream()

    def _fast_keepalive(self) -> None:
        """KEEPALIVE_SECONDS more of a fast call: a keepalive, on an event stream started by the first one."""
        if self._gone.is_set():
            return
        Deadlines.named("fast call keepalives").add(
            self, KEEPALIVE_SECONDS, self._fast_keepalive, KEEPALIVE_SECONDS / 5
        )
        if not self._sse_started:
            self._sse_headers()
        with contextlib.suppress(StreamClosedError):
            self.write(SSE_KEEPALIVE)
            self.flush().add_done_callback(_retrieved)

    async def _modern_wait(self, exchange: ModernExchange) -> tuple[str, str | None]:
        waiter = asyncio.ensure_future(exchange.next(KEEPALIVE_SECONDS))
        gone = asyncio.ensure_future(self._gone.wait())
        try:
            await asyncio.wait((waiter, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not waiter.done():
            waiter.cancel()
            raise tornado.web.Finish()  # the client left: the finally above cancels the call
        return waiter.result()


class LegacySSEHandler(StreamableHTTPHandler):
    """/sse: GET without a session opens an HTTP+SSE (2024-11-05) session; everything else is Streamable HTTP."""

    resource_path = "/sse"

    async def get(self) -> None:
        if self.request.headers.get(SESSION_HEADER):
            return await super().get()  # a Streamable HTTP client that was given the /sse URL
        try:
            with self.services.mcp_sessions.stream_slot(self.identity):
                session = await self.services.mcp_sessions.open_sse(self.identity)
                try:
                    await self._serve_sse(session)
                finally:
                    await session.close()
        except SessionLimitReached as exc:
            raise ApiError(429, "too_many_sessions", str(exc), {"Retry-After": str(BUSY_RETRY_AFTER)}) from None

    async def _serve_sse(self, session: SseSession) -> None:
        if not await self.start_sse():
            return
        # The spec: the first event names where to POST, relative to this server.
        if not await self.send_sse(sse_event(f"/messages?session_id={session.id}", event="endpoint")):
            return
        with session.in_use():
            await self.pump(session.stream, 0, with_ids=False, until_complete=False, keep_history=False)
        self.end_stream()


class MessagesHandler(McpHandler):
    """POST /messages?session_id=...: a client message for an HTTP+SSE session; the answer rides its stream."""

    resource_path = "/sse"
    SUPPORTED_METHODS = ("GET", "POST", "DELETE", "OPTIONS")  # GET and DELETE answer 405

    async def post(self) -> None:
        body = self.body()
        session_id = self.get_query_argument("session_id", "")
        session = self.services.mcp_sessions.get(session_id, self.identity, SseSession)
        if session is None:
            raise ApiError(404, "session_not_found", "No such HTTP+SSE session: open GET /sse again")
        try:
            message = client_message(json.loads(body))
        except (ValueError, RecursionError):  # not JSON, too deep, or not one well-formed message
            raise ApiError(400, "invalid_message", "The body must be one JSON-RPC message") from None
        try:
            with session.in_use():
                await session.deliver(message, _sse_metadata(self.caller))
        except SessionClosed:
            raise ApiError(404, "session_not_found", "The HTTP+SSE session ended: open GET /sse again") from None
        self.set_status(202)
        self.finish(json.dumps({"status": "accepted"}))


class _Gone:
    """Whether the client left: asyncio.Event's `set`, `is_set` and `wait`, its Event (and the Event's deque, 600
    bytes) made only if someone waits; one per request, so per idle stream."""

    __slots__ = ("_event", "_set")

    def __init__(self) -> None:
        self._set = False
        self._event: asyncio.Event | None = None

    def set(self) -> None:
        self._set = True
        if self._event is not None:
            self._event.set()

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> bool:
        if self._set:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        return await self._event.wait()


def _retrieved(future: asyncio.Future[None]) -> None:
    """A write nobody awaits: its failure (the client left) is on_connection_close's to handle, not the loop's log's."""
    if not future.cancelled():
        future.exception()


def _sse_metadata(caller: McpCaller) -> ServerMessageMetadata:
    return ServerMessageMetadata(request_context=caller)


class MCPResourceHandler(StreamableHTTPHandler):
    resource_path = "/mcp"


routes = [
    (r"/mcp/?", MCPResourceHandler),
    (r"/sse/?", LegacySSEHandler),
    (r"/messages/?", MessagesHandler),
]
