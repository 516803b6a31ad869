"""The legal tools over the corpus: court decisions, legislation, bills, companies, and ChatGPT's search/fetch.

Every tool is read-only. The JSON Schemas carry the rules they can express (lengths, ranges, patterns,
enums, dates); the rest (an empty query after cleaning, a date range backwards, a check digit, a cursor
from another search) raise ToolInputError naming the argument, and a record that does not exist raises
ToolRecordNotFound naming it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from app.corpus import records, search
from app.corpus.edrpou import EdrpouError, validate_edrpou
from app.corpus.records import RecordNotFound
from app.corpus.search import CursorError, Page
from app.corpus.text import QueryError
from app.tools.errors import ToolInputError, ToolRecordNotFound
from app.tools.registry import Tool, ToolContext

MAX_QUERY = 500


# ---- schema pieces ----------------------------------------------------------------------------------


def _query(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": MAX_QUERY, "description": description}


_LIMIT = {"type": "integer", "minimum": 1, "maximum": 50, "default": 10, "description": "results per page (1-50)"}
_CURSOR = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "description": "next_cursor of the previous page, to read on; pass the same query and filters",
}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_OFFSET = {
    "type": "integer",
    "minimum": 0,
    "default": 0,
    "description": "character offset to read the text from (next_offset of the previous call)",
}
_MAX_CHARS = {
    "type": "integer",
    "minimum": 500,
    "maximum": records.MAX_CHARS,
    "default": records.DEFAULT_MAX_CHARS,
    "description": "largest number of characters of text to return",
}
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
_TEXT_WINDOW = {
    "text": {"type": "string"},
    "text_offset": {"type": "integer"},
    "text_length": {"type": "integer"},
    "truncated": {"type": "boolean"},
    "next_offset": {"type": ["integer", "null"], "description": "pass as offset to read on; null at the end"},
}
_WINDOW_REQUIRED = ["text", "text_offset", "text_length", "truncated", "next_offset"]


def _inputs(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def _page_schema(item: dict[str, Any]) -> dict[str, Any]:
    return _object(
        {
            "results": {"type": "array", "items": item},
            "next_cursor": {"type": ["string", "null"], "description": "pass as cursor for the next page"},
        }
    )


_COURT_ITEM = _object(
    {
        "doc_id": {"type": "integer"},
        "case_number": {"type": "string"},
        "court": {"type": "string"},
        "judge": _NULLABLE_STR,
        "judgment_form": {"type": "string"},
        "proceeding_kind": {"type": "string"},
        "proceeding_kind_label": {"type": "string"},
        "category": _NULLABLE_STR,
        "adjudication_date": {"type": "string", "format": "date"},
        "url": {"type": "string"},
        "demo": {"type": "boolean"},
        "rank": {"type": "number"},
        "snippet": {"type": "string", "description": "matches marked with **"},
    }
)
_DECISION = _object(
    {k: v for k, v in _COURT_ITEM["properties"].items() if k not in ("rank", "snippet", "proceeding_kind_label")}
)
_ACT_FIELDS = {
    "reg_number": {"type": "string"},
    "title": {"type": "string"},
    "kind": {"type": "string"},
    "adopted_on": _NULLABLE_DATE,
    "effective_on": _NULLABLE_DATE,
    "status": {"type": "string"},
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}
_BILL_FIELDS = {
    "number": {"type": "string"},
    "title": {"type": "string"},
    "registered_on": {"type": "string", "format": "date"},
    "status": {"type": "string"},
    "initiators": {"type": "array", "items": {"type": "string"}},
    "committee": _NULLABLE_STR,
    "convocation": {"type": ["integer", "null"]},
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}
_COMPANY_FIELDS = {
    "edrpou": {"type": "string", "pattern": r"^\d{8}$"},
    "name": {"type": "string"},
    "short_name": _NULLABLE_STR,
    "status": {"type": "string"},
    "address": _NULLABLE_STR,
    "head": _NULLABLE_STR,
    "registered_on": _NULLABLE_DATE,
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}


# ---- argument checks the schemas cannot express ------------------------------------------------------


def _date_range(args: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
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


def _optional(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    return value.strip() or None if isinstance(value, str) else None


async def _run_search(call: Callable[[], Awaitable[Page]]) -> dict[str, Any]:
    try:
        page = await call()
    except QueryError as exc:
        raise ToolInputError("query", str(exc)) from None
    except CursorError as exc:
        raise ToolInputError("cursor", str(exc)) from None
    return {"results": page.results, "next_cursor": page.next_cursor}


async def _run_get(call: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    try:
        return await call()
    except RecordNotFound as exc:
        raise ToolRecordNotFound(exc.field, exc.message) from None


def _text_arg(args: dict[str, Any], name: str) -> str:
    value = str(args[name]).strip()
    if not value:
        raise ToolInputError(name, "must not be blank")
    return value


# ---- court decisions ----------------------------------------------------------------------------------


async def _search_court_cases(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    date_from, date_to = _date_range(args)
    return await _run_search(
        lambda: search.search_court_decisions(
            ctx.db,
            args["query"],
            court=_optional(args, "court"),
            date_from=date_from,
            date_to=date_to,
            proceeding_kind=args.get("proceeding_kind"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_court_decision(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await _run_get(
        lambda: records.get_court_decision(
            ctx.db,
            args["doc_id"],
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS),
        )
    )


async def _get_case_decisions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    case_number = _text_arg(args, "case_number")
    decisions = await records.get_case_decisions(ctx.db, case_number)
    return {"case_number": " ".join(case_number.split()), "count": len(decisions), "decisions": decisions}


# ---- legislation ----------------------------------------------------------------------------------------


async def _search_legislation(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await _run_search(
        lambda: search.search_legislation(
            ctx.db,
            args["query"],
            kind=_optional(args, "kind"),
            status=_optional(args, "status"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_legislation(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    reg_number = _text_arg(args, "reg_number")
    return await _run_get(
        lambda: records.get_legislation(
            ctx.db, reg_number, offset=args.get("offset", 0), max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS)
        )
    )


async def _get_legislation_article(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    reg_number = _text_arg(args, "reg_number")
    article = _text_arg(args, "article")
    return await _run_get(
        lambda: records.get_legislation_article(
            ctx.db,
            reg_number,
            article,
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS),
        )
    )


# ---- bills and companies ---------------------------------------------------------------------------------


async def _search_bills(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    date_from, date_to = _date_range(args)
    return await _run_search(
        lambda: search.search_bills(
            ctx.db,
            args["query"],
            status=_optional(args, "status"),
            date_from=date_from,
            date_to=date_to,
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_bill(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    number = _text_arg(args, "number")
    return await _run_get(lambda: records.get_bill(ctx.db, number))


async def _search_companies(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await _run_search(
        lambda: search.search_companies(
            ctx.db,
            args["query"],
            status=_optional(args, "status"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_company(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        edrpou = validate_edrpou(args["edrpou"])
    except EdrpouError as exc:
        raise ToolInputError("edrpou", str(exc)) from None
    return await _run_get(lambda: records.get_company(ctx.db, edrpou))


# ---- ChatGPT's search and fetch ---------------------------------------------------------------------------


async def _search(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        results = await search.search_everything(ctx.db, args["query"])
    except QueryError as exc:
        raise ToolInputError("query", str(exc)) from None
    return {"results": results}


async def _fetch(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    document_id = _text_arg(args, "id")
    kind = document_id.partition(":")[0]
    if kind not in records.FETCH_KINDS:
        raise ToolInputError(
            "id", f"unknown kind {kind!r}: ids look like " + ", ".join(f"{k}:<key>" for k in records.FETCH_KINDS)
        )
    if kind == "company":
        try:
            validate_edrpou(document_id.partition(":")[2].strip())
        except EdrpouError as exc:
            raise ToolInputError("id", str(exc)) from None
    return await _run_get(
        lambda: records.fetch_document(
            ctx.db,
            document_id,
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS),
        )
    )


# ---- declarations ------------------------------------------------------------------------------------------

_READ_ONLY = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False}

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
        input_schema=_inputs(
            {
                "query": _query("words to find, e.g. стягнення заборгованості за договором поставки, or a case number"),
                "court": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 300,
                    "description": "only courts whose name contains this, e.g. Верховний Суд",
                },
                "date_from": {**_DATE, "description": "earliest adjudication date, YYYY-MM-DD"},
                "date_to": {**_DATE, "description": "latest adjudication date, YYYY-MM-DD"},
                "proceeding_kind": {
                    "type": "string",
                    "enum": list(search.PROCEEDING_KINDS),
                    "description": "kind of proceedings: "
                    + ", ".join(f"{k} ({v})" for k, v in search.PROCEEDING_KINDS.items()),
                },
                "limit": _LIMIT,
                "cursor": _CURSOR,
            },
            ["query"],
        ),
        output_schema=_page_schema(_COURT_ITEM),
        run=_search_court_cases,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="get_court_decision",
        title="Read a court decision",
        description="One court decision by its registry document id, with its text; long texts come in windows: "
        "call again with offset=next_offset to read on.",
        input_schema=_inputs(
            {
                "doc_id": {"type": "integer", "minimum": 1, "description": "registry document id"},
                "offset": _OFFSET,
                "max_chars": _MAX_CHARS,
            },
            ["doc_id"],
        ),
        output_schema=_object({**_DECISION["properties"], **_TEXT_WINDOW}, _DECISION["required"] + _WINDOW_REQUIRED),
        run=_get_court_decision,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="get_case_decisions",
        title="Decisions in one case",
        description="Every decision in one case number (first instance, appeal, cassation), oldest first.",
        input_schema=_inputs(
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
        output_schema=_object(
            {
                "case_number": {"type": "string"},
                "count": {"type": "integer"},
                "decisions": {
                    "type": "array",
                    "items": _object({**_DECISION["properties"], "text_length": {"type": "integer"}}),
                },
            }
        ),
        run=_get_case_decisions,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="search_legislation",
        title="Search legislation",
        description="Full-text search of legislative acts and their articles (codes, laws, the Constitution), "
        "best matches first, with snippets. Filter by kind of act (Кодекс, Закон, ...) and status "
        "(чинний, втратив чинність).",
        input_schema=_inputs(
            {
                "query": _query("words to find, e.g. позовна давність"),
                "kind": {"type": "string", "minLength": 1, "maxLength": 100, "description": "kind of act, e.g. Кодекс"},
                "status": {"type": "string", "minLength": 1, "maxLength": 100, "description": "e.g. чинний"},
                "limit": _LIMIT,
                "cursor": _CURSOR,
            },
            ["query"],
        ),
        output_schema=_page_schema(
            _object(
                {
                    "type": {"type": "string", "enum": ["act", "article"]},
                    "reg_number": {"type": "string"},
                    "title": {"type": "string"},
                    "kind": {"type": "string"},
                    "status": {"type": "string"},
                    "number": {"type": "string", "description": "article number (articles only)"},
                    "heading": _NULLABLE_STR,
                    "url": {"type": "string"},
                    "demo": {"type": "boolean"},
                    "rank": {"type": "number"},
                    "snippet": {"type": "string"},
                },
                ["type", "reg_number", "title", "kind", "status", "url", "rank", "snippet"],
            )
        ),
        run=_search_legislation,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="get_legislation",
        title="Read a legislative act",
        description="A legislative act by registration number (e.g. 254к/96-ВР, 435-IV): its details, text "
        "(preamble) and table of articles. Read an article with get_legislation_article.",
        input_schema=_inputs(
            {
                "reg_number": {"type": "string", "minLength": 1, "maxLength": 100},
                "offset": _OFFSET,
                "max_chars": _MAX_CHARS,
            },
            ["reg_number"],
        ),
        output_schema=_object(
            {
                **_ACT_FIELDS,
                **_TEXT_WINDOW,
                "articles": {
                    "type": "array",
                    "items": _object({"number": {"type": "string"}, "heading": _NULLABLE_STR}),
                },
            }
        ),
        run=_get_legislation,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="get_legislation_article",
        title="Read an article of an act",
        description="One article of a legislative act, e.g. reg_number 435-IV, article 256.",
        input_schema=_inputs(
            {
                "reg_number": {"type": "string", "minLength": 1, "maxLength": 100},
                "article": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 50,
                    "description": "article number, e.g. 55 or 16-1",
                },
                "offset": _OFFSET,
                "max_chars": _MAX_CHARS,
            },
            ["reg_number", "article"],
        ),
        output_schema=_object(
            {
                "reg_number": {"type": "string"},
                "act_title": {"type": "string"},
                "act_status": {"type": "string"},
                "number": {"type": "string"},
                "heading": _NULLABLE_STR,
                "previous_number": _NULLABLE_STR,
                "next_number": _NULLABLE_STR,
                "url": {"type": "string"},
                "demo": {"type": "boolean"},
                **_TEXT_WINDOW,
            }
        ),
        run=_get_legislation_article,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="search_bills",
        title="Search Parliament bills",
        description="Full-text search of Verkhovna Rada bills (number, title, committee, summary), best first. "
        "Filter by status (part of it, e.g. прийнято) and registration date range.",
        input_schema=_inputs(
            {
                "query": _query("words to find, or a bill number"),
                "status": {"type": "string", "minLength": 1, "maxLength": 100},
                "date_from": {**_DATE, "description": "registered on or after, YYYY-MM-DD"},
                "date_to": {**_DATE, "description": "registered on or before, YYYY-MM-DD"},
                "limit": _LIMIT,
                "cursor": _CURSOR,
            },
            ["query"],
        ),
        output_schema=_page_schema(
            _object({**_BILL_FIELDS, "rank": {"type": "number"}, "snippet": {"type": "string"}})
        ),
        run=_search_bills,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="get_bill",
        title="Read a bill",
        description="One Verkhovna Rada bill by its registration number, with its summary.",
        input_schema=_inputs({"number": {"type": "string", "minLength": 1, "maxLength": 50}}, ["number"]),
        output_schema=_object({**_BILL_FIELDS, "summary": {"type": "string"}}),
        run=_get_bill,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="search_companies",
        title="Search companies",
        description="Search the state register of legal entities by name, EDRPOU code, head, address or "
        "activity, best first. Filter by status (e.g. зареєстровано, припинено).",
        input_schema=_inputs(
            {
                "query": _query("name, EDRPOU code, head, address or activity"),
                "status": {"type": "string", "minLength": 1, "maxLength": 100},
                "limit": _LIMIT,
                "cursor": _CURSOR,
            },
            ["query"],
        ),
        output_schema=_page_schema(
            _object({**_COMPANY_FIELDS, "rank": {"type": "number"}, "snippet": {"type": "string"}})
        ),
        run=_search_companies,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="get_company",
        title="Read a company record",
        description="A legal entity by its EDRPOU code (8 digits; the check digit is verified).",
        input_schema=_inputs(
            {"edrpou": {"type": "string", "pattern": r"^[0-9]{8}$", "description": "EDRPOU code, 8 digits"}}, ["edrpou"]
        ),
        output_schema=_object(
            {
                **_COMPANY_FIELDS,
                "activities": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "name": {"type": "string"},
                            "primary": {"type": "boolean"},
                        },
                    },
                },
            }
        ),
        run=_get_company,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="search",
        title="Search everything",
        description="Search court decisions, legislation, bills and companies at once. Returns ids to pass to "
        "`fetch`, with titles and the URL to cite.",
        input_schema=_inputs({"query": _query("what to look for")}, ["query"]),
        output_schema=_object(
            {
                "results": {
                    "type": "array",
                    "items": _object(
                        {
                            "id": {"type": "string"},
                            "title": {"type": "string"},
                            "url": {"type": "string", "minLength": 1},
                        }
                    ),
                }
            }
        ),
        run=_search,
        annotations=_READ_ONLY,
    ),
    Tool(
        name="fetch",
        title="Fetch a document",
        description="The full text of a result of `search` by its id (court:<doc id>, act:<registration number>, "
        "article:<registration number>:<article>, bill:<number>, company:<EDRPOU>). Long texts come "
        "in windows: call again with offset=metadata.next_offset.",
        input_schema=_inputs(
            {"id": {"type": "string", "minLength": 3, "maxLength": 200}, "offset": _OFFSET, "max_chars": _MAX_CHARS},
            ["id"],
        ),
        output_schema=_object(
            {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "text": {"type": "string"},
                "url": {"type": "string", "minLength": 1},
                "metadata": {"type": "object"},
            }
        ),
        run=_fetch,
        annotations=_READ_ONLY,
    ),
]
