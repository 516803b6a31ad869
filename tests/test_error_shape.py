"""The two JSON error shapes, pinned in one place: RFC 6749 on the OAuth endpoints, {"error": {code, message}}
everywhere else. No HTML and no stack trace ever reaches an API client."""

from __future__ import annotations

import pytest

from tests.helpers_tokens import bearer


def _product_shape(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "field"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert response.headers["Content-Type"].startswith("application/json")
    return body["error"]


def _oauth_shape(response):
    body = response.json()
    assert {"error"} <= set(body) <= {"error", "error_description", "error_uri"}, body
    assert isinstance(body["error"], str)
    assert response.headers["Content-Type"].startswith("application/json")
    return body


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/api/tools", {}, 401, "unauthorized"),
        ("POST", "/mcp", {"json": {}}, 401, "unauthorized"),
        ("GET", "/api/no-such-thing", {}, 404, "not_found"),
    ],
)
def test_product_errors_without_credentials(http, method, path, kwargs, status, code):
    r = http.request(method, path, **kwargs)
    assert r.status_code == status
    assert _product_shape(r)["code"] == code


def test_product_errors_with_credentials(http, key):
    headers = bearer(key)
    cases = [
        (http.post("/api/tools/nope", json={}, headers=headers), 404, "unknown_tool"),
        (
            http.post("/api/tools/server_info", content=b"{}", headers={**headers, "Content-Type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (
            http.post(
                "/api/tools/server_info", content=b"{not json", headers={**headers, "Content-Type": "application/json"}
            ),
            400,
            "invalid_json",
        ),
        (http.post("/api/tools/server_info", json={"surprise": 1}, headers=headers), 422, "invalid_arguments"),
        (http.delete("/api/tools", headers=headers), 405, "method_not_allowed"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert _product_shape(response)["code"] == code


def test_oauth_errors_use_rfc6749_shape(http):
    cases = [
        http.post("/oauth/token", data={"grant_type": "password"}),
        http.post("/oauth/token", json={"grant_type": "authorization_code", "code": "x"}),
        http.post("/oauth/revoke", data={}),
        http.post("/oauth/register", json={"redirect_uris": ["javascript:alert(1)"]}),
        http.post("/oauth/introspect", data={"token": "x"}),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, response.text
        _oauth_shape(response)
        assert response.headers.get("Cache-Control") == "no-store"
