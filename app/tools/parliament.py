"""Parliament: bills with their passage and documents, deputies, factions and committees (Rada open data)."""

from __future__ import annotations

from typing import Any

from app.corpus.rada import queries
from app.tools.common import (
    CURSOR,
    DATE,
    LIMIT,
    NULLABLE_DATE,
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
from app.tools.errors import ToolInputError
from app.tools.registry import Tool, ToolContext

_CONVOCATION = {"type": "integer", "minimum": 1, "maximum": 20, "description": "convocation (скликання), e.g. 9"}
_NULLABLE_INT = {"type": ["integer", "null"]}
_FILTER = {"type": "string", "minLength": 1, "maxLength": 300}
_URL = {"type": "string", "minLength": 1, "description": "the official page to cite"}

_BILL_ITEM = object_schema(
    {
        "bill_id": {"type": "integer"},
        "number": {"type": "string"},
        "title": {"type": "string"},
        "convocation": {"type": "integer"},
        "registered_on": NULLABLE_DATE,
        "bill_type": NULLABLE_STR,
        "rubric": NULLABLE_STR,
        "phase": {**NULLABLE_STR, "description": "the current phase of the passage"},
        "phase_date": NULLABLE_DATE,
        "status": NULLABLE_STR,
        "lead_committee": NULLABLE_STR,
        "initiators": {"type": "array", "items": {"type": "string"}},
        "url": _URL,
        "demo": {"type": "boolean"},
        "rank": {"type": "number"},
        "snippet": {"type": "string"},
    }
)
_RELATED = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "id": _NULLABLE_INT,
            "number": NULLABLE_STR,
            "title": NULLABLE_STR,
            "registered_on": NULLABLE_DATE,
            "url": NULLABLE_STR,
        },
    },
}
_DOCUMENT = {
    "type": "object",
    "properties": {
        "kind_id": _NULLABLE_INT,
        "kind": NULLABLE_STR,
        "number": NULLABLE_STR,
        "date": NULLABLE_DATE,
        "url": NULLABLE_STR,
        "urls": {"type": "array", "items": {"type": "string"}},
    },
}
_BILL = object_schema(
    {
        **{k: v for k, v in _BILL_ITEM["properties"].items() if k not in ("rank", "snippet", "initiators")},
        "session": NULLABLE_STR,
        "subject": NULLABLE_STR,
        "co_executing_committees": {"type": "array", "items": {"type": "string"}},
        "initiators": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string", "description": "mp, inner, outter or official, as the feed says"},
                    "post": NULLABLE_STR,
                    "organization": NULLABLE_STR,
                    "person_id": _NULLABLE_INT,
                    "deputy": {
                        "type": ["object", "null"],
                        "description": "the deputy's record when loaded (get_deputy with its person_id)",
                    },
                },
                "required": ["name", "kind", "deputy"],
            },
        },
        "passage": {
            "type": "array",
            "items": {"type": "object", "properties": {"date": NULLABLE_DATE, "title": NULLABLE_STR}},
        },
        "documents": {"type": "array", "items": _DOCUMENT},
        "expert_conclusion": {
            "anyOf": [_DOCUMENT, {"type": "null"}],
            "description": "the Main Scientific-Expert Department's conclusion (document kind 100), if any",
        },
        "alternatives": _RELATED,
        "bound": _RELATED,
    }
)
_DEPUTY_ITEM = object_schema(
    {
        "person_id": {"type": "integer", "description": "pass to get_deputy"},
        "rada_id": {"type": "integer"},
        "convocation": {"type": "integer"},
        "name": {"type": "string"},
        "faction": NULLABLE_STR,
        "party_name": NULLABLE_STR,
        "region_name": NULLABLE_STR,
        "district_num": _NULLABLE_INT,
        "num_in_party": _NULLABLE_INT,
        "elected": {"type": "string"},
        "date_oath": NULLABLE_DATE,
        "resignation_date": NULLABLE_DATE,
        "serving": {"type": "boolean"},
        "url": _URL,
        "demo": {"type": "boolean"},
    }
)
_POSTS = {
    "type": "array",
    "items": object_schema({"body": {"type": "string"}, "body_id": {"type": "integer"}, "post": {"type": "string"}}),
}
_DEPUTY = object_schema(
    {
        "person_id": {"type": "integer"},
        "rada_id": {"type": "integer"},
        "convocation": {"type": "integer"},
        "name": {"type": "string"},
        "gender": NULLABLE_STR,
        "birthday": NULLABLE_DATE,
        "party": NULLABLE_STR,
        "faction": {"type": ["object", "null"]},
        "committees": _POSTS,
        "commissions": _POSTS,
        "other_posts": _POSTS,
        "interparliamentary_groups": {"type": "array", "items": {"type": "string"}},
        "elected": {"type": "string"},
        "district_num": _NULLABLE_INT,
        "region": NULLABLE_STR,
        "num_in_party": _NULLABLE_INT,
        "election_info": NULLABLE_STR,
        "date_oath": NULLABLE_DATE,
        "resignation_date": NULLABLE_DATE,
        "resignation_reason": NULLABLE_STR,
        "serving": {"type": "boolean"},
        "attendance": {"type": "object", "description": "counts as published (presentAuto_present, ...)"},
        "short_info": NULLABLE_STR,
        "photo": NULLABLE_STR,
        "other_records": {"type": "array"},
        "bills_initiated": {"type": "integer"},
        "bills": {"type": "array", "items": {"type": "object"}},
        "url": _URL,
        "demo": {"type": "boolean"},
    }
)
_BODY = object_schema(
    {
        "body_id": {"type": "integer"},
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "members": {"type": "integer", "description": "serving deputies holding a post in it"},
        "heads": {
            "type": "array",
            "items": object_schema(
                {"person_id": {"type": "integer"}, "name": {"type": "string"}, "post": {"type": "string"}, "url": _URL}
            ),
        },
        "url": _URL,
    }
)
_BODIES = {"type": "array", "items": _BODY}


def _integer(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _search_bills(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    date_from, date_to = date_range(args)
    query = optional(args, "query")
    filters = {k: optional(args, k) for k in ("status", "initiator", "lead_committee", "rubric")}
    convocation = _integer(args, "convocation")
    if query is None and not any(filters.values()) and convocation is None and not (date_from or date_to):
        raise ToolInputError("query", "give words to find or at least one filter")
    return await run_search(
        lambda: queries.search_bills(
            ctx.db,
            query,
            convocation=convocation,
            date_from=date_from,
            date_to=date_to,
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
            **filters,
        )
    )


async def _get_bill(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    number = text_arg(args, "number")
    return await run_get(lambda: queries.get_bill(ctx.db, number, convocation=_integer(args, "convocation")))


async def _search_deputies(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_search(
        lambda: queries.search_deputies(
            ctx.db,
            optional(args, "query"),
            convocation=_integer(args, "convocation"),
            faction=optional(args, "faction"),
            committee=optional(args, "committee"),
            region=optional(args, "region"),
            district=_integer(args, "district"),
            party=optional(args, "party"),
            include_former=args.get("include_former", True),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_deputy(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_get(
        lambda: queries.get_deputy(ctx.db, args["person_id"], convocation=_integer(args, "convocation"))
    )


async def _list_factions_and_committees(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_get(
        lambda: queries.list_factions_and_committees(
            ctx.db, _integer(args, "convocation"), include_subcommittees=args.get("include_subcommittees", False)
        )
    )


TOOLS = [
    Tool(
        name="search_bills",
        title="Search Parliament bills",
        description="Verkhovna Rada bills from its open data: words in the number and title (best first), or only "
        "filters (newest first). Filter by convocation, status or phase of the passage (part of it, e.g. прийнято), "
        "initiator (a deputy's name or id, or an institution such as Кабінет Міністрів), lead committee, rubric or "
        "subject, and registration date range. Each hit has its official card URL; read one with get_bill.",
        input_schema=inputs(
            {
                "query": query_schema("words to find, or a bill number"),
                "convocation": _CONVOCATION,
                "status": {**_FILTER, "description": "part of the current phase or status, e.g. прийнято в цілому"},
                "initiator": {**_FILTER, "description": "part of an initiator's name, or a deputy's person_id"},
                "lead_committee": {**_FILTER, "description": "part of the lead committee's name, e.g. правової"},
                "rubric": {**_FILTER, "description": "part of the rubric or subject"},
                "date_from": {**DATE, "description": "registered on or after, YYYY-MM-DD"},
                "date_to": {**DATE, "description": "registered on or before, YYYY-MM-DD"},
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            [],
        ),
        output_schema=page_schema(_BILL_ITEM),
        run=_search_bills,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_bill",
        title="Read a bill",
        description="One Verkhovna Rada bill by its registration number (the latest convocation's unless one is "
        "given): type, rubric, registration, initiators linked to their deputies, lead and co-executing "
        "committees, the whole passage with dates, documents (kind, number, date, link) with the Main "
        "Scientific-Expert Department's conclusion, alternative and bound bills.",
        input_schema=inputs(
            {
                "number": {"type": "string", "minLength": 1, "maxLength": 50, "description": "e.g. 9033 or 3005-д"},
                "convocation": _CONVOCATION,
            },
            ["number"],
        ),
        output_schema=_BILL,
        run=_get_bill,
        annotations=READ_ONLY,
    ),
    Tool(
        name="search_deputies",
        title="Search deputies",
        description="People's deputies of Ukraine by name and by faction, committee (or commission), region, "
        "electoral district, party and convocation; serving ones first. Read one with get_deputy(person_id).",
        input_schema=inputs(
            {
                "query": query_schema("surname, name or patronymic, e.g. Стефанчук"),
                "convocation": _CONVOCATION,
                "faction": {**_FILTER, "description": "part of a faction's or group's name, e.g. Слуга народу"},
                "committee": {**_FILTER, "description": "part of a committee's or commission's name, e.g. бюджету"},
                "region": {**_FILTER, "description": "part of the region's name, e.g. Львівська"},
                "district": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "district number"},
                "party": {**_FILTER, "description": "part of the party's name"},
                "include_former": {
                    "type": "boolean",
                    "default": True,
                    "description": "also deputies whose mandate ended",
                },
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            [],
        ),
        output_schema=page_schema(_DEPUTY_ITEM),
        run=_search_deputies,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_deputy",
        title="Read a deputy's record",
        description="One people's deputy by person_id (from search_deputies or a bill's initiators): party, "
        "faction, committee and other posts, district or party list, oath and resignation dates, attendance "
        "counts and the bills they initiated.",
        input_schema=inputs(
            {
                "person_id": {"type": "integer", "minimum": 1, "maximum": 2**53, "description": "the deputy's id"},
                "convocation": _CONVOCATION,
            },
            ["person_id"],
        ),
        output_schema=_DEPUTY,
        run=_get_deputy,
        annotations=READ_ONLY,
    ),
    Tool(
        name="list_factions_and_committees",
        title="Factions and committees",
        description="The factions and groups, committees and temporary commissions of a convocation (the latest "
        "loaded unless given), each with its number of serving members and its heads.",
        input_schema=inputs(
            {
                "convocation": _CONVOCATION,
                "include_subcommittees": {"type": "boolean", "default": False, "description": "also subcommittees"},
            },
            [],
        ),
        output_schema=object_schema(
            {
                "convocation": {"type": "integer"},
                "factions": _BODIES,
                "committees": _BODIES,
                "commissions": _BODIES,
                "leadership": _BODIES,
                "subcommittees": _BODIES,
                "url": _URL,
            },
            ["convocation", "factions", "committees", "commissions", "url"],
        ),
        run=_list_factions_and_committees,
        annotations=READ_ONLY,
    ),
]
