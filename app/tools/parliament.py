"""Parliament: bills."""

from __future__ import annotations

from typing import Any

from app.corpus import records, search
from app.tools.common import (
    CURSOR,
    DATE,
    LIMIT,
    NULLABLE_STR,
    READ_ONLY,
    date_range,
    inputs,
    object_schema,
    optional,
    page_schema,
    query_schema,
    run_get,
    run_search,
    text_arg,
)
from app.tools.registry import Tool, ToolContext

_BILL_FIELDS = {
    "number": {"type": "string"},
    "title": {"type": "string"},
    "registered_on": {"type": "string", "format": "date"},
    "status": {"type": "string"},
    "initiators": {"type": "array", "items": {"type": "string"}},
    "committee": NULLABLE_STR,
    "convocation": {"type": ["integer", "null"]},
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}


async def _search_bills(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    date_from, date_to = date_range(args)
    return await run_search(
        lambda: search.search_bills(
            ctx.db,
            args["query"],
            status=optional(args, "status"),
            date_from=date_from,
            date_to=date_to,
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_bill(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    number = text_arg(args, "number")
    return await run_get(lambda: records.get_bill(ctx.db, number))


TOOLS = [
    Tool(
        name="search_bills",
        title="Search Parliament bills",
        description="Full-text search of Verkhovna Rada bills (number, title, committee, summary), best first. "
        "Filter by status (part of it, e.g. прийнято) and registration date range.",
        input_schema=inputs(
            {
                "query": query_schema("words to find, or a bill number"),
                "status": {"type": "string", "minLength": 1, "maxLength": 100},
                "date_from": {**DATE, "description": "registered on or after, YYYY-MM-DD"},
                "date_to": {**DATE, "description": "registered on or before, YYYY-MM-DD"},
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            ["query"],
        ),
        output_schema=page_schema(
            object_schema({**_BILL_FIELDS, "rank": {"type": "number"}, "snippet": {"type": "string"}})
        ),
        run=_search_bills,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_bill",
        title="Read a bill",
        description="One Verkhovna Rada bill by its registration number, with its summary.",
        input_schema=inputs({"number": {"type": "string", "minLength": 1, "maxLength": 50}}, ["number"]),
        output_schema=object_schema({**_BILL_FIELDS, "summary": {"type": "string"}}),
        run=_get_bill,
        annotations=READ_ONLY,
    ),
]
