"""Legislation: search, one act, one article."""

from __future__ import annotations

from typing import Any

from app.corpus import records, search
from app.tools.common import (
    CURSOR,
    LIMIT,
    MAX_CHARS,
    NULLABLE_DATE,
    NULLABLE_STR,
    OFFSET,
    READ_ONLY,
    TEXT_WINDOW,
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

_ACT_FIELDS = {
    "reg_number": {"type": "string"},
    "title": {"type": "string"},
    "kind": {"type": "string"},
    "adopted_on": NULLABLE_DATE,
    "effective_on": NULLABLE_DATE,
    "status": {"type": "string"},
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}


async def _search_legislation(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_search(
        lambda: search.search_legislation(
            ctx.db,
            args["query"],
            kind=optional(args, "kind"),
            status=optional(args, "status"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_legislation(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    reg_number = text_arg(args, "reg_number")
    return await run_get(
        lambda: records.get_legislation(
            ctx.db, reg_number, offset=args.get("offset", 0), max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS)
        )
    )


async def _get_legislation_article(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    reg_number = text_arg(args, "reg_number")
    article = text_arg(args, "article")
    return await run_get(
        lambda: records.get_legislation_article(
            ctx.db,
            reg_number,
            article,
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS),
        )
    )


TOOLS = [
    Tool(
        name="search_legislation",
        title="Search legislation",
        description="Full-text search of legislative acts and their articles (codes, laws, the Constitution), "
        "best matches first, with snippets. Filter by kind of act (Кодекс, Закон, ...) and status "
        "(чинний, втратив чинність).",
        input_schema=inputs(
            {
                "query": query_schema("words to find, e.g. позовна давність"),
                "kind": {"type": "string", "minLength": 1, "maxLength": 100, "description": "kind of act, e.g. Кодекс"},
                "status": {"type": "string", "minLength": 1, "maxLength": 100, "description": "e.g. чинний"},
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            ["query"],
        ),
        output_schema=page_schema(
            object_schema(
                {
                    "type": {"type": "string", "enum": ["act", "article"]},
                    "reg_number": {"type": "string"},
                    "title": {"type": "string"},
                    "kind": {"type": "string"},
                    "status": {"type": "string"},
                    "number": {"type": "string", "description": "article number (articles only)"},
                    "heading": NULLABLE_STR,
                    "url": {"type": "string"},
                    "demo": {"type": "boolean"},
                    "rank": {"type": "number"},
                    "snippet": {"type": "string"},
                },
                ["type", "reg_number", "title", "kind", "status", "url", "rank", "snippet"],
            )
        ),
        run=_search_legislation,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_legislation",
        title="Read a legislative act",
        description="A legislative act by registration number (e.g. 254к/96-ВР, 435-IV): its details, text "
        "(preamble) and table of articles. Read an article with get_legislation_article.",
        input_schema=inputs(
            {
                "reg_number": {"type": "string", "minLength": 1, "maxLength": 100},
                "offset": OFFSET,
                "max_chars": MAX_CHARS,
            },
            ["reg_number"],
        ),
        output_schema=object_schema(
            {
                **_ACT_FIELDS,
                **TEXT_WINDOW,
                "articles": {
                    "type": "array",
                    "items": object_schema({"number": {"type": "string"}, "heading": NULLABLE_STR}),
                },
            }
        ),
        run=_get_legislation,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_legislation_article",
        title="Read an article of an act",
        description="One article of a legislative act, e.g. reg_number 435-IV, article 256.",
        input_schema=inputs(
            {
                "reg_number": {"type": "string", "minLength": 1, "maxLength": 100},
                "article": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 50,
                    "description": "article number, e.g. 55 or 16-1",
                },
                "offset": OFFSET,
                "max_chars": MAX_CHARS,
            },
            ["reg_number", "article"],
        ),
        output_schema=object_schema(
            {
                "reg_number": {"type": "string"},
                "act_title": {"type": "string"},
                "act_status": {"type": "string"},
                "number": {"type": "string"},
                "heading": NULLABLE_STR,
                "previous_number": NULLABLE_STR,
                "next_number": NULLABLE_STR,
                "url": {"type": "string"},
                "demo": {"type": "boolean"},
                **TEXT_WINDOW,
            }
        ),
        run=_get_legislation_article,
        annotations=READ_ONLY,
    ),
]
