"""What the legal tool families share: JSON Schema pieces, argument checks the schemas cannot express, and
the two ways a search or a read ends (a page, or a record not found).

Every tool is read-only. The JSON Schemas carry the rules they can express (lengths, ranges, patterns, enums,
dates); the rest (an empty query after cleaning, a date range backwards, a check digit, a cursor from another
search) raise ToolInputError naming the argument, and a record that does not exist raises ToolRecordNotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from app.corpus import records
from app.corpus.records import RecordNotFound
from app.corpus.search import CursorError, Page
from app.corpus.text import QueryError
from app.tools.errors import ToolInputError, ToolRecordNotFound

MAX_QUERY = 500


# ---- schema pieces ----------------------------------------------------------------------------------


def query_schema(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": MAX_QUERY, "description": description}


LIMIT = {"type": "integer", "minimum": 1, "maximum": 50, "default": 10, "description": "results per page (1-50)"}
CURSOR = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "description": "next_cursor of the previous page, to read on; pass the same query and filters",
}
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
OFFSET = {
    "type": "integer",
    "minimum": 0,
    "default": 0,
    "description": "character offset to read the text from (next_offset of the previous call)",
}
MAX_CHARS = {
    "type": "integer",
    "minimum": 500,
    "maximum": records.MAX_CHARS,
    "default": records.DEFAULT_MAX_CHARS,
    "description": "largest number of characters of text to return",
}
NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
TEXT_WINDOW = {
    "text": {"type": "string"},
    "text_offset": {"type": "integer"},
    "text_length": {"type": "integer"},
    "truncated": {"type": "boolean"},
    "next_offset": {"type": ["integer", "null"], "description": "pass as offset to read on; null at the end"},
}
WINDOW_REQUIRED = ["text", "text_offset", "text_length", "truncated", "next_offset"]


def inputs(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def object_schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def page_schema(item: dict[str, Any]) -> dict[str, Any]:
    return object_schema(
        {
            "results": {"type": "array", "items": item},
            "next_cursor": {"type": ["string", "null"], "description": "pass as cursor for the next page"},
        }
    )


# ---- argument checks the schemas cannot express ------------------------------------------------------


def date_range(args: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    dates = []
    for name in ("date_from", "date_to"):
        value = args.get(name)
        try:
            dates.append(dt.date.fromisoformat(value) if value else None)
        except ValueError:
            raise ToolInputError(name, f"not a date (YYYY-MM-DD): {value!r}") from None
    if dates[0] and dates[1] and dates[0] > dates[1]:
        raise ToolInputError("date_to", "must not be earlier than date_from")
    return dates[0], dates[1]


def optional(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    return value.strip() or None if isinstance(value, str) else None


async def run_search(call: Callable[[], Awaitable[Page]]) -> dict[str, Any]:
    try:
        page = await call()
    except QueryError as exc:
        raise ToolInputError("query", str(exc)) from None
    except CursorError as exc:
        raise ToolInputError("cursor", str(exc)) from None
    return {"results": page.results, "next_cursor": page.next_cursor}


async def run_get(call: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    try:
        return await call()
    except RecordNotFound as exc:
        raise ToolRecordNotFound(exc.field, exc.message) from None


def text_arg(args: dict[str, Any], name: str) -> str:
    value = str(args[name]).strip()
    if not value:
        raise ToolInputError(name, "must not be blank")
    return value


# ---- declarations ------------------------------------------------------------------------------------------

READ_ONLY = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False}
