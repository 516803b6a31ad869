"""RFC 9728 protected resource metadata for the server and each MCP endpoint."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest


@pytest.mark.parametrize("suffix", ["", "/mcp", "/sse"])
def test_metadata_names_the_exact_resource(server: Any, http: httpx2.Client, suffix: str) -> None:
    r = http.get(f"/.well-known/oauth-protected-resource{suffix}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["resource"] == server.url + suffix  # exact: no trailing slash, same scheme/host/port
    assert not doc["resource"].endswith("/")
    assert doc["authorization_servers"] == [server.url]
    assert doc["scopes_supported"] == ["mcp"]
    assert doc["bearer_methods_supported"] == ["header"]
    assert doc["resource_name"]
    # Public and cacheable, readable cross-origin by browser-based clients.
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in r.headers["Cache-Control"]


def test_the_authorization_server_it_names_publishes_rfc8414_metadata(server: Any, http: httpx2.Client) -> None:
    issuer = http.get("/.well-known/oauth-protected-resource/mcp").json()["authorization_servers"][0]
    doc = http.get(issuer.removeprefix(server.url) + "/.well-known/oauth-authorization-server").json()
    assert doc["issuer"] == issuer
    assert "mcp" in doc["scopes_supported"]


def test_other_suffixes_are_not_resources(server: Any, http: httpx2.Client) -> None:
    assert http.get("/.well-known/oauth-protected-resource/api").status_code == 404
