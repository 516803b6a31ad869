"""Every route of the server, joined from the handler modules."""

from __future__ import annotations

from typing import Any

from app.handlers import admin, health, oauth, pages, wellknown


def all_routes() -> list[Any]:
    return [
        *health.routes,
        *pages.routes,
        *oauth.routes,
        *wellknown.routes,
        *admin.routes,
    ]
