"""Every route of the server, joined from the handler modules."""

from __future__ import annotations

from typing import Any

from app.handlers import admin, api, health, mcp, oauth, pages, resource_metadata, wellknown


def all_routes() -> list[Any]:
    # Tornado tries the rules in order, so the busiest paths (MCP, then the REST tools) come first; no pattern
    # of one module matches a path of another, so the order changes nothing else.
    return [
        *mcp.routes,
        *api.routes,
        *health.routes,
        *pages.routes,
        *oauth.routes,
        *wellknown.routes,
        *admin.routes,
        *resource_metadata.routes,
    ]
