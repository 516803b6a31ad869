"""The 2026-07-28 revision over HTTP: one self-contained POST per request, served by the SDK's `serve_one`.

The validation ladder (envelope, routing headers, Mcp-Param-* headers, supported version) is the SDK's
`mcp.shared.inbound`; running the request is the SDK's `mcp.server.runner.serve_one`. What is ours is only
the exchange object the web layer drives: it starts the call, hands out notifications as they come, and
ends with the JSON-RPC reply and the HTTP status the SDK's table assigns to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import mcp_types as types
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import modern_error_data, serve_one
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
    find_invalid_x_mcp_header,
    unsupported_protocol_version_rejection,
    validate_mcp_param_headers,
    x_mcp_header_map,
)
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp.shared.message import MessageMetadata, ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types.methods import serialize_server_result, validate_client_request
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from app.mcp.kernel import McpCaller, OperationMetrics, ToolCalls, ToolOutcome
from app.mcp.wire import dumps, jsonrpc_error
from app.tools.registry import LogLevel


@dataclass(frozen=True)
class Answer:
    """An HTTP answer decided before any handler runs: a status and a JSON body (None for 202)."""

    status: int
    body: dict[str, Any] | None = None


def _reply_status(reply: dict[str, Any]) -> int:
    error = reply.get("error")
    if isinstance(error, dict):
        return ERROR_CODE_HTTP_STATUS.get(error.get("code", 0), 200)
    return 200


def _rejection(rejection: InboundLadderRejection, request_id: Any) -> Answer:
    body = jsonrpc_error(request_id, rejection.code, rejection.message, rejection.data)
    return Answer(_reply_status(body), body)


_INVALID_BODY = "Body must be a single JSON-RPC request or notification object"

# The kernel's answer to these methods depends on nothing but the protocol version when the request carries
# nothing but the envelope (no cursor, no progress token, no log level): the kernel answers the first such
# request of each version and its serialised result is replayed after that, byte for byte
# (tests/test_mcp_static_results.py compares the two on every version and envelope variant).
STATIC_METHODS = frozenset({"tools/list"})
_ENVELOPE_KEYS = frozenset(
    {types.PROTOCOL_VERSION_META_KEY, types.CLIENT_INFO_META_KEY, types.CLIENT_CAPABILITIES_META_KEY}
)


class StaticResults:
    """Serialised kernel results of STATIC_METHODS, by (method, protocol version), for one kernel."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str] = {}

    @staticmethod
    def key_of(request: types.JSONRPCRequest, protocol_version: str) -> tuple[str, str] | None:
        """The cache key of `request`, or None when its answer may depend on more than the version."""
        if request.method not in STATIC_METHODS:
            return None
        params = request.params or {}
        meta = params.get("_meta")
        if any(name != "_meta" for name in params) or not isinstance(meta, dict) or not meta.keys() <= _ENVELOPE_KEYS:
            return None
        return request.method, protocol_version

    def get(self, key: tuple[str, str] | None) -> str | None:
        return self._texts.get(key) if key is not None else None

    def put(self, key: tuple[str, str] | None, result: dict[str, Any]) -> None:
        if key is not None and len(self._texts) < 64:  # methods x versions: a handful
            self._texts[key] = json.dumps(result, ensure_ascii=False)

    def clear(self) -> None:
        """Forget every result (the tools changed)."""
        self._texts.clear()

    def __len__(self) -> int:
        return len(self._texts)


def reply_text(request_id: types.RequestId, result_text: str) -> str:
    """`json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}, ensure_ascii=False)` for the
    already serialised `result_text`."""
    return f'{{"jsonrpc": "2.0", "id": {json.dumps(request_id, ensure_ascii=False)}, "result": {result_text}}}'


# The only params a tools/call may carry to be served by FastToolCalls; anything else goes to the kernel.
_FAST_CALL_KEYS = frozenset({"name", "arguments", "_meta"})


def _plain_json(value: Any, depth: int = 0, float_ok: Callable[[float], bool] = math.isfinite) -> bool:
    """True when `value` is JSON as json.loads makes it (str keys, finite floats, no tuples or other types), so
    pydantic's JSON-mode dump of it is the value itself; `float_ok` says which floats pass. Bounded depth: deeper
    results take the kernel's dump."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return float_ok(value)
    if depth > 64:
        return False
    if kind is dict:
        return all(type(key) is str and _plain_json(item, depth + 1, float_ok) for key, item in value.items())
    if kind is list:
        return all(_plain_json(item, depth + 1, float_ok) for item in value)
    return False


def _printed_alike(value: float) -> bool:
    """Python and pydantic print this float alike: 0.0001 <= |x| < 1e15 (beyond that Python writes 1e-05 and
    1e+20 where pydantic writes 0.00001 and 1e20)."""
    return 1e-4 <= abs(value) < 1e15


def _compact_json(value: Any) -> bool:
    """True when `value` is plain JSON whose compact `json.dumps` is byte for byte what pydantic's
    `model_dump_json` writes: the same escapes for every string, its floats printed alike.
    tests/test_mcp_fast_call.py checks the equality on random values."""
    return _plain_json(value, 0, _printed_alike)


# What pydantic's model_dump_json writes for a value `_compact_json` accepts.
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class HeaderLists(Protocol):
    """Request headers that still show a repeated header's every copy (tornado's HTTPHeaders)."""

    def get_list(self, name: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class FastCall:
    """A 2026-07-28 tools/call that FastToolCalls.route found the SDK's whole inbound ladder would pass and the
    kernel would hand to our tool handler unchanged."""

    request_id: int | str
    name: str
    arguments: dict[str, Any] | None
    protocol_version: str


_ROUTING_HEADERS = (MCP_PROTOCOL_VERSION_HEADER, MCP_METHOD_HEADER, MCP_NAME_HEADER)
_SENTINEL_START = "=?"  # a header value starting so may be base64-wrapped: the SDK's decoder decides, not us
_NO_CLIENT_INFO: Any = object()
# json.dumps(value, ensure_ascii=False) without building a JSONEncoder per call (json.dumps does for any argument).
_encode = json.JSONEncoder(ensure_ascii=False).encode


_SESSION_CALL_KEYS = frozenset({"name", "arguments"})


class FastToolCalls:
    """2026-07-28 `tools/call` served without the SDK kernel's per-request machinery (runner, context, session,
    pydantic request and result models), with the kernel's own checks and the kernel's wire answer.

    Taken only when the request is one the kernel would hand to our tool handler unchanged: the params are
    `name` (a tool of the registry), `arguments` (an object or null or absent) and an envelope-only `_meta` (no
    progress token, no log level, so nothing is sent while the call runs), the SDK's surface validation of the
    request passes, and the only server middleware is our OperationMetrics (recorded here the same way). Then
    the tool runs through the same `ToolCalls` the kernel's handler uses and its outcome is written the way the
    kernel's result pipeline writes it (surface sieve, `resultType`, the `serverInfo` stamp). Everything else,
    refusals included, is the kernel's.

    `route` decides that on the decoded body alone, before any SDK model is built: it admits a request only
    when each rung of the SDK's inbound ladder (envelope, duplicated routing headers, header/body agreement,
    supported version, Mcp-Param-* headers) is one it can see passing with an exact test, and leaves every
    other request, whatever its fate, to `open_exchange`, which runs the SDK's own ladder.
    tests/test_mcp_fast_call.py compares the two answers byte for byte on every tool and error case.
    """

    def __init__(self, server: Server[Any], calls: ToolCalls) -> None:
        self._server = server
        self._calls = calls
        self.served = 0  # calls answered here (the differential test checks it moves only when it should)
        # Per tool: its input schema and whether Mcp-Param-* headers are checked against it at all (the SDK
        # checks nothing for a schema without a valid x-mcp-header annotation).
        self._param_headers: dict[str, tuple[dict[str, Any], bool]] = {}
        self._meta_text: str | None = None

    def _middleware_ours(self) -> bool:
        return all(isinstance(middleware, OperationMetrics) for middleware in self._server.middleware)

    def accepts(self, request: types.JSONRPCRequest, protocol_version: str) -> bool:
        if request.method != "tools/call":
            return False
        if not self._middleware_ours():
            return False  # a middleware this path does not do itself: the kernel runs it
        if protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return False
        params = request.params
        if not isinstance(params, dict) or not params.keys() <= _FAST_CALL_KEYS:
            return False
        name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta")
        if type(name) is not str or not (arguments is None or type(arguments) is dict):
            return False
        if type(meta) is not dict or not meta.keys() <= _ENVELOPE_KEYS or not self._calls.knows(name):
            return False
        return self._surface_valid(protocol_version, params)

    def _surface_valid(self, protocol_version: str, params: dict[str, Any]) -> bool:
        """The SDK's surface validation of these params (the kernel's first rung). With a str name, object-or-null
        arguments and an envelope-only _meta, it depends on the _meta alone (the model has no cross-field
        validators); the envelope every client sends (no capabilities, a client info of a str name and a str
        version) passes it by the model's plain field types, which is tested exactly instead."""
        meta = params["_meta"]
        capabilities = meta.get(types.CLIENT_CAPABILITIES_META_KEY)
        info = meta.get(types.CLIENT_INFO_META_KEY, _NO_CLIENT_INFO)
        if type(capabilities) is dict and not capabilities:
            if info is _NO_CLIENT_INFO:
                return True
            if type(info) is dict and len(info) == 2 and type(info.get("name")) is str:
                if type(info.get("version")) is str:
                    return True
        try:
            validate_client_request("tools/call", protocol_version, params)  # the kernel's first rung, as is
        except (ValidationError, KeyError, ValueError):
            return False  # the kernel says why
        return True

    def route(self, decoded: Any, headers: HeaderLists) -> FastCall | None:
        """The call when `decoded` (the JSON body) with `headers` is one this path serves with certainty, else None
        (then `open_exchange` runs the SDK's ladder and answers, refusals included)."""
        if type(decoded) is not dict:
            return None
        request_id, jsonrpc, method = decoded.get("id"), decoded.get("jsonrpc"), decoded.get("method")
        # The JSON-RPC envelope: what JSONRPCRequest admits and keeps as is (an int or str id; a float id, which
        # pydantic would turn into an int, goes the long way).
        if type(jsonrpc) is not str or jsonrpc != "2.0" or type(method) is not str or method != "tools/call":
            return None
        if type(request_id) is not int and type(request_id) is not str:
            return None
        params = decoded.get("params")
        if type(params) is not dict or not params.keys() <= _FAST_CALL_KEYS:
            return None
        name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta")
        if type(name) is not str or not (arguments is None or type(arguments) is dict):
            return None
        if type(meta) is not dict or not meta.keys() <= _ENVELOPE_KEYS:
            return None
        version = meta.get(types.PROTOCOL_VERSION_META_KEY)
        if type(version) is not str or version not in MODERN_PROTOCOL_VERSIONS:
            return None
        if types.CLIENT_CAPABILITIES_META_KEY not in meta:
            return None
        # The routing headers: each present exactly once and equal to the body (a repeated one, a missing one or
        # a possibly base64-wrapped name is the ladder's to judge).
        version_lines, method_lines, name_lines = (headers.get_list(header) for header in _ROUTING_HEADERS)
        if version_lines != [version] or method_lines != [method] or name_lines != [name]:
            return None
        if name.startswith(_SENTINEL_START) or not self._middleware_ours():
            return None
        if self._param_headers_checked(name) is not False:
            return None  # an unknown tool (None), or Mcp-Param-* headers to compare: the long way
        if not self._surface_valid(version, params):
            return None
        return FastCall(request_id, name, arguments, version)

    def _param_headers_checked(self, name: str) -> bool | None:
        """None for an unknown tool, else whether the SDK compares Mcp-Param-* headers against its schema."""
        schema = self._calls.input_schema(name)
        if schema is None:
            return None
        known = self._param_headers.get(name)
        if known is not None and known[0] is schema:
            return known[1]
        checked = find_invalid_x_mcp_header(schema) is None and bool(x_mcp_header_map(schema))
        self._param_headers[name] = (schema, checked)
        return checked

    async def reply(self, call: FastCall, caller: McpCaller) -> tuple[int, str]:
        """The HTTP status and the JSON-RPC reply text the kernel would answer `call` with."""
        self.served += 1
        started = time.perf_counter()
        try:
            outcome = await self._calls.outcome(call.name, call.arguments, caller, None, None)
            text = self.reply_text(call, outcome)
        except Exception as exc:  # noqa: BLE001 - every failure of the call is the JSON-RPC error the client gets
            self._observe(
                call.name, started, str(exc.error.code) if isinstance(exc, MCPError) else type(exc).__qualname__
            )
            error = modern_error_data(exc)
            body = {
                "jsonrpc": "2.0",
                "id": call.request_id,
                "error": error.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
            return _reply_status(body), json.dumps(body, ensure_ascii=False, default=str)
        self._observe(call.name, started, "tool_error" if outcome.is_error else "")
        return 200, text

    def reply_text(self, call: FastCall, outcome: ToolOutcome) -> str:
        """`json.dumps({"jsonrpc": "2.0", "id": ..., "result": self.wire(outcome, ...)}, ensure_ascii=False)`,
        serialising the structured result once: a success's text already is its JSON."""
        if not _plain_json(outcome.structured):
            reply = {"jsonrpc": "2.0", "id": call.request_id, "result": self.wire(outcome, call.protocol_version)}
            return json.dumps(reply, ensure_ascii=False, default=str)
        structured = outcome.text if outcome.text_is_json else _encode(outcome.structured)
        if self._meta_text is None:
            self._meta_text = json.dumps(
                {types.SERVER_INFO_META_KEY: self._server.server_info_stamp}, ensure_ascii=False
            )
        return (
            f'{{"jsonrpc": "2.0", "id": {_encode(call.request_id)}, "result": '
            f'{{"content": [{{"text": {_encode(outcome.text)}, "type": "text"}}], '
            f'"isError": {"true" if outcome.is_error else "false"}, "resultType": "complete", '
            f'"structuredContent": {structured}, "_meta": {self._meta_text}}}}}'
        )

    async def answer(self, request: types.JSONRPCRequest, protocol_version: str, caller: McpCaller) -> dict[str, Any]:
        """The `result` the kernel would answer (it raises what the kernel's handler raises, e.g. MCPError)."""
        params = request.params or {}
        name = params["name"]
        self.served += 1
        started = time.perf_counter()
        try:
            outcome = await self._calls.outcome(name, params.get("arguments"), caller, None, None)
            result = self.wire(outcome, protocol_version)
        except MCPError as exc:
            self._observe(name, started, str(exc.error.code))
            raise
        except Exception as exc:
            self._observe(name, started, type(exc).__qualname__)
            raise
        self._observe(name, started, "tool_error" if outcome.is_error else "")
        return result

    def session_call(self, request: types.JSONRPCRequest, protocol_version: str | None) -> tuple[str, Any] | None:
        """(name, arguments) when a handshake-era session's `request` is a tools/call this path serves as the kernel
        would, else None: a registry tool, only `name` and `arguments` (no `_meta`, so no progress token), params the
        SDK's surface check passes for the session's version, and no middleware but ours."""
        if request.method != "tools/call" or protocol_version is None:
            return None
        if protocol_version in MODERN_PROTOCOL_VERSIONS or not self._middleware_ours():
            return None
        params = request.params
        if type(params) is not dict or not params.keys() <= _SESSION_CALL_KEYS:
            return None
        name, arguments = params.get("name"), params.get("arguments")
        if type(name) is not str or not (arguments is None or type(arguments) is dict) or not self._calls.knows(name):
            return None
        try:
            validate_client_request("tools/call", protocol_version, params)  # the kernel's first rung, as is
        except (ValidationError, KeyError, ValueError):
            return None
        return name, arguments

    async def session_reply(
        self,
        request_id: types.RequestId,
        call: tuple[str, Any],
        protocol_version: str,
        caller: McpCaller,
        note: Callable[[str], None],
    ) -> str:
        """The JSON-RPC message a handshake-era session's kernel would end the request's stream with for `call`.
        What the tool logs meanwhile goes to `note` as the kernel's notifications/message text: handshake versions
        send logs unasked, on the session's standalone stream. Without a progress token the kernel's progress
        reports are no-ops, and so are these."""
        name, arguments = call
        self.served += 1
        started = time.perf_counter()

        async def log(level: LogLevel, data: Any) -> None:
            params = types.LoggingMessageNotificationParams(level=level, data=data, logger=name)
            notification = types.JSONRPCNotification(
                jsonrpc="2.0",
                method="notifications/message",
                params=params.model_dump(by_alias=True, mode="json", exclude_none=True),
            )
            note(notification.model_dump_json(by_alias=True, exclude_unset=True))

        message: types.JSONRPCResponse | types.JSONRPCError
        try:
            outcome = await self._calls.outcome(name, arguments, caller, None, log)
            if _compact_json(outcome.structured):
                # The kernel's reply, written directly: a CallToolResult of one text item dumps in this key order
                # for every handshake version, without `_meta`.
                self._observe(name, started, "tool_error" if outcome.is_error else "")
                return (
                    f'{{"jsonrpc":"2.0","id":{_compact(request_id)},"result":{{"content":[{{"text":'
                    f'{_compact(outcome.text)},"type":"text"}}],"isError":{"true" if outcome.is_error else "false"},'
                    f'"structuredContent":{_compact(outcome.structured)}}}}}'
                )
            dumped = outcome.result().model_dump(by_alias=True, mode="json", exclude_none=True)
            result = serialize_server_result("tools/call", protocol_version, dumped)
        except MCPError as exc:
            self._observe(name, started, str(exc.error.code))
            message = types.JSONRPCError(jsonrpc="2.0", id=request_id, error=exc.error)
        else:
            self._observe(name, started, "tool_error" if outcome.is_error else "")
            message = types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)
        return message.model_dump_json(by_alias=True, exclude_unset=True)

    def _observe(self, name: str, started: float, error: str) -> None:
        """What the kernel's OperationMetrics middleware records for the same call."""
        for middleware in self._server.middleware:
            if isinstance(middleware, OperationMetrics):
                middleware.observe("tools/call", name, started, error)

    def wire(self, outcome: ToolOutcome, protocol_version: str) -> dict[str, Any]:
        if _plain_json(outcome.structured):
            # What the kernel's pipeline makes of a CallToolResult with one text item, in the surface's key order.
            result: dict[str, Any] = {
                "content": [{"text": outcome.text, "type": "text"}],
                "isError": outcome.is_error,
                "resultType": "complete",
                "structuredContent": outcome.structured,
            }
        else:
            dumped = outcome.result().model_dump(by_alias=True, mode="json", exclude_none=True)
            result = serialize_server_result("tools/call", protocol_version, dumped)
            if result.get("resultType") is None:
                result["resultType"] = "complete"
        result["_meta"] = {types.SERVER_INFO_META_KEY: self._server.server_info_stamp}
        return result


@dataclass
class _ExchangeContext:
    """The SDK `DispatchContext` for one HTTP exchange: no back-channel, notifications to our queue."""

    transport: TransportContext
    request_id: types.RequestId
    message_metadata: MessageMetadata
    sink: asyncio.Queue[str | None] | None
    progress_token: types.ProgressToken | None = None
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = field(default=False, init=False)

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)  # the 2026 protocol forbids server-initiated requests

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        if self.sink is not None:
            message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
            if params is not None:
                message["params"] = dict(params)
            await self.sink.put(dumps(message))

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self.progress_token is None:
            return
        params: dict[str, Any] = {"progressToken": self.progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.notify("notifications/progress", params)


class ModernExchange:
    """One 2026-07-28 request being served; notifications stream out while it runs."""

    def __init__(
        self,
        server: Server[Any],
        lifespan_state: Any,
        request: types.JSONRPCRequest,
        route: Any,
        caller: McpCaller,
        headers: Mapping[str, str],
        streaming: bool,
        static: StaticResults | None = None,
        fast: FastToolCalls | None = None,
    ) -> None:
        self._server = server
        self._fast = fast if fast is not None and fast.accepts(request, route.protocol_version) else None
        self._caller = caller
        self._static = static
        self._static_key = static.key_of(request, route.protocol_version) if static is not None else None
        self._lifespan_state = lifespan_state
        self.request = request
        self._route = route
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(64)
        self._context = _ExchangeContext(
            transport=TransportContext(kind="streamable-http", can_send_request=False, headers=dict(headers)),
            request_id=request.id,
            message_metadata=ServerMessageMetadata(request_context=caller, can_send_request=False),
            sink=self.queue if streaming else None,
            progress_token=progress_token_from_params(request.params),
        )
        self.reply: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    def replayed(self) -> str | None:
        """The whole JSON reply when the kernel already answered this same request (StaticResults), else None:
        then nothing runs and the caller writes this text with status 200."""
        text = self._static.get(self._static_key) if self._static is not None else None
        return reply_text(self.request.id, text) if text is not None else None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    @property
    def fast(self) -> bool:
        """Whether FastToolCalls serves this request instead of the kernel."""
        return self._fast is not None

    async def _run(self) -> None:
        try:
            if self._fast is not None:
                result = await self._fast.answer(self.request, self._route.protocol_version, self._caller)
            else:
                result = await self._serve_one()
            self.reply = {"jsonrpc": "2.0", "id": self.request.id, "result": result}
            if self._static is not None:
                self._static.put(self._static_key, result)
        except Exception as exc:  # noqa: BLE001 - every failure of the call is the JSON-RPC error the client gets
            error = modern_error_data(exc)
            self.reply = {
                "jsonrpc": "2.0",
                "id": self.request.id,
                "error": error.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
        finally:
            # Never full here: the web layer drains the queue while the call runs.
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)

    async def finished(self, within: float) -> bool:
        """Wait up to `within` seconds for the call to end (answered or cancelled); True if it has."""
        if self._task is None:
            return False
        done, _ = await asyncio.wait((self._task,), timeout=within)
        return bool(done)

    async def _serve_one(self) -> dict[str, Any]:
        connection = Connection.from_envelope(
            self._route.protocol_version, self._route.client_info, self._route.client_capabilities
        )
        return await serve_one(
            self._server,
            self._context,
            self.request.method,
            self.request.params,
            connection=connection,
            lifespan_state=self._lifespan_state,
        )

    @property
    def status(self) -> int:
        return _reply_status(self.reply or {})

    async def next(self, within: float) -> tuple[str, str | None]:
        """("notification", json), ("done", None) once the reply is ready, or ("idle", None) after `within` seconds."""
        try:
            item = await asyncio.wait_for(self.queue.get(), within)
        except TimeoutError:
            return "idle", None
        return ("done", None) if item is None else ("notification", item)

    def cancel(self) -> None:
        """The client closed the stream: at 2026-07-28 that is the cancellation signal."""
        if self._task is not None and not self._task.done():
            self._task.cancel()


NOT_DECODED: Any = object()  # a body that is not JSON (json.loads raised)


def decode_body(body: bytes) -> Any:
    """`json.loads(body)`, or NOT_DECODED when it is not JSON (or too deep to parse)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return NOT_DECODED


def open_exchange(
    server: Server[Any],
    lifespan_state: Any,
    *,
    body: bytes,
    header_lines: list[tuple[str, str]],
    caller: McpCaller,
    streaming: bool,
    static: StaticResults | None = None,
    fast: FastToolCalls | None = None,
    decoded: Any = NOT_DECODED,
) -> Answer | ModernExchange:
    """Validate one 2026-07-28 POST the way the SDK's HTTP entry does; an Answer when it ends here.

    `decoded` is `json.loads(body)` when the caller already made it (`decode_body`)."""
    if decoded is NOT_DECODED:
        decoded = decode_body(body)
    if decoded is NOT_DECODED:
        return Answer(400, jsonrpc_error(None, types.PARSE_ERROR, "Parse error"))
    headers = {name.lower(): value for name, value in header_lines}
    if isinstance(decoded, dict) and "id" not in decoded:
        # A notification: this revision defines none from client to server over HTTP, so it is acknowledged.
        try:
            types.JSONRPCNotification.model_validate(decoded)
        except ValidationError:
            return Answer(400, jsonrpc_error(None, types.INVALID_REQUEST, _INVALID_BODY))
        rejected = unsupported_protocol_version_rejection(headers.get("mcp-protocol-version", ""))
        return _rejection(rejected, None) if rejected else Answer(202)
    try:
        request = types.JSONRPCRequest.model_validate(decoded)
    except ValidationError:
        return Answer(400, jsonrpc_error(None, types.INVALID_REQUEST, _INVALID_BODY))
    duplicated = find_duplicated_routing_header(header_lines)
    if duplicated is not None:
        return _rejection(
            InboundLadderRejection(types.HEADER_MISMATCH, f"{duplicated} header appears more than once"), request.id
        )
    route = classify_inbound_request(decoded, headers=headers)
    if isinstance(route, InboundLadderRejection):
        return _rejection(route, request.id)
    rejected = _param_header_rejection(server, request, _HeaderLines(header_lines))
    if rejected is not None:
        return _rejection(rejected, request.id)
    return ModernExchange(server, lifespan_state, request, route, caller, headers, streaming, static, fast)


class _HeaderLines(Mapping[str, str]):
    """Raw header lines as the Mapping `validate_mcp_param_headers` reads: iterating it names every line, a repeated
    header as often as it was sent (as the SDK's own transport hands it Starlette's headers), so a repeated
    Mcp-Param-* header is refused; a name's value is its last line's."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self._lines = lines
        self._folded = {name.lower(): value for name, value in lines}

    def __getitem__(self, name: str) -> str:
        return self._folded[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._lines)

    def __len__(self) -> int:
        return len(self._lines)


def _param_header_rejection(
    server: Server[Any], request: types.JSONRPCRequest, headers: Mapping[str, str]
) -> InboundLadderRejection | None:
    """Mcp-Param-* headers must agree with the body's arguments (the SDK's check, with our schema lookup)."""
    params = request.params or {}
    name, arguments = params.get("name"), params.get("arguments") or {}
    if request.method != "tools/call" or not isinstance(name, str) or not isinstance(arguments, Mapping):
        return None
    lookup = server.get_tool_input_schema
    schema = lookup(name) if lookup is not None else None
    if schema is None:
        return None
    return validate_mcp_param_headers(schema, arguments, headers)
