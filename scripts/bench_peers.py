"""The reference servers `make bench-http` measures ours against, each in its own process:

    python scripts/bench_peers.py sdk   --port P --database-url URL
    python scripts/bench_peers.py floor --port P [--database-url URL]

`sdk` is what a user would write on the official `mcp` SDK directly: its lowlevel `Server` over its own
Streamable HTTP app (stateless, JSON responses) on uvicorn, serving our tool definitions (exported from our
registry once, as `types.Tool`), with a `server_info` that runs the same `SHOW server_version` through an aiopg
pool and any other tool (`search_court_cases`) run by our own tool code on the same database, so the work per
call is equal. No authentication.

`floor` is a bare Tornado handler that parses the same JSON-RPC body and answers a constant result: no
authentication, no database, no MCP. It is the ceiling of one Python process on this machine. With
`--database-url` it also answers `POST /mcp-db` by running the `server_info` query (`SHOW server_version`) through
an aiopg pool and writing its JSON-RPC result: the ceiling of a `tools/call server_info` on Tornado and aiopg, the
stack this product is bound to, with nothing of MCP, authentication or ours around it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_sdk(port: int, database_url: str) -> None:
    import aiopg
    import mcp_types as types
    import uvicorn
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel.server import Server

    from app.config import load_settings
    from app.db import Database
    from app.mcp.kernel import tool_definition
    from app.tools.registry import ToolContext, default_registry

    registry = default_registry()
    definitions = [tool_definition(tool) for tool in registry]
    server_version = version("secondlayer")
    settings = load_settings({"DATABASE_URL": database_url, "PUBLIC_URL": f"http://127.0.0.1:{port}"})
    state: dict[str, Any] = {}

    async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=definitions)

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> Any:
        if params.name == "server_info":
            async with state["pool"].acquire() as conn, conn.cursor() as cur:
                await cur.execute("SHOW server_version")
                (database_version,) = await cur.fetchone()
            result: dict[str, Any] = {
                "name": "SecondLayer",
                "version": server_version,
                "public_url": settings.public_url,
                "mcp_url": f"{settings.public_url}/mcp",
                "database": f"PostgreSQL {database_version}",
                "caller": None,
            }
        else:
            tool_ctx = ToolContext(db=state["db"], settings=settings, principal=None)
            result = await registry.call(params.name, params.arguments, tool_ctx)
        text = json.dumps(result, ensure_ascii=False, default=str)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=result)

    server: Server[Any] = Server(
        "SecondLayer", version=server_version, on_list_tools=list_tools, on_call_tool=call_tool
    )
    app = server.streamable_http_app(stateless_http=True, json_response=True, host="127.0.0.1")
    inner_lifespan = app.router.lifespan_context

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(starlette_app: Any) -> Any:
        state["pool"] = await aiopg.create_pool(database_url, minsize=1, maxsize=10)
        state["db"] = Database(database_url)
        await state["db"].connect()
        async with inner_lifespan(starlette_app):
            yield
        state["pool"].close()
        await state["pool"].wait_closed()
        await state["db"].close()

    app.router.lifespan_context = lifespan
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def run_floor(port: int, database_url: str = "") -> None:
    import aiopg
    import tornado.web

    pools: list[aiopg.Pool] = []

    class Floor(tornado.web.RequestHandler):
        def post(self) -> None:
            message = json.loads(self.request.body)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": {"ok": True}}))

    class FloorWithDatabase(tornado.web.RequestHandler):
        async def post(self) -> None:
            message = json.loads(self.request.body)
            async with pools[0].acquire() as conn, conn.cursor() as cur:
                await cur.execute("SHOW server_version")
                (database_version,) = await cur.fetchone()
            result = {"database": f"PostgreSQL {database_version}"}
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": result}))

    async def serve() -> None:
        if database_url:
            pools.append(await aiopg.create_pool(database_url, minsize=1, maxsize=10))
        tornado.web.Application([(r"/mcp", Floor), (r"/mcp-db", FloorWithDatabase)]).listen(port, address="127.0.0.1")
        await asyncio.Event().wait()

    asyncio.run(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("sdk", "floor"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.which == "sdk":
        if not args.database_url:
            parser.error("sdk needs --database-url")
        run_sdk(args.port, args.database_url)
    else:
        run_floor(args.port, args.database_url)


if __name__ == "__main__":
    main()
