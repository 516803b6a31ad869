"""Security review: the OAuth endpoints under malformed and hostile input."""

from __future__ import annotations

import pytest
from helpers_oauth import CLAUDE


def _register(http, body, ip):
    return http.post("/oauth/register", json=body, headers={"X-Forwarded-For": ip})


@pytest.mark.parametrize("response_types", [[["code"]], [{"code": 1}], [None], [1], "code"])
def test_registration_with_odd_response_types_is_a_400_not_a_crash(http, response_types):
    r = _register(http, {"redirect_uris": [CLAUDE], "response_types": response_types}, "198.18.200.1")
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_client_metadata"


def test_registration_drops_oversized_contacts(http):
    r = _register(http, {"redirect_uris": [CLAUDE], "token_endpoint_auth_method": "none",
                         "contacts": ["ops@example.com", "x" * 100_000]}, "198.18.200.2")
    assert r.status_code == 201 and "contacts" not in r.json()
    r = _register(http, {"redirect_uris": [CLAUDE], "token_endpoint_auth_method": "none",
                         "contacts": ["ops@example.com"]}, "198.18.200.2")
    assert r.status_code == 201 and r.json()["contacts"] == ["ops@example.com"]


@pytest.mark.parametrize("address", [
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::169.254.169.254",  # NAT64 to private IPv4
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::1", "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1 and 169.254.169.254
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::1", "::", "fd00::1", "fe80::1%eth0",
    "127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",  # noqa: S104 - an address to refuse
])
def test_metadata_fetch_refuses_inward_addresses_in_every_form(address):
    from app.auth.client_metadata import _address_allowed

    assert _address_allowed(address, allow_private=False) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "64:ff9b::8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_metadata_fetch_allows_public_addresses(address):
    from app.auth.client_metadata import _address_allowed

    assert _address_allowed(address, allow_private=False) is True


@pytest.mark.parametrize("path", ["/oauth/register", "/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_deeply_nested_json_is_a_400_not_a_crash(http, path):
    body = "[" * 50_000 + "]" * 50_000
    r = http.post(path, content=body, headers={"Content-Type": "application/json",
                                                "X-Forwarded-For": "198.18.200.3"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_request", "invalid_client_metadata")
