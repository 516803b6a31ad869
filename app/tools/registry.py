"""The tool registry: a tool is declared once and served over MCP (tools/list, tools/call) and REST."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema
from jsonschema import Draft202012Validator

from app.auth.bearer import Principal
from app.config import Settings
from app.db import UNAVAILABLE, Database
from app.tools.errors import ToolError, ToolFailed, ToolInputError, ToolUnavailable, UnknownTool

log = logging.getLogger("secondlayer.tools")

# The syslog severities (RFC 5424) an MCP log notification may carry.
LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


@dataclass
class ToolContext:
    """What a tool runs with: the database, settings, the caller, and the request id for logs."""

    db: Database
    settings: Settings
    principal: Principal | None
    request_id: str = "-"
    # Set by the MCP transport: progress and log notifications to the calling client (REST leaves them None).
    progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None
    log: Callable[[LogLevel, Any], Awaitable[None]] | None = None

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Tell an MCP client how far a long tool call has got; a no-op over REST."""
        if self.progress is not None:
            await self.progress(progress, total, message)

    async def notify_log(self, level: LogLevel, data: Any) -> None:
        """Send an MCP log notification (`info`, `warning`, ...) to the caller; a no-op over REST."""
        if self.log is not None:
            await self.log(level, data)


ToolFunction = Callable[[ToolContext, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Tool:
    """One tool: its schemas and `run`, its own function. Transports use `call`, never `run` directly."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    run: ToolFunction
    annotations: dict[str, Any] = field(default_factory=lambda: {"readOnlyHint": True, "openWorldHint": False})

    def validate(self, arguments: Any) -> dict[str, Any]:
        """The arguments if they satisfy the input schema; else ToolInputError naming the first bad field."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise ToolInputError("", "arguments must be a JSON object")
        if not arguments and _accepts_empty(self.input_schema):
            return {}  # what the checks below make of {} when the schema takes it, known once per schema
        errors = sorted(_validator(self.input_schema).iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            raise ToolInputError(_field_of(errors[0]), errors[0].message)
        _check_text(arguments, "")
        validated: dict[str, Any] = _as_integers(self.input_schema, arguments)  # a dict stays a dict
        return validated

    async def call(self, arguments: Any, ctx: ToolContext) -> dict[str, Any]:
        """The one tool-call path, for REST and MCP alike: validate, run, and turn every failure into a
        ToolError (app/tools/errors.py), so both transports answer from the same outcome."""
        valid = self.validate(arguments)
        try:
            return await self.run(ctx, valid)
        except ToolError:
            raise
        except UNAVAILABLE:
            log.warning("tool %s: database unavailable (request %s)", self.name, ctx.request_id)
            raise ToolUnavailable() from None
        except Exception:
            # The traceback stays in our log; the caller gets a request id it can quote to us.
            log.exception(
                "tool %s failed (request %s)", self.name, ctx.request_id, extra={"request_id": ctx.request_id}
            )
            raise ToolFailed(self.name, ctx.request_id) from None


def _as_integers(schema: dict[str, Any], value: Any) -> Any:
    """`value` with every float the schema declares an integer made an int: JSON Schema counts 3.0 as the
    integer 3, and a tool slicing text or paging by it must get 3."""
    kind = schema.get("type")
    if isinstance(value, float) and (
        kind == "integer" or (isinstance(kind, list) and "integer" in kind and "number" not in kind)
    ):
        return int(value)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties = schema["properties"]
        return {
            k: _as_integers(properties[k], v) if isinstance(properties.get(k), dict) else v for k, v in value.items()
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_as_integers(schema["items"], item) for item in value]
    return value


def _check_text(value: Any, path: str) -> None:
    """ToolInputError for a string no tool can pass on: PostgreSQL text holds no NUL character, and a lone
    surrogate (legal as a JSON escape) is not Unicode text, so neither can be stored, searched or encoded."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ToolInputError(path, "must not contain a NUL character (U+0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            unpaired = ord(value[exc.start])
            raise ToolInputError(path, f"must be Unicode text: unpaired surrogate U+{unpaired:04X}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(item, ".".join(filter(None, [path, str(key)])))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, ".".join(filter(None, [path, str(index)])))


def _field_of(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(error.validator_value, list):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return ".".join(filter(None, [path, missing[0]]))
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        allowed = set(error.schema.get("properties", {}))
        extra = [name for name in error.instance if name not in allowed]
        if extra:
            return ".".join(filter(None, [path, extra[0]]))
    return path


_validators: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    key = id(schema)
    if key not in _validators:
        Draft202012Validator.check_schema(schema)
        _validators[key] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _validators[key]


_empty_accepted: dict[int, bool] = {}


def _accepts_empty(schema: dict[str, Any]) -> bool:
    """Whether `schema` takes {} (no arguments): asked of the validator once per schema."""
    key = id(schema)
    found = _empty_accepted.get(key)
    if found is None:
        found = _empty_accepted[key] = next(_validator(schema).iter_errors({}), None) is None
    return found


class ToolRegistry:
    """Tools by name, in declaration order."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        # Bumped by every add(): what is computed from the whole registry (the MCP tool list, its serialised
        # form) is computed once per revision.
        self.revision = 0
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name} declared twice")
        _validator(tool.input_schema)
        Draft202012Validator.check_schema(tool.output_schema)
        self._tools[tool.name] = tool
        self.revision += 1

    def get(self, name: str) -> Tool:
        """The tool named `name`; UnknownTool if there is none."""
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(name) from None

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    async def call(self, name: str, arguments: Any, ctx: ToolContext) -> dict[str, Any]:
        """`Tool.call` on the tool named `name`: the structured result, or a ToolError."""
        return await self.get(name).call(arguments, ctx)


def default_registry() -> ToolRegistry:
    """Every tool the product serves."""
    from app.tools import chatgpt, companies, courts, legislation, parliament, server_info, sources

    registry = ToolRegistry()
    for module in (server_info, sources, courts, legislation, parliament, companies, chatgpt):
        for tool in module.TOOLS:
            registry.add(tool)
    return registry
