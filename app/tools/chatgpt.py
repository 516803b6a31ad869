"""ChatGPT's `search` and `fetch` over every kind of record (the OpenAI deep-research tool shapes)."""

from __future__ import annotations

from typing import Any

from app.corpus import records, search
from app.corpus.edrpou import EdrpouError, validate_edrpou
from app.corpus.text import QueryError
from app.tools.common import (
    MAX_CHARS,
    OFFSET,
    READ_ONLY,
    inputs,
    object_schema,
    query_schema,
    run_get,
    text_arg,
)
from app.tools.errors import ToolInputError
from app.tools.registry import Tool, ToolContext


async def _search(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        results = await search.search_everything(ctx.db, args["query"])
    except QueryError as exc:
        raise ToolInputError("query", str(exc)) from None
    return {"results": results}


async def _fetch(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    document_id = text_arg(args, "id")
    kind = document_id.partition(":")[0]
    if kind not in records.FETCH_KINDS:
        raise ToolInputError(
            "id", f"unknown kind {kind!r}: ids look like " + ", ".join(f"{k}:<key>" for k in records.FETCH_KINDS)
        )
    key = document_id.partition(":")[2].strip()
    if kind == "deputy" and not (key.isascii() and key.isdigit() and len(key) <= 9):
        raise ToolInputError("id", f"a deputy's id is deputy:<person_id>, a number from search; got {key!r}")
    if kind == "company":
        key = document_id.partition(":")[2].strip()
        if not key.startswith("fop-"):
            try:
                validate_edrpou(key)
            except EdrpouError as exc:
                raise ToolInputError("id", str(exc)) from None
    return await run_get(
        lambda: records.fetch_document(
            ctx.db,
            document_id,
            offset=args.get("offset", 0),
            max_chars=args.get("max_chars", records.DEFAULT_MAX_CHARS),
        )
    )


TOOLS = [
    Tool(
        name="search",
        title="Search everything",
        description="Search court decisions, legislation, bills, people's deputies and companies at once. Returns "
        "ids to pass to `fetch`, with titles and the URL to cite.",
        input_schema=inputs({"query": query_schema("what to look for")}, ["query"]),
        output_schema=object_schema(
            {
                "results": {
                    "type": "array",
                    "items": object_schema(
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
        annotations=READ_ONLY,
    ),
    Tool(
        name="fetch",
        title="Fetch a document",
        description="The full text of a result of `search` by its id (court:<doc id>, act:<registration number>, "
        "article:<registration number>:<article>, bill:<number>, deputy:<person id>, company:<EDRPOU or fop-id>). "
        "Long texts come in windows: call again with offset=metadata.next_offset.",
        input_schema=inputs(
            {"id": {"type": "string", "minLength": 3, "maxLength": 200}, "offset": OFFSET, "max_chars": MAX_CHARS},
            ["id"],
        ),
        output_schema=object_schema(
            {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "text": {"type": "string"},
                "url": {"type": "string", "minLength": 1},
                "metadata": {"type": "object"},
            }
        ),
        run=_fetch,
        annotations=READ_ONLY,
    ),
]
