"""`sources`: what official data this server holds, where it came from and how fresh it is."""

from __future__ import annotations

from typing import Any

from app.corpus.provenance import dataset_summaries
from app.tools.common import NULLABLE_STR, READ_ONLY, inputs, object_schema
from app.tools.registry import Tool, ToolContext

_COUNTS = {k: {"type": "integer"} for k in ("added", "updated", "unchanged", "bad")}


async def _sources(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"datasets": await dataset_summaries(ctx.db)}


TOOLS = [
    Tool(
        name="sources",
        title="Data sources and freshness",
        description="The official datasets this server loads (court decisions, legislation, bills, deputies, the "
        "register of legal entities): who publishes each, how many records are loaded, and when and from where "
        "the last import ran. Use it to say how current an answer is.",
        input_schema=inputs({}, []),
        output_schema=object_schema(
            {
                "datasets": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "dataset": {"type": "string"},
                            "label": {"type": "string"},
                            "publisher": {"type": "string"},
                            "publisher_url": {"type": "string"},
                            "records": {
                                "type": ["integer", "null"],
                                "description": "records loaded (estimated above 200,000); null: not set up",
                            },
                            "last_import": {
                                "type": ["object", "null"],
                                "properties": {
                                    "finished_at": {"type": "string"},
                                    "source": {"type": "string"},
                                    "published": NULLABLE_STR,
                                    **_COUNTS,
                                },
                            },
                            "last_attempt": {
                                "type": ["object", "null"],
                                "properties": {
                                    "started_at": {"type": "string"},
                                    "status": {"type": "string"},
                                    "error": NULLABLE_STR,
                                },
                            },
                        }
                    ),
                }
            }
        ),
        run=_sources,
        annotations=READ_ONLY,
    )
]
