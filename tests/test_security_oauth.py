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
