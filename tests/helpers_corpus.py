"""Helpers for the corpus tests: the demo corpus in the session database, tool calls through the registry, and a
publisher's web site on loopback serving official files."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from app.config import load_settings
from app.corpus.commands import load_demo_data
from app.db import Database
from app.tools.registry import ToolContext, ToolRegistry, default_registry
from tests.helpers_server import run_db

REGISTRY: ToolRegistry = default_registry()
SETTINGS = load_settings({"PUBLIC_URL": "http://127.0.0.1:8000"})


def load_demo(database_url: str) -> dict[str, int]:
    """Import the demo corpus (idempotent: every module may load it again)."""
    return run_db(database_url, load_demo_data)


def call(database_url: str, name: str, arguments: Any) -> dict[str, Any]:
    """ToolRegistry.call as the MCP and REST handlers make it: validation, then the tool."""

    async def go(db: Database) -> dict[str, Any]:
        return await REGISTRY.call(name, arguments, ToolContext(db=db, settings=SETTINGS, principal=None))

    return run_db(database_url, go)


class PublisherSite:
    """A publisher's web site on 127.0.0.1 serving the files under `root` as a real static server does: ETag,
    Last-Modified, conditional GET (304) and byte ranges (206). Records each request's path and headers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        outer = self

        class Files(tornado.web.StaticFileHandler):
            def prepare(self) -> None:
                outer.requests.append((self.request.path, dict(self.request.headers)))

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
            app = tornado.web.Application([(r"/(.*)", Files, {"path": str(root)})], static_hash_cache=False)
            tornado.httpserver.HTTPServer(app).add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
