"""Legislation from the Rada's open data: search, an act's card, an article as in force on a date, editions,
an article's history with a word-level diff, and citations found in a text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.corpus import search
from app.corpus.laws import citations, queries
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

_ACT = {
    "type": "string",
    "minLength": 1,
    "maxLength": 300,
    "description": "the act: registration number (435-15), abbreviation (ЦК, КУпАП, Конституція) or title",
}
# The argument's name before acts could be named by abbreviation or title; still accepted, so that clients written
# for it keep working.
_REG_NUMBER = {"type": "string", "minLength": 1, "maxLength": 300, "description": "former name of `act`"}
_ARTICLE = {"type": "string", "minLength": 1, "maxLength": 50, "description": "article number, e.g. 625, 16-1, 1²"}
_NULLABLE_INT = {"type": ["integer", "null"]}
_CARD = {
    "nreg": {"type": "string", "description": "registration number"},
    "title": {"type": "string"},
    "official_number": NULLABLE_STR,
    "status": {"type": "string", "description": "in words, from the publisher's dictionary"},
    "status_code": _NULLABLE_INT,
    "types": {"type": "array", "items": {"type": "string"}},
    "issuers": {"type": "array", "items": {"type": "string"}},
    "adopted_on": NULLABLE_DATE,
    "url": {"type": "string", "description": "the act on zakon.rada.gov.ua"},
    "demo": {"type": "boolean"},
}
_CARD_SCHEMA = object_schema(_CARD)
_EDITION = object_schema(
    {
        "date": {"type": "string", "format": "date"},
        "event": NULLABLE_STR,
        "cause": {**NULLABLE_STR, "description": "registration number of the act that caused this edition"},
        "cause_url": NULLABLE_STR,
        "url": {"type": "string", "description": "https://zakon.rada.gov.ua/laws/show/{nreg}/ed{YYYYMMDD}"},
        "text_loaded": {"type": "boolean"},
    }
)
_NULLABLE_EDITION = {**_EDITION, "type": ["object", "null"]}
_RELATION = object_schema(
    {
        "act": {"type": "string", "description": "registration number of the other act"},
        "title": {**NULLABLE_STR, "description": "its title, when its card is loaded"},
        "relation": {"type": "string", "description": "in the publisher's words (vidnosh), as read from this act"},
        "relation_code": {"type": "integer"},
        "direction": {"type": "string", "enum": ["outgoing", "incoming"]},
        "since": NULLABLE_DATE,
        "url": {"type": "string"},
    }
)
_RELATIONS = {
    "amended_by": {"type": "array", "items": _RELATION, "description": "acts that amended this act"},
    "amends": {"type": "array", "items": _RELATION, "description": "acts this act amends"},
    "relations": {"type": "array", "items": _RELATION, "description": "other relations, both ways"},
}


def _act(args: dict[str, Any]) -> str:
    if args.get("act") is None and args.get("reg_number") is not None:
        return text_arg(args, "reg_number")
    if args.get("act") is None:
        raise ToolInputError("act", "name the act: its registration number (435-15), abbreviation (ЦК) or title")
    return text_arg(args, "act")


def _date(args: dict[str, Any], name: str) -> dt.date | None:
    value = args.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ToolInputError(name, f"not a date (YYYY-MM-DD): {value!r}") from None


async def _search_legislation(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    date_from, date_to = date_range(args)
    return await run_search(
        lambda: search.search_legislation(
            ctx.db,
            args["query"],
            status=optional(args, "status"),
            act_type=optional(args, "type"),
            issuer=optional(args, "issuer"),
            date_from=date_from,
            date_to=date_to,
            limit=args.get("limit", 10),
            cursor=args.get("cursor"),
        )
    )


async def _get_legislation(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    act = _act(args)
    return await run_get(lambda: queries.get_legislation(ctx.db, act))


async def _get_legislation_article(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    act, article, as_of = _act(args), text_arg(args, "article"), _date(args, "as_of_date")
    return await run_get(
        lambda: queries.get_article(
            ctx.db,
            act,
            article,
            as_of=as_of,
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", 20000),
        )
    )


async def _list_editions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    act = text_arg(args, "act")
    return await run_get(lambda: queries.list_editions(ctx.db, act))


async def _article_history(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    act, article = text_arg(args, "act"), text_arg(args, "article")
    from_date, to_date = _date(args, "from_date"), _date(args, "to_date")
    if from_date and to_date and from_date > to_date:
        raise ToolInputError("to_date", "must not be earlier than from_date")
    return await run_get(lambda: queries.article_history(ctx.db, act, article, from_date=from_date, to_date=to_date))


async def _resolve_citations(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    as_of = _date(args, "as_of_date")
    return await citations.resolve_citations(ctx.db, str(args["text"]), as_of=as_of)


TOOLS = [
    Tool(
        name="search_legislation",
        title="Search legislation",
        description="Search the Verkhovna Rada's register of legislation by words of the title or number, best "
        "first. Filter by status (in words: чинний, втратив чинність, ...), type (закон, кодекс, постанова, ...), "
        "issuer (Верховна Рада, Кабінет Міністрів, ...) and adoption date range. Each hit has its status and URL.",
        input_schema=inputs(
            {
                "query": query_schema("words of the title or the number, e.g. захист прав споживачів"),
                "status": {"type": "string", "minLength": 1, "maxLength": 100, "description": "e.g. чинний"},
                "type": {"type": "string", "minLength": 1, "maxLength": 100, "description": "e.g. кодекс"},
                "issuer": {"type": "string", "minLength": 1, "maxLength": 200, "description": "e.g. Верховна Рада"},
                "date_from": {**DATE, "description": "adopted on or after, YYYY-MM-DD"},
                "date_to": {**DATE, "description": "adopted on or before, YYYY-MM-DD"},
                "limit": LIMIT,
                "cursor": CURSOR,
            },
            ["query"],
        ),
        output_schema=page_schema(object_schema({**_CARD, "rank": {"type": "number"}, "snippet": {"type": "string"}})),
        run=_search_legislation,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_legislation",
        title="Read an act's card",
        description="A legislative act by registration number, abbreviation or title: its card (title, number, "
        "type, issuer, dates, status in words), how many editions it has, the current edition (the latest not "
        "after today), that edition's table of contents, the acts that amended it and those it amends, and its "
        "other relations (роз'яснює, визнає нечинним, ...). Read an article with get_legislation_article.",
        input_schema=inputs({"act": _ACT, "reg_number": _REG_NUMBER}, []),
        output_schema=object_schema(
            {
                **_CARD,
                "card_edition": NULLABLE_DATE,
                "editions_count": {"type": "integer"},
                "future_editions": {"type": "integer"},
                "current_edition": _NULLABLE_EDITION,
                "contents": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "kind": {"type": "string", "enum": ["book", "section", "chapter", "article"]},
                            "number": {"type": "string"},
                            "title": NULLABLE_STR,
                        }
                    ),
                },
                **_RELATIONS,
            }
        ),
        run=_get_legislation,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_legislation_article",
        title="Read an article as in force on a date",
        description="One article's text as in force on a date (default today), e.g. act ЦК, article 625, "
        "as_of_date 2021-03-01; names the edition it comes from and its URL.",
        input_schema=inputs(
            {
                "act": _ACT,
                "reg_number": _REG_NUMBER,
                "article": _ARTICLE,
                "as_of_date": {**DATE, "description": "the date, YYYY-MM-DD (default today)"},
                "offset": OFFSET,
                "max_chars": MAX_CHARS,
            },
            ["article"],
        ),
        output_schema=object_schema(
            {
                "act": _CARD_SCHEMA,
                "article": {"type": "string"},
                "title": NULLABLE_STR,
                "as_of_date": {"type": "string", "format": "date"},
                "edition": _EDITION,
                "url": {"type": "string"},
                **TEXT_WINDOW,
            },
            ["act", "article", "title", "as_of_date", "edition", "url", *WINDOW_REQUIRED],
        ),
        run=_get_legislation_article,
        annotations=READ_ONLY,
    ),
    Tool(
        name="list_legislation_editions",
        title="An act's editions",
        description="Every edition of an act, oldest first, with its date, the event, the act that caused it "
        "and its URL; `current` marks the edition in force today, `future` those not yet in force.",
        input_schema=inputs({"act": _ACT}, ["act"]),
        output_schema=object_schema(
            {
                **_CARD,
                "count": {"type": "integer"},
                "editions": {
                    "type": "array",
                    "items": object_schema(
                        {
                            **_EDITION["properties"],
                            "cause_title": NULLABLE_STR,
                            "amending_acts": {
                                "type": "array",
                                "description": "the acts that caused the edition (pidstava may name several)",
                                "items": object_schema(
                                    {"act": {"type": "string"}, "title": NULLABLE_STR, "url": {"type": "string"}}
                                ),
                            },
                            "current": {"type": "boolean"},
                            "future": {"type": "boolean"},
                        }
                    ),
                },
            }
        ),
        run=_list_editions,
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_article_history",
        title="An article's history",
        description="The editions in which an article's text changed (added, changed, removed), each with the "
        "amending act, and a word-level diff of its text between from_date and to_date (default: before and "
        "after the last change).",
        input_schema=inputs(
            {
                "act": _ACT,
                "article": _ARTICLE,
                "from_date": {**DATE, "description": "compare the text in force on this date ..."},
                "to_date": {**DATE, "description": "... with the text in force on this date"},
            },
            ["act", "article"],
        ),
        output_schema=object_schema(
            {
                "act": _CARD_SCHEMA,
                "article": {"type": "string"},
                "changes": {
                    "type": "array",
                    "items": object_schema(
                        {
                            **_EDITION["properties"],
                            "change": {"type": "string", "enum": ["added", "changed", "removed"]},
                            "cause_title": NULLABLE_STR,
                            "title": NULLABLE_STR,
                        }
                    ),
                },
                "diff": {
                    "type": ["object", "null"],
                    "properties": {
                        "from_date": {"type": "string"},
                        "to_date": {"type": "string"},
                        "same": {"type": "boolean"},
                        "changes": {
                            "type": "array",
                            "items": object_schema(
                                {
                                    "op": {"type": "string", "enum": ["equal", "delete", "insert"]},
                                    "text": {"type": "string"},
                                }
                            ),
                        },
                    },
                },
            }
        ),
        run=_article_history,
        annotations=READ_ONLY,
    ),
    Tool(
        name="resolve_citations",
        title="Resolve citations of legislation",
        description="Finds citations of articles in a text as Ukrainian lawyers write them (ст. 625 ЦК України, "
        "частини другої статті 16 ЦПК, п. 3 ч. 1 ст. 284 КАС, статтею 1 Закону України «Про ...») and returns "
        "each with the act, article, part and point, the article's text on the date (default today), the act's "
        "status and the edition's link; a citation of an article the edition lacks says so.",
        input_schema=inputs(
            {
                "text": {"type": "string", "minLength": 1, "maxLength": citations.MAX_TEXT},
                "as_of_date": {**DATE, "description": "the date the citations speak of, YYYY-MM-DD (default today)"},
            },
            ["text"],
        ),
        output_schema=object_schema(
            {
                "as_of_date": {"type": "string", "format": "date"},
                "count": {"type": "integer"},
                "citations": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "quote": {"type": "string"},
                            "start": {"type": "integer"},
                            "end": {"type": "integer"},
                            "act_cited": {"type": "string"},
                            "article": {"type": "string"},
                            "part": _NULLABLE_INT,
                            "point": _NULLABLE_INT,
                            "found": {"type": "boolean"},
                            "act": {**_CARD_SCHEMA, "type": ["object", "null"]},
                            "edition": _NULLABLE_EDITION,
                            "title": NULLABLE_STR,
                            "text": NULLABLE_STR,
                            "truncated": {"type": "boolean"},
                            "url": NULLABLE_STR,
                            "message": NULLABLE_STR,
                        }
                    ),
                },
            }
        ),
        run=_resolve_citations,
        annotations=READ_ONLY,
    ),
]
