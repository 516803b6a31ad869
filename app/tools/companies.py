"""The register of legal entities (ЄДР): search, one entity whole, people, and the ownership graph."""

from __future__ import annotations

from typing import Any

from app.corpus.edr import queries
from app.corpus.edr.parse import KINDS, STATUS_CODES
from app.corpus.edrpou import EdrpouError, validate_edrpou
from app.corpus.text import QueryError
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

_NAME = {"type": "string", "minLength": 2, "maxLength": 300}
_KEY = {
    "type": "string",
    "minLength": 8,
    "maxLength": 24,
    "description": "EDRPOU code (8 digits; the check digit is verified), or an entrepreneur's id (fop-...)",
}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_COMPANY_FIELDS = {
    "id": {"type": "string", "description": "the EDRPOU code, or fop-... for an individual entrepreneur"},
    "kind": {"type": "string", "enum": list(KINDS)},
    "edrpou": {"type": ["string", "null"], "pattern": r"^\d{8}$"},
    "name": {"type": "string"},
    "short_name": NULLABLE_STR,
    "status": {"type": "string", "description": "as the register writes it, e.g. зареєстровано"},
    "status_code": {"type": "string", "enum": list(STATUS_CODES)},
    "region": NULLABLE_STR,
    "address": NULLABLE_STR,
    "head": NULLABLE_STR,
    "registered_on": NULLABLE_DATE,
    "vanished": {"type": "boolean", "description": "no longer in the latest full dump of the register"},
    "url": {"type": "string"},
    "demo": {"type": "boolean"},
}
_PEOPLE = {"type": "array", "items": {"type": "object"}}


def _key(args: dict[str, Any], name: str = "edrpou") -> str:
    value = str(args[name]).strip()
    if value.startswith("fop-"):
        if not queries.valid_key(value):
            raise ToolInputError(name, "an entrepreneur's id is fop- and 20 hex digits")
        return value
    try:
        return validate_edrpou(value)
    except EdrpouError as exc:
        raise ToolInputError(name, str(exc)) from None


def _person_name(value: str, field: str) -> None:
    try:
        queries.person_key(value)
    except QueryError as exc:
        raise ToolInputError(field, str(exc)) from None


async def _search_companies(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    query, person = optional(args, "query"), optional(args, "person")
    if query is None and person is None:
        raise ToolInputError("query", "give a name or EDRPOU code, or a person's name in `person`")
    if args.get("person_role") and person is None:
        raise ToolInputError("person_role", "applies to `person`, which is missing")
    if person is not None:
        _person_name(person, "person")
    return await run_search(
        lambda: queries.search_companies(
            ctx.db,
            query,
            status=optional(args, "status"),
            kind=args.get("kind"),
            region=optional(args, "region"),
            kved=optional(args, "kved"),
            person=person,
            person_role=args.get("person_role"),
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_company(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    key = _key(args)
    return await run_get(lambda: queries.get_company(ctx.db, key))


async def _search_persons(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    name = optional(args, "name")
    if name is None:
        raise ToolInputError("name", "must not be blank")
    _person_name(name, "name")
    return await run_search(
        lambda: queries.search_persons(
            ctx.db, name, role=args.get("role"), limit=args.get("limit", 20), cursor=args.get("cursor")
        )
    )


async def _get_company_relations(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    key = _key(args)
    return await run_get(lambda: queries.company_relations(ctx.db, key, depth=args.get("depth", 1)))


TOOLS = [
    Tool(
        name="search_companies",
        title="Search companies",
        description="Search the state register (ЄДР) of legal entities, individual entrepreneurs and public "
        "associations by name or EDRPOU code. Filter by status, kind, region, activity (KVED) and a person named "
        "in the entity as head, founder or beneficiary; `person` alone lists that person's entities.",
        input_schema=inputs(
            {
                "query": query_schema("name or EDRPOU code"),
                "status": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "description": "a status as the register writes it (зареєстровано, припинено, в стані припинення, "
                    "...) or its code: " + ", ".join(STATUS_CODES),
                },
                "kind": {
                    "type": "string",
                    "enum": list(KINDS),
                    "description": "uo: legal entity, fop: individual entrepreneur, fsu: public association",
                },
                "region": {"type": "string", "minLength": 2, "maxLength": 100, "description": "e.g. Львівська, Київ"},
                "kved": {
                    "type": "string",
                    "pattern": r"^[0-9]{2}(\.[0-9]{1,2})?$",
                    "description": "activity code (КВЕД), e.g. 62.01, or its division, e.g. 62",
                },
                "person": {**_NAME, "description": "a person's name, surname first, or its beginning: Іваненко Іван"},
                "person_role": {
                    "type": "string",
                    "enum": ["head", "founder", "beneficiary", "signer"],
                    "description": "the role `person` has (default: head, founder or beneficiary)",
                },
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            [],
        ),
        output_schema=page_schema(object_schema({**_COMPANY_FIELDS, "rank": {"type": "number"}})),
        run=_search_companies,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_company",
        title="Read a company record",
        description="Everything the register holds on one entity: status, registration, capital, head and "
        "signers, founders with their shares, final beneficiaries with the nature of control, branches, "
        "predecessors and assignees, termination and bankruptcy, tax registration, activities, and the history "
        "of its status and head across imports.",
        input_schema=inputs({"edrpou": _KEY}, ["edrpou"]),
        output_schema=object_schema(
            {
                **_COMPANY_FIELDS,
                "kind_label": {"type": "string"},
                "capital": _NULLABLE_NUMBER,
                "activities": {"type": "array", "items": {"type": "object"}},
                "termination": {"type": ["object", "null"]},
                "bankruptcy": {"type": ["object", "null"]},
                "tax_registrations": {"type": "array", "items": {"type": "object"}},
                "details": {"type": "object"},
                "heads": _PEOPLE,
                "signers": _PEOPLE,
                "founders": _PEOPLE,
                "beneficiaries": _PEOPLE,
                "members": _PEOPLE,
                "branches": _PEOPLE,
                "predecessors": _PEOPLE,
                "assignees": _PEOPLE,
                "history": _PEOPLE,
                "dataset_url": {"type": "string"},
            },
            ["id", "kind", "name", "status", "url", "founders", "beneficiaries", "history"],
        ),
        run=_get_company,
        annotations=READ_ONLY,
    ),
    Tool(
        name="search_persons",
        title="Find a person in the register",
        description="Every entity in which a person is head, signer, founder (with the share) or final "
        "beneficiary (with the nature of control), by name as the register writes it, surname first; the "
        "beginning of the name is enough, so Іваненко Іван finds ІВАНЕНКО ІВАН ІВАНОВИЧ. Exact full names come "
        "first.",
        input_schema=inputs(
            {
                "name": {**_NAME, "description": "the person's name, e.g. Іваненко Іван Іванович"},
                "role": {"type": "string", "enum": list(queries.PERSON_ROLES)},
                "limit": {**LIMIT, "default": 20},
                "cursor": CURSOR,
            },
            ["name"],
        ),
        output_schema=page_schema(
            object_schema(
                {
                    "person": {"type": "string"},
                    "role": {"type": "string"},
                    "role_label": {"type": "string"},
                    "share": _NULLABLE_NUMBER,
                    "share_percent": _NULLABLE_NUMBER,
                    "details": NULLABLE_STR,
                    "company": object_schema(_COMPANY_FIELDS),
                }
            )
        ),
        run=_search_persons,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_company_relations",
        title="Ownership graph of a company",
        description="Who is behind whom: the entities that founded this one, the entities it founded, its "
        "predecessors and assignees, and theirs, up to `depth` steps (1-3), as nodes and edges. Edges of type "
        "founder point from the founder to the entity it founded (with the share), edges of type predecessor "
        "from the predecessor to its successor.",
        input_schema=inputs(
            {
                "edrpou": {"type": "string", "pattern": r"^[0-9]{8}$", "description": "EDRPOU code, 8 digits"},
                "depth": {"type": "integer", "minimum": 1, "maximum": queries.MAX_DEPTH, "default": 1},
            },
            ["edrpou"],
        ),
        output_schema=object_schema(
            {
                "edrpou": {"type": "string"},
                "name": {"type": "string"},
                "depth": {"type": "integer"},
                "nodes": {"type": "array", "items": {"type": "object"}},
                "edges": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "from": {"type": "string"},
                            "to": {"type": "string"},
                            "type": {"type": "string", "enum": ["founder", "predecessor"]},
                        }
                    ),
                },
                "truncated": {"type": "boolean"},
                "url": {"type": "string"},
            }
        ),
        run=_get_company_relations,
        annotations=READ_ONLY,
    ),
]
