"""REST access to the tools: GET /api/tools, POST /api/tools/{name}, GET /api/openapi.json.

The same registry the MCP server serves, for scripts holding an API key (or an OAuth access token).
"""

from __future__ import annotations

import json
from typing import Any

from app.handlers.base import ApiError
from app.handlers.bearer import BearerAPIHandler
from app.tools.catalog import openapi_document, tool_listing
from app.tools.errors import ToolError, ToolFailed, ToolInputError, UnknownTool
from app.tools.registry import ToolContext, ToolRegistry

# The status each outcome of a failed tool call answers with (the vocabulary is app/tools/errors.py).
TOOL_ERROR_STATUS = {"invalid_arguments": 422, "not_found": 404, "unavailable": 503}


def tool_api_error(error: ToolError) -> ApiError:
    """The REST answer to a tool call that ended in `error`."""
    if isinstance(error, UnknownTool):
        return ApiError(404, "unknown_tool", f"No tool named {error.name!r}; GET /api/tools lists them")
    if isinstance(error, ToolFailed):
        # Worded as every other unexpected error of the API.
        return ApiError(500, "internal_error", f"Internal error; quote request id {error.request_id} when reporting it")
    return ApiError(TOOL_ERROR_STATUS[error.code], error.code, str(error), field=error.field)


class ToolsAPIHandler(BearerAPIHandler):
    """Every /api/* handler: bearer auth first, then the registry."""

    @property
    def tools(self) -> ToolRegistry:
        return self.services.tools

    async def admit(self) -> None:
        await self.require_principal()


class ToolListHandler(ToolsAPIHandler):
    def get(self) -> None:
        self.write_json({"tools": tool_listing(self.tools)})


class ToolCallHandler(ToolsAPIHandler):
    async def post(self, name: str) -> None:
        ctx = ToolContext(db=self.db, settings=self.config, principal=self.principal, request_id=self.request_id)
        try:
            tool = self.tools.get(name)  # before the body is parsed: an unknown tool is 404 whatever was sent
            result = await tool.call(self._arguments(), ctx)
        except ToolError as exc:
            raise tool_api_error(exc) from None
        self.write_json(result)

    def _arguments(self) -> dict[str, Any]:
        body = self.body()
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise ApiError(
                415, "unsupported_media_type", "Send the arguments as a JSON object with Content-Type: application/json"
            )
        try:
            arguments = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
        if not isinstance(arguments, dict):
            raise ToolInputError("", "the body must be a JSON object of arguments")
        return arguments


class OpenAPIHandler(ToolsAPIHandler):
    def get(self) -> None:
        self.write_json(openapi_document(self.tools, self.config))


routes = [
    (r"/api/tools/?", ToolListHandler),
    (r"/api/tools/([A-Za-z0-9_\-]+)/?", ToolCallHandler),
    (r"/api/openapi\.json", OpenAPIHandler),
]
