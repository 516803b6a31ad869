"""Helpers for the corpus tests: the demo corpus in the session database, and tool calls through the registry."""

from __future__ import annotations

from typing import Any

from app.config import load_settings
from app.corpus.importer import load_demo_corpus
from app.db import Database
from app.tools.registry import ToolContext, ToolRegistry, default_registry
from tests.helpers_server import run_db

REGISTRY: ToolRegistry = default_registry()
SETTINGS = load_settings({"PUBLIC_URL": "http://127.0.0.1:8000"})


def load_demo(database_url: str) -> dict[str, int]:
    """Import the demo corpus (idempotent: every module may load it again)."""
    return run_db(database_url, load_demo_corpus)


def call(database_url: str, name: str, arguments: Any) -> dict[str, Any]:
    """ToolRegistry.call as the MCP and REST handlers make it: validation, then the tool."""

    async def go(db: Database) -> dict[str, Any]:
        return await REGISTRY.call(name, arguments, ToolContext(db=db, settings=SETTINGS, principal=None))

    return run_db(database_url, go)
