"""The MCP server kernel: the SDK's lowlevel Server, built from our tool registry.

Everything protocol-shaped (initialize and version negotiation, ping, tools/list, tools/call, errors,
cancellation, progress, logging, the 2026-07-28 per-request envelope) is the SDK's; this module only
says what the tools are and how one call runs.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from mcp.server.caching import CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError

from app import metrics
from app.auth.bearer import Principal
from app.config import Settings, package_version
from app.db import Database
from app.tools.errors import ToolError, ToolInputError, ToolRecordNotFound, UnknownTool
from app.tools.registry import LogLevel, Tool, ToolContext, ToolRegistry

# tools/list is the same for every caller and changes only when the server is deployed anew: clients may keep
# it this long and share it between authorization contexts (the 2026-07-28 revision's cache hints).
TOOLS_LIST_HINT = CacheHint(ttl_ms=300_000, scope="public")

# mcp.method.name values kept as they are; any other method a client sends is counted as "other".
KNOWN_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "server/discover",
    }
)

INSTRUCTIONS = (
    "SecondLayer serves Ukrainian legal data. Call tools/list to see the tools; every tool returns "
    "structured JSON (structuredContent) and the same JSON as text."
)


@dataclass(frozen=True)
class McpCaller:
    """Who sent one MCP message, carried to the tool in the message's transport metadata."""

    principal: Principal
    request_id: str
    headers: dict[str, str] = field(default_factory=dict)


def tool_definition(tool: Tool) -> types.Tool:
    """The MCP `Tool` for a registry entry: the same schemas the REST API publishes."""
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        annotations=types.ToolAnnotations(title=tool.title, **_annotation_fields(tool.annotations)),
    )


def _annotation_fields(annotations: dict[str, Any]) -> dict[str, Any]:
    wire_to_field = {
        "readOnlyHint": "read_only_hint",
        "destructiveHint": "destructive_hint",
        "idempotentHint": "idempotent_hint",
        "openWorldHint": "open_world_hint",
    }
    return {wire_to_field[k]: v for k, v in annotations.items() if k in wire_to_field}


def encodable(text: str) -> str:
    """`text` with any lone surrogate (a client may send one as a JSON escape) written as its \\udXXX escape:
    echoed raw, it cannot be encoded as UTF-8, and the transport fails to send the whole message."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class ToolOutcome:
    """How one tools/call ended, before any wire shape: the structured JSON, its text, and whether it is a tool
    error. The kernel wraps it in the SDK's CallToolResult; the 2026-07-28 fast path (app/mcp/modern.py) writes
    the same wire dict directly."""

    structured: dict[str, Any]
    text: str
    is_error: bool
    text_is_json: bool = False  # text is json.dumps(structured, ensure_ascii=False) (a success's)

    def result(self) -> types.CallToolResult:
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=self.text)],
            structured_content=self.structured,
            is_error=self.is_error,
        )


def error_outcome(error: ToolError) -> ToolOutcome:
    """A tool error the model can read (isError), never a protocol error: the session goes on."""
    if isinstance(error, ToolRecordNotFound):
        # MCP clients have always been told a missing record as invalid arguments (REST answers 404 not_found).
        error = ToolInputError(error.field, error.message)
    message = encodable(str(error))
    structured: dict[str, Any] = {"code": error.code, "message": message}
    if error.field is not None:
        structured["field"] = encodable(error.field)
    return ToolOutcome({"error": structured}, message, True)


# json.dumps(value, ensure_ascii=False, default=str), without building an encoder per call as json.dumps does.
_encode_text = json.JSONEncoder(ensure_ascii=False, default=str).encode


def success_outcome(result: dict[str, Any]) -> ToolOutcome:
    """structuredContent plus one JSON text item, for clients that read only text."""
    return ToolOutcome(result, _encode_text(result), False, text_is_json=True)


def error_result(error: ToolError) -> types.CallToolResult:
    return error_outcome(error).result()


def success_result(result: dict[str, Any]) -> types.CallToolResult:
    return success_outcome(result).result()


@dataclass(frozen=True)
class ToolCalls:
    """The one way MCP runs a tool, shared by the kernel's tools/call handler and the 2026-07-28 fast path."""

    registry: ToolRegistry
    settings: Settings
    db: Database

    def knows(self, name: str) -> bool:
        return _input_schema(self.registry, name) is not None

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The input schema of tool `name`, None when there is no such tool."""
        return _input_schema(self.registry, name)

    async def outcome(
        self,
        name: str,
        arguments: Any,
        caller: McpCaller | None,
        progress: Callable[[float, float | None, str | None], Awaitable[None]] | None,
        log: Callable[[LogLevel, Any], Awaitable[None]] | None,
    ) -> ToolOutcome:
        """The tool's outcome; MCPError (invalid params) for an unknown tool, which the spec makes a protocol error."""
        tool_ctx = ToolContext(
            db=self.db,
            settings=self.settings,
            principal=caller.principal if caller else None,
            request_id=caller.request_id if caller else "-",
            progress=progress,
            log=log,
        )
        try:
            result = await self.registry.call(name, arguments, tool_ctx)
        except UnknownTool as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=encodable(str(exc))) from None
        except ToolError as exc:
            return error_outcome(exc)
        return success_outcome(result)


def build_server(calls: ToolCalls) -> Server[Any]:
    """The SDK server whose tools/list and tools/call come from `calls.registry`."""
    registry, settings = calls.registry, calls.settings
    listed: dict[int, types.ListToolsResult] = {}  # by registry revision: built once, not on every request

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        result = listed.get(registry.revision)
        if result is None:
            listed.clear()
            result = listed[registry.revision] = types.ListToolsResult(
                tools=[tool_definition(tool) for tool in registry]
            )
        return result

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        caller = ctx.request if isinstance(ctx.request, McpCaller) else None
        progress = ctx.session.report_progress
        outcome = await calls.outcome(params.name, params.arguments, caller, progress, _log_sender(ctx, params.name))
        return outcome.result()

    server: Server[Any] = Server(
        "SecondLayer",
        version=package_version(),
        title="SecondLayer",
        instructions=INSTRUCTIONS,
        website_url=settings.public_url,
        cache_hints={"tools/list": TOOLS_LIST_HINT},
        get_tool_input_schema=lambda name: _input_schema(registry, name),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    # The SDK's default middleware is only its OpenTelemetry span per message, a no-op without an exporter that
    # still costs every call its span bookkeeping; we install no exporter, so it is dropped (the documented
    # opt-out). Middleware of our own is appended after this.
    server.middleware.clear()
    server.middleware.append(OperationMetrics(registry))
    return server


class Replayed:
    """The request context of a message the server feeds its own kernel again (a parked session's handshake,
    app/mcp/sessions.py): no client sent it, so it is not timed."""


REPLAYED = Replayed()


class OperationMetrics:
    """The SDK's middleware hook, once around every MCP request of every transport and revision: its duration in
    mcp.server.operation.duration, labelled as the OpenTelemetry MCP conventions say."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry
        # The labelled series met so far (labels() takes a lock and builds its key on every call); as bounded as
        # the metric's own label values.
        self._series: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None or ctx.request is REPLAYED:
            return await call_next(ctx)  # a notification is no operation, and a replayed handshake no client's
        started = time.perf_counter()
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            self._observe(ctx, started, str(exc.error.code))
            raise
        except Exception as exc:
            self._observe(ctx, started, type(exc).__qualname__)
            raise
        # What the chain returns is the wire dict the kernel already made of the handler's CallToolResult.
        if isinstance(result, types.CallToolResult):
            failed = bool(result.is_error)
        else:
            failed = isinstance(result, dict) and result.get("isError") is True
        self._observe(ctx, started, "tool_error" if failed else "")
        return result

    def _observe(self, ctx: ServerRequestContext[Any, Any], started: float, error: str) -> None:
        name = ctx.params.get("name") if ctx.method == "tools/call" and ctx.params else None
        self.observe(ctx.method, name, started, error)

    def observe(self, method: str, name: Any, started: float, error: str) -> None:
        """One request of `method` (a tools/call of tool `name`) that began at `started` (perf_counter) ended
        with `error` ("" for none). The 2026-07-28 fast path (app/mcp/modern.py) calls this for its calls."""
        tool = ""
        if method == "tools/call":
            # Only real tools' names become label values: a client cannot grow the series without bound.
            tool = name if isinstance(name, str) and self._known(name) else "unknown"
        method = method if method in KNOWN_METHODS else "other"
        key = (method, tool, error)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metrics.mcp_operation_duration.labels(method, tool, error)
        series.observe(time.perf_counter() - started)

    def _known(self, name: str) -> bool:
        try:
            self.registry.get(name)
        except UnknownTool:
            return False
        return True


def _input_schema(registry: ToolRegistry, name: str) -> dict[str, Any] | None:
    try:
        return registry.get(name).input_schema
    except UnknownTool:
        return None


def _log_sender(ctx: ServerRequestContext[Any, Any], logger_name: str) -> Callable[[LogLevel, Any], Awaitable[None]]:
    async def send(level: LogLevel, data: Any) -> None:
        # The SDK marks logging deprecated at 2026-07-28 but still delivers it per the negotiated
        # version's rules (per-request opt-in at 2026, always before), which is what we want.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await ctx.session.send_log_message(level, data, logger=logger_name)

    return send
