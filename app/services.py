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
    services["scheduler"] = start_scheduler(settings, db)
    return services


async def stop(services: dict[str, Any]) -> None:
    authenticator = services.get("authenticator")
    if authenticator is not None:
        await authenticator.stop()
    scheduler = services.get("scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
