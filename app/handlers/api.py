"""REST access to the tools: GET /api/tools, POST /api/tools/{name}, GET /api/openapi.json.

The same registry the MCP server serves, for scripts holding an API key (or an OAuth access token).
"""

from __future__ import annotations

import json
from typing import Any

from app.handlers.base import ApiError
from app.handlers.bodies import BoundedBodyHandler
from app.mcp.catalog import openapi_document, tool_listing
from app.tools.registry import ToolContext, ToolInputError, ToolNotFound, ToolRecordNotFound, ToolRegistry


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
