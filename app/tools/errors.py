"""How a tool call can end without a result: one vocabulary, which REST and MCP each answer in their own form.

Tools raise ToolInputError and ToolRecordNotFound; `Tool.call` raises the others. `code` names the outcome
and `str(error)` is the sentence the caller reads. The HTTP statuses are in app/handlers/api.py, the MCP
results in app/mcp/kernel.py.
"""

from __future__ import annotations

from typing import ClassVar


class ToolError(Exception):
    """A tool call that produced no result; `field`, when set, names the argument at fault."""

    code: ClassVar[str] = "tool_error"
    field: str | None = None


class UnknownTool(ToolError):
    """No tool by that name."""

    code = "unknown_tool"

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown tool: {name}")
        self.name = name


class ToolInputError(ToolError):
    """The arguments do not satisfy the input schema or the tool's own checks; `field` names the culprit
    ("" for the arguments as a whole) and `message` says what is wrong with it."""

    code = "invalid_arguments"
    heading = "Invalid arguments"
    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{self.heading}: {field or 'arguments'}: {message}")
        self.field = field
        self.message = message


class ToolRecordNotFound(ToolInputError):
    """Well-formed arguments naming a record the corpus does not hold: still a fault of one argument."""

    code = "not_found"
    heading = "Not found"


class ToolUnavailable(ToolError):
    """The database could not be reached during the call; trying again later may work."""

    code = "unavailable"

    def __init__(self) -> None:
        super().__init__("The database is unavailable; try again shortly")


class ToolFailed(ToolError):
    """The tool raised something unexpected: the traceback is logged, the caller gets a request id to quote."""

    code = "tool_failed"

    def __init__(self, name: str, request_id: str) -> None:
        super().__init__(f"The tool {name} failed; quote request id {request_id} when reporting it")
        self.request_id = request_id
