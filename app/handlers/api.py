"""REST access to the tools: GET /api/tools, POST /api/tools/{name}, GET /api/openapi.json.

The same registry the MCP server serves, for scripts holding an API key (or an OAuth access token).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.web

from app.handlers.base import ApiError, BearerAPIHandler
from app.mcp.catalog import openapi_document, tool_listing
from app.tools.registry import ToolContext, ToolInputError, ToolNotFound, ToolRecordNotFound, ToolRegistry

# Bodies up to this multiple of MAX_BODY_BYTES are read and dropped so the client gets a clean 413;
# anything bigger is refused at once and the connection closed.
DRAIN_FACTOR = 16
# Seconds a request body may take to arrive in full. Tornado's default is no limit, so a client trickling a
# byte at a time (slowloris) would hold its connection and handler open for ever.
BODY_TIMEOUT = 60.0


def _after_refusal_check(verb: Callable[..., Any]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(verb)
    async def run(self: BoundedBodyHandler, *args: Any, **kwargs: Any) -> None:
        if self._refusal is not None:
            raise self._refusal
        result = verb(self, *args, **kwargs)
        if inspect.isawaitable(result):
            await result

    return run


@tornado.web.stream_request_body
class BoundedBodyHandler(BearerAPIHandler):
    """A bearer-guarded handler that reads its body itself, so an oversized one gets 413 rather than a reset.

    `admit()` (auth, origin) runs in prepare(), but a refusal is raised only once the body has been read:
    Tornado closes a connection answered before its body, and a client then meets a reset on its next request.
    Every HTTP verb a subclass defines is wrapped to raise that refusal first, so none can forget it.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for verb in ("get", "post", "put", "patch", "delete", "options"):
            if verb in cls.__dict__:
                setattr(cls, verb, _after_refusal_check(cls.__dict__[verb]))

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        self._refusal: ApiError | None = None

    async def prepare(self) -> None:
        await super().prepare()
        self.limit_body()
        try:
            await self.admit()
        except ApiError as exc:
            self._refusal = exc

    async def admit(self) -> None:
        """Checks on the request line and headers (auth, origin); raise ApiError to refuse."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if not self._prepared:
            # Refused before reading a huge body: the connection closes after this answer, so say so.
            self.set_header("Connection", "close")
        super().write_error(status_code, **kwargs)

    def limit_body(self) -> None:
        """Call from prepare(): refuse a declared length far past the limit, drain anything up to that, and
        give the body BODY_TIMEOUT seconds to arrive."""
        limit = self.config.max_body_bytes
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit * DRAIN_FACTOR:
            raise ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes")
        self._too_large = declared.isdigit() and int(declared) > limit
        self.request.connection.set_max_body_size(limit * DRAIN_FACTOR)  # type: ignore[union-attr]
        self.request.connection.set_body_timeout(BODY_TIMEOUT)  # type: ignore[union-attr]

    @property
    def _prepared(self) -> bool:
        return self._prepared_future is None or self._prepared_future.done()

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.config.max_body_bytes:
            self._too_large = True
            self._chunks = []
        elif not self._too_large:
            self._chunks.append(chunk)

    def body(self) -> bytes:
        """The whole body; ApiError 413 when it was over MAX_BODY_BYTES."""
        if self._too_large:
            raise ApiError(413, "payload_too_large", f"The body is larger than {self.config.max_body_bytes} bytes")
        return b"".join(self._chunks)


class ToolsAPIHandler(BoundedBodyHandler):
    """Every /api/* handler: bearer auth first, then the registry."""

    @property
    def tools(self) -> ToolRegistry:
        return self.settings["tools"]  # type: ignore[no-any-return]

    async def admit(self) -> None:
        await self.require_principal()


class ToolListHandler(ToolsAPIHandler):
    def get(self) -> None:
        self.write_json({"tools": tool_listing(self.tools)})


class ToolCallHandler(ToolsAPIHandler):
    async def post(self, name: str) -> None:
        try:
            tool = self.tools.get(name)
        except ToolNotFound:
            raise ApiError(404, "unknown_tool", f"No tool named {name!r}; GET /api/tools lists them") from None
        arguments = self._arguments()
        ctx = ToolContext(db=self.db, settings=self.config, principal=self.principal, request_id=self.request_id)
        try:
            result = await tool.run(ctx, tool.validate(arguments))
        except ToolInputError as exc:
            raise InvalidArguments(exc) from None
        self.write_json(result)

    def _arguments(self) -> dict[str, Any]:
        body = self.body()
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise ApiError(415, "unsupported_media_type", "Send the arguments as a JSON object with "
                                                          "Content-Type: application/json")
        try:
            arguments = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise InvalidArguments(ToolInputError("", "the body must be a JSON object of arguments"))
        return arguments

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, InvalidArguments):
            self.set_status(exc.status_code)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            # `field` echoes a key the caller sent, which may be a lone surrogate (legal as a JSON escape, not
            # encodable as UTF-8): backslashreplace writes it back as the same \udXXX escape instead of failing.
            body = json.dumps({"error": {"code": exc.code, "message": exc.message, "field": exc.field}},
                              ensure_ascii=False)
            self.finish(body.encode("utf-8", "backslashreplace"))
            return
        super().write_error(status_code, **kwargs)


class InvalidArguments(ApiError):
    """422 (or 404 for a record that does not exist) naming the argument at fault, plus `field`."""

    def __init__(self, error: ToolInputError) -> None:
        where = error.field or "arguments"
        if isinstance(error, ToolRecordNotFound):  # well-formed arguments naming nothing that exists
            super().__init__(404, "not_found", f"Not found: {where}: {error.message}")
        else:
            super().__init__(422, "invalid_arguments", f"Invalid arguments: {where}: {error.message}")
        self.field = error.field


class OpenAPIHandler(ToolsAPIHandler):
    def get(self) -> None:
        self.write_json(openapi_document(self.tools, self.config))


routes = [
    (r"/api/tools/?", ToolListHandler),
    (r"/api/tools/([A-Za-z0-9_\-]+)/?", ToolCallHandler),
    (r"/api/openapi\.json", OpenAPIHandler),
]
