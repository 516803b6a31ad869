"""Court decisions (ЄДРСР): search, one decision, the decisions of one case."""

from __future__ import annotations

from typing import Any

from app.corpus import records, search
from app.tools.common import (
    CURSOR,
    DATE,
    LIMIT,
    MAX_CHARS,
    NULLABLE_STR,
    OFFSET,
    READ_ONLY,
    TEXT_WINDOW,
    WINDOW_REQUIRED,
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

_COURT_ITEM = object_schema(
    {
        "doc_id": {"type": "integer"},
        "case_number": {"type": "string"},
        "court": {"type": "string"},
        "judge": NULLABLE_STR,
        "judgment_form": {"type": "string"},
        "proceeding_kind": {"type": "string"},
        "proceeding_kind_label": {"type": "string"},
        "category": NULLABLE_STR,
        "adjudication_date": {"type": "string", "format": "date"},
        "url": {"type": "string"},
        "demo": {"type": "boolean"},
        "rank": {"type": "number"},
        "snippet": {"type": "string", "description": "matches marked with **"},
    }
)
_DECISION = object_schema(
    {k: v for k, v in _COURT_ITEM["properties"].items() if k not in ("rank", "snippet", "proceeding_kind_label")}
)


async def _search_court_cases(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    date_from, date_to = date_range(args)
    return await run_search(
        lambda: search.search_court_decisions(
            ctx.db,
            args["query"],
            court=optional(args, "court"),
            date_from=date_from,
            date_to=date_to,
            proceeding_kind=args.get("proceeding_kind"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_court_decision(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_get(
        lambda: records.get_court_decision(
            ctx.db,
            args["doc_id"],
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS),
        )
    )


async def _get_case_decisions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    case_number = text_arg(args, "case_number")
    decisions = await records.get_case_decisions(ctx.db, case_number)
    return {"case_number": " ".join(case_number.split()), "count": len(decisions), "decisions": decisions}


TOOLS = [
    Tool(
        name="search_court_cases",
        title="Search court decisions",
        description=(
            "Full-text search of Ukrainian court decisions (ЄДРСР), best matches first, with highlighted snippets. "
            'Words match in any inflection (договір finds договору, договором); `"quoted phrase"` matches '
            "word for word, `-word` excludes, `OR` between words accepts either. Filter by court (part of its "
            "name), adjudication date range and kind of proceedings. Page on with next_cursor. When more than "
            "500 decisions match, the best are ranked among the 500 most recent: add words or a date range to "
            "reach older ones."
        ),
        input_schema=inputs(
            {
                "query": query_schema(
                    "words to find, e.g. стягнення заборгованості за договором поставки, or a case number"
                ),
                "court": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 300,
                    "description": "only courts whose name contains this, e.g. Верховний Суд",
                },
                "date_from": {**DATE, "description": "earliest adjudication date, YYYY-MM-DD"},
                "date_to": {**DATE, "description": "latest adjudication date, YYYY-MM-DD"},
                "proceeding_kind": {
                    "type": "string",
                    "enum": list(search.PROCEEDING_KINDS),
                    "description": "kind of proceedings: "
                    + ", ".join(f"{k} ({v})" for k, v in search.PROCEEDING_KINDS.items()),
                },
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            ["query"],
        ),
        output_schema=page_schema(_COURT_ITEM),
        run=_search_court_cases,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_court_decision",
        title="Read a court decision",
        description="One court decision by its registry document id, with its text; long texts come in windows: "
        "call again with offset=next_offset to read on.",
        input_schema=inputs(
            {
                "doc_id": {"type": "integer", "minimum": 1, "description": "registry document id"},
                "offset": OFFSET,
                "max_chars": MAX_CHARS,
            },
            ["doc_id"],
        ),
        output_schema=object_schema(
            {**_DECISION["properties"], **TEXT_WINDOW}, _DECISION["required"] + WINDOW_REQUIRED
        ),
        run=_get_court_decision,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_case_decisions",
        title="Decisions in one case",
        description="Every decision in one case number (first instance, appeal, cassation), oldest first.",
        input_schema=inputs(
            {
                "case_number": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "case number, e.g. 910/1234/23",
                }
            },
            ["case_number"],
        ),
        output_schema=object_schema(
            {
                "case_number": {"type": "string"},
                "count": {"type": "integer"},
                "decisions": {
                    "type": "array",
                    "items": object_schema({**_DECISION["properties"], "text_length": {"type": "integer"}}),
                },
            }
        ),
        run=_get_case_decisions,
        annotations=READ_ONLY,
    ),
]
