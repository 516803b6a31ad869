"""RFC 9728 protected resource metadata: how an MCP client finds the authorization server for each endpoint."""

from __future__ import annotations

from typing import Any

from app.auth.bearer import SCOPE_MCP
from app.config import Settings
from app.handlers.base import APIHandler

RESOURCE_NAMES = {"": "SecondLayer", "/mcp": "SecondLayer MCP (Streamable HTTP)", "/sse": "SecondLayer MCP (SSE)"}


def protected_resource_metadata(settings: Settings, path: str) -> dict[str, Any]:
    """The document for PUBLIC_URL + `path`; `resource` is that exact URL, as RFC 9728 section 3.3 requires."""
    return {
        "resource": f"{settings.public_url}{path}",
        "authorization_servers": [settings.issuer],
        "scopes_supported": [SCOPE_MCP],
        "bearer_methods_supported": ["header"],
        "resource_name": RESOURCE_NAMES[path],
        "resource_documentation": f"{settings.public_url}/",
    }


class ProtectedResourceMetadataHandler(APIHandler):
    """Public and cacheable: browsers-based clients fetch it cross-origin before they hold any token."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cache-Control", "public, max-age=300")

    def get(self, path: str | None = None) -> None:
        self.write_json(protected_resource_metadata(self.config, path or ""))


routes = [
    (r"/\.well-known/oauth-protected-resource(/mcp|/sse)?/?", ProtectedResourceMetadataHandler),
]
