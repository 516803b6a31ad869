"""RFC 8414 authorization server metadata (also at the OpenID discovery path, where some clients look first)."""

from __future__ import annotations

from typing import Any

from app.auth.clients import AUTH_METHODS, GRANT_TYPES
from app.auth.jwks import ALLOWED_ALGORITHMS
from app.auth.oauth import SUPPORTED_SCOPES
from app.config import Settings
from app.handlers.base import APIHandler

CONFIDENTIAL_METHODS = [m for m in AUTH_METHODS if m != "none"]


def authorization_server_metadata(settings: Settings) -> dict[str, Any]:
    """What clients need to find and use our endpoints; `issuer` is PUBLIC_URL exactly, no trailing slash."""
    base = settings.issuer
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "registration_endpoint": f"{base}/oauth/register",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
        "scopes_supported": sorted(SUPPORTED_SCOPES),
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
        "service_documentation": f"{base}/",
        "ui_locales_supported": ["uk", "en"],
    }


class AuthorizationServerMetadataHandler(APIHandler):
    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cache-Control", "public, max-age=300")

    def get(self) -> None:
        self.write_json(authorization_server_metadata(self.config))


routes = [
    (r"/\.well-known/oauth-authorization-server", AuthorizationServerMetadataHandler),
    (r"/\.well-known/openid-configuration", AuthorizationServerMetadataHandler),
]
