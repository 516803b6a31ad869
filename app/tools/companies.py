"""The register of legal entities (ЄДР): search, one company."""

from __future__ import annotations

from typing import Any

from app.corpus import records, search
from app.corpus.edrpou import EdrpouError, validate_edrpou
from app.tools.common import (
    CURSOR,
    LIMIT,
    NULLABLE_DATE,
    NULLABLE_STR,
    READ_ONLY,
    inputs,
    object_schema,
    optional,
    page_schema,
    query_schema,
    run_get,
    run_search,
)
from app.tools.errors import ToolInputError
from app.tools.registry import Tool, ToolContext

_COMPANY_FIELDS = {
    "edrpou": {"type": "string", "pattern": r"^\d{8}$"},
    "name": {"type": "string"},
    "short_name": NULLABLE_STR,
    "status": {"type": "string"},
    "address": NULLABLE_STR,
    "head": NULLABLE_STR,
    "registered_on": NULLABLE_DATE,
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}


async def _search_companies(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await run_search(
        lambda: search.search_companies(
            ctx.db,
            args["query"],
            status=optional(args, "status"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_company(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        edrpou = validate_edrpou(args["edrpou"])
    except EdrpouError as exc:
        raise ToolInputError("edrpou", str(exc)) from None
    return await run_get(lambda: records.get_company(ctx.db, edrpou))


TOOLS = [
    Tool(
        name="search_companies",
        title="Search companies",
        description="Search the state register of legal entities by name, EDRPOU code, head, address or "
        "activity, best first. Filter by status (e.g. зареєстровано, припинено).",
        input_schema=inputs(
            {
                "query": query_schema("name, EDRPOU code, head, address or activity"),
                "status": {"type": "string", "minLength": 1, "maxLength": 100},
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            ["query"],
        ),
        output_schema=page_schema(
            object_schema({**_COMPANY_FIELDS, "rank": {"type": "number"}, "snippet": {"type": "string"}})
        ),
        run=_search_companies,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_company",
        title="Read a company record",
        description="A legal entity by its EDRPOU code (8 digits; the check digit is verified).",
        input_schema=inputs(
            {"edrpou": {"type": "string", "pattern": r"^[0-9]{8}$", "description": "EDRPOU code, 8 digits"}}, ["edrpou"]
        ),
        output_schema=object_schema(
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
        annotations=READ_ONLY,
    ),
]
