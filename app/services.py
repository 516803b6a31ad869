"""Long-lived services started with the server and handed to handlers through application settings."""

from __future__ import annotations

import logging
from typing import Any

from app.config import Settings
from app.db import Database

log = logging.getLogger(__name__)


async def start(settings: Settings, db: Database) -> dict[str, Any]:
    """Start every service; the keys become attributes of the Tornado application settings."""
    from app.auth.bearer import BearerAuthenticator
    from app.jobs import start_scheduler
    from app.tools.registry import default_registry

    services: dict[str, Any] = {}
    services["authenticator"] = BearerAuthenticator(db, settings.accepted_audiences)
    await services["authenticator"].start()  # revocation feed (LISTEN) and usage flush
    services["tools"] = default_registry()
    services["mcp_sessions"] = await start_mcp_sessions(settings, db, services["tools"])
    services["scheduler"] = start_scheduler(settings, db)
    return services


async def start_mcp_sessions(settings: Settings, db: Database, tools: Any) -> Any:
    """The SDK kernel built from the tool registry, and the store of MCP sessions that run it."""
    from app.mcp.kernel import build_server
    from app.mcp.sessions import SessionStore

    store = SessionStore(build_server(tools, settings, db), max_per_principal=settings.mcp_max_sessions,
                         idle_timeout=settings.mcp_session_idle_timeout)
    await store.start()
    return store


async def stop(services: dict[str, Any]) -> None:
    mcp_sessions = services.get("mcp_sessions")
    if mcp_sessions is not None:
        await mcp_sessions.stop()
    authenticator = services.get("authenticator")
    if authenticator is not None:
        await authenticator.stop()
    scheduler = services.get("scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
