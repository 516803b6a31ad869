"""Every route of the server, joined from the handler modules."""

from __future__ import annotations

from typing import Any

from app.handlers import admin, api, health, mcp, oauth, pages, resource_metadata, wellknown


def all_routes() -> list[Any]:
    return [
        *health.routes,
        *pages.routes,
        *oauth.routes,
        *wellknown.routes,
        *admin.routes,
        *mcp.routes,
        *resource_metadata.routes,
        *api.routes,
    ]
