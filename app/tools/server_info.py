"""`server_info`: what this server is and what it holds, so clients can check the whole path works."""

from __future__ import annotations

from typing import Any

from app.config import package_version
from app.tools.registry import Tool, ToolContext


async def _server_info(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    database_version = await ctx.db.fetch_value("SHOW server_version")
    caller = None
    if ctx.principal is not None:
        caller = {"email": ctx.principal.email, "auth": ctx.principal.kind}
    return {
        "name": "SecondLayer",
        "version": package_version(),
        "public_url": ctx.settings.public_url,
        "mcp_url": f"{ctx.settings.public_url}/mcp",
        "database": f"PostgreSQL {database_version}",
        "caller": caller,
    }


TOOLS = [
    Tool(
        name="server_info",
        title="Server information",
        description="Describe this SecondLayer server: version, public URLs, database, and who is calling.",
        input_schema={"type": "object", "properties": {}, "additionalProperties": False},
        output_schema={
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "public_url": {"type": "string"},
                "mcp_url": {"type": "string"},
                "database": {"type": "string"},
                "caller": {
                    "type": ["object", "null"],
                    "properties": {"email": {"type": "string"}, "auth": {"type": "string"}},
                },
            },
            "required": ["name", "version", "public_url", "mcp_url", "database"],
        },
        run=_server_info,
    )
]
