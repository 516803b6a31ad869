"""RFC 8414 authorization server metadata, at both discovery paths."""

from __future__ import annotations

import pytest

from app.handlers.base import PAGE_CSP  # noqa: F401 - imported to make sure the app package loads


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])
def test_metadata_lists_endpoints_and_capabilities(http, settings, path):
    r = http.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    meta = r.json()
    base = settings.public_url
    assert meta["issuer"] == base and not meta["issuer"].endswith("/")
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["registration_endpoint"] == f"{base}/oauth/register"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert meta["scopes_supported"] == ["mcp"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["client_id_metadata_document_supported"] is True


def test_metadata_parses_with_the_sdk_model(http, settings):
    from mcp.shared.auth import OAuthMetadata

    meta = OAuthMetadata.model_validate_json(http.get("/.well-known/oauth-authorization-server").content)
    assert str(meta.issuer) == settings.public_url


def test_path_inserted_variant_is_not_served(http):
    # Our issuer has no path, so RFC 8414 3.1 puts the metadata only at the root well-known path.
    r = http.get("/.well-known/oauth-authorization-server/mcp")
    assert r.status_code == 404
