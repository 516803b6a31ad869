"""Court decisions of the Unified State Register (ЄДРСР): search with a lawyer's filters, one decision, the chain
of a case, statistics, and the courts' dictionary. Every decision carries its official review URL."""

from __future__ import annotations

from typing import Any

from app.corpus.edrsr import queries
from app.corpus.records import DEFAULT_MAX_CHARS
from app.tools.common import (
    CURSOR,
    DATE,
    LIMIT,
    MAX_CHARS,
    NULLABLE_DATE,
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
from app.tools.errors import ToolInputError
from app.tools.registry import Tool, ToolContext

_NULLABLE_INT = {"type": ["integer", "null"]}
_DECISION_FIELDS = {
    "doc_id": {"type": "integer"},
    "case_number": {"type": "string", "description": "the case number (cause_num), e.g. 910/4312/23"},
    "court_code": {"type": "string"},
    "court": {"type": "string"},
    "region": NULLABLE_STR,
    "instance": {**NULLABLE_STR, "description": "Перша, Апеляційна or Касаційна"},
    "judgment_code": _NULLABLE_INT,
    "judgment_form": {"type": "string", "description": "Рішення, Постанова, Ухвала, Вирок, ..."},
    "justice_kind_code": _NULLABLE_INT,
    "justice_kind": {**NULLABLE_STR, "description": "Цивільне, Кримінальне, Господарське, ..."},
    "category_code": _NULLABLE_INT,
    "category": NULLABLE_STR,
    "judge": NULLABLE_STR,
    "adjudication_date": {"type": "string", "format": "date"},
    "receipt_date": NULLABLE_DATE,
    "date_publ": NULLABLE_DATE,
    "text_url": {**NULLABLE_STR, "description": "the register's text file (RTF), when published"},
    "url": {"type": "string", "description": "the decision's page in the register"},
    "demo": {"type": "boolean"},
    "has_text": {"type": "boolean"},
}
_HIT = object_schema(
    {**_DECISION_FIELDS, "rank": {"type": "number"}, "snippet": {"type": "string", "description": "matches in **"}}
)
_CASE_DOCUMENT = object_schema(
    {k: _DECISION_FIELDS[k] for k in ("doc_id", "adjudication_date", "court", "instance", "judgment_form", "url")}
)
_CODE_OR_WORDS = {"type": "string", "minLength": 1, "maxLength": 300}
_INSTANCE = {
    "type": "string",
    "enum": list(queries.INSTANCES),
    "description": "first (Перша), appeal (Апеляційна) or cassation (Касаційна) instance",
}
_FILTERS = {
    "court": {**_CODE_OR_WORDS, "description": "a court's code (list_courts) or part of its name"},
    "region": {**_CODE_OR_WORDS, "description": "a region's code or part of its name, e.g. Львівська"},
    "instance": _INSTANCE,
    "justice_kind": {
        **_CODE_OR_WORDS,
        "description": "kind of justice: code, Ukrainian name, or one of " + ", ".join(queries.JUSTICE_KINDS),
    },
    "judgment_form": {**_CODE_OR_WORDS, "description": "form: code or name, e.g. Постанова, Ухвала, Вирок"},
    "category": {**_CODE_OR_WORDS, "description": "cause category: code or words of its name"},
    "judge": {**_CODE_OR_WORDS, "description": "judge's surname (with initials if known), e.g. Довжанин"},
    "cause_num": {**_CODE_OR_WORDS, "maxLength": 100, "description": "exact case number, e.g. 910/4312/23"},
    "date_from": {**DATE, "description": "earliest adjudication date, YYYY-MM-DD"},
    "date_to": {**DATE, "description": "latest adjudication date, YYYY-MM-DD"},
    "supreme_court": {"type": "boolean", "description": "only the Supreme Court (its cassation courts and chambers)"},
}


def _filters(args: dict[str, Any]) -> queries.Filters:
    date_from, date_to = date_range(args)
    return queries.Filters(
        court=optional(args, "court"),
        region=optional(args, "region"),
        instance=args.get("instance"),
        justice_kind=optional(args, "justice_kind"),
        judgment_form=optional(args, "judgment_form"),
        category=optional(args, "category"),
        judge=optional(args, "judge"),
        cause_num=optional(args, "cause_num"),
        date_from=date_from,
        date_to=date_to,
        supreme_court=bool(args.get("supreme_court")),
    )


async def _search_court_cases(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(args)
    query = optional(args, "query")
    if query is None and not filters.scope():
        raise ToolInputError("query", "give words to search for, or at least one filter")
    return await run_search(
        lambda: queries.search_court_decisions(
            ctx.db,
            query,
            filters,
            sort=args.get("sort", "relevance"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_court_decision(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_get(
        lambda: queries.get_court_decision(
            ctx.db, args["doc_id"], offset=args.get("offset", 0), max_chars=args.get("max_chars", DEFAULT_MAX_CHARS)
        )
    )


async def _get_case_decisions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await queries.get_case_decisions(ctx.db, text_arg(args, "case_number"))


async def _court_statistics(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(args)
    result = await queries.court_statistics(ctx.db, args["by"], filters, limit=args.get("limit", 50))
    return {**result, "filters": {k: str(v) for k, v in filters.scope().items()}}


async def _list_courts(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await queries.list_courts(
        ctx.db,
        query=optional(args, "query"),
        region=optional(args, "region"),
        instance=args.get("instance"),
        limit=args.get("limit", 50),
    )


_DECISION_OUT = object_schema(
    {
        **_DECISION_FIELDS,
        "text_status": {"type": "string", "description": "loaded, or why the text is not here"},
        **TEXT_WINDOW,
        "case_documents": {"type": "array", "items": _CASE_DOCUMENT, "description": "the case's other documents"},
    },
    [*_DECISION_FIELDS, "text_status", *WINDOW_REQUIRED, "case_documents"],
)
_CHAIN_ITEM = object_schema({**_DECISION_FIELDS, "latest": {"type": "boolean"}})

TOOLS = [
    Tool(
        name="search_court_cases",
        title="Search court decisions",
        description=(
            "Search the Unified State Register of Court Decisions (ЄДРСР) as a lawyer does: words anywhere in a "
            'decision, its text, case number, category, court and judge together (any inflection; `"phrase"` word '
            "for word, `-word` excludes, `OR` accepts either), plus filters: court (code or name), region, instance "
            "(first/appeal/cassation), justice_kind, judgment_form, category (code or words), judge, cause_num, "
            "adjudication date range, supreme_court. Best matches first, or newest first with sort=date (the "
            "order without words). Each hit names court, instance, form, kind, category and date in words and "
            "links the register's page. With more than 500 matches, relevance ranks the 500 most recent: narrow "
            "by date to reach older ones. Page on with next_cursor."
        ),
        input_schema=inputs(
            {
                "query": query_schema("words to find, e.g. стягнення заборгованості за договором поставки"),
                **_FILTERS,
                "sort": {"type": "string", "enum": list(queries.SORTS), "default": "relevance"},
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            [],
        ),
        output_schema=page_schema(_HIT),
        run=_search_court_cases,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_court_decision",
        title="Read a court decision",
        description="One decision by its register id (doc_id): court, instance, form, kind, category and date in "
        "words, its text in windows (call again with offset=next_offset to read on), and the other documents of "
        "the same case.",
        input_schema=inputs(
            {
                "doc_id": {"type": "integer", "minimum": 1, "description": "register document id"},
                "offset": OFFSET,
                "max_chars": MAX_CHARS,
            },
            ["doc_id"],
        ),
        output_schema=_DECISION_OUT,
        run=_get_court_decision,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_case_decisions",
        title="The decisions of one case",
        description="The chain of one case (case number) across instances: every document oldest first, also "
        "grouped by instance in the order the case reached them (first instance, appeal, cassation), the latest "
        "decision marked.",
        input_schema=inputs(
            {
                "case_number": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "case number, e.g. 910/4312/23",
                }
            },
            ["case_number"],
        ),
        output_schema=object_schema(
            {
                "case_number": {"type": "string"},
                "count": {"type": "integer"},
                "latest_doc_id": _NULLABLE_INT,
                "instances": {
                    "type": "array",
                    "items": object_schema(
                        {"instance": {"type": "string"}, "decisions": {"type": "array", "items": _CHAIN_ITEM}}
                    ),
                },
                "decisions": {"type": "array", "items": _CHAIN_ITEM},
            }
        ),
        run=_get_case_decisions,
        annotations=READ_ONLY,
    ),
    Tool(
        name="court_statistics",
        title="Court decision statistics",
        description="How many decisions match the filters, counted by year, court, region, instance, form, "
        'justice_kind or category (largest groups first; years in order): "how often do courts ...". '
        "Counted from the metadata indexes, not the texts.",
        input_schema=inputs(
            {
                "by": {"type": "string", "enum": list(queries.GROUPS), "description": "what to count by"},
                **_FILTERS,
                "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50, "description": "groups"},
            },
            ["by"],
        ),
        output_schema=object_schema(
            {
                "by": {"type": "string"},
                "total": {"type": "integer"},
                "group_count": {"type": "integer"},
                "groups": {
                    "type": "array",
                    "items": object_schema({"code": NULLABLE_STR, "name": NULLABLE_STR, "count": {"type": "integer"}}),
                },
                "truncated": {"type": "boolean"},
                "filters": {"type": "object"},
            }
        ),
        run=_court_statistics,
        annotations=READ_ONLY,
    ),
    Tool(
        name="list_courts",
        title="Courts of the register",
        description="The register's courts with their codes (for the court filter), by part of the name, region "
        "and instance.",
        input_schema=inputs(
            {
                "query": {**_CODE_OR_WORDS, "description": "part of the court's name, or its code"},
                "region": {**_CODE_OR_WORDS, "description": "a region's code or part of its name"},
                "instance": _INSTANCE,
                "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
            },
            [],
        ),
        output_schema=object_schema(
            {
                "count": {"type": "integer"},
                "courts": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "court_code": {"type": "string"},
                            "name": {"type": "string"},
                            "instance": NULLABLE_STR,
                            "region": NULLABLE_STR,
                            "instance_code": _NULLABLE_INT,
                            "region_code": _NULLABLE_INT,
                        }
                    ),
                },
                "truncated": {"type": "boolean"},
            }
        ),
        run=_list_courts,
        annotations=READ_ONLY,
    ),
]
