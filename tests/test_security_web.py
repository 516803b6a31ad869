"""Security review: redirects, headers and markup of the browser-facing pages."""

from __future__ import annotations

import httpx2
import pytest

from tests.helpers_http import CheckedClient


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example/",  # browsers read "\" as "/": "//evil.example/", another host
        "/\\/evil.example/",
        "\\\\evil.example",
        "/%09/evil.example",  # a tab becomes a space in Tornado's arguments; never a host
    ],
)
def test_language_switch_refuses_backslash_tricks(http, target):
    r = http.get("/lang/en", params={"next": target})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location == "/" or (location.startswith("/") and "\\" not in location and not location.startswith("//"))


def test_language_switch_still_returns_to_a_local_page_with_its_query(http):
    target = "/oauth/authorize?client_id=x&redirect_uri=https%3A%2F%2Fclaude.ai%2Fcb"
    r = http.get("/lang/uk", params={"next": target})
    assert r.status_code == 302 and r.headers["Location"] == target


@pytest.mark.parametrize("target", ["/admin\\..\\\\evil.example", "https://evil.example/admin", "//evil.example/admin"])
def test_admin_sign_in_next_is_never_another_site(http, target):
    page = http.get("/admin/login", params={"next": target})
    assert page.status_code == 200
    assert 'name="next" value="/admin"' in page.text


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/register", "/oauth/revoke", "/oauth/introspect"])
def test_an_oversized_oauth_body_is_413_in_the_oauth_error_shape(http, settings, path):
    """It was a bare 400 and a reset: Tornado refused the body before any handler ran."""
    body = "grant_type=authorization_code&code=" + "x" * settings.max_body_bytes
    ctype = "application/json" if path == "/oauth/register" else "application/x-www-form-urlencoded"
    if path == "/oauth/register":
        body = '{"client_name": "' + "x" * settings.max_body_bytes + '"}'
    r = http.post(path, content=body, headers={"Content-Type": ctype})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "invalid_request" and str(settings.max_body_bytes) in r.json()["error_description"]
    assert http.get("/healthz").status_code == 200  # the connection is still good


def test_a_far_oversized_oauth_body_is_refused_at_once(server, settings):
    with CheckedClient(server.url) as client:
        try:
            r = client.post(
                "/oauth/token",
                content=b"x" * settings.max_body_bytes * 17,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx2.TransportError:
            return  # closed while we were still sending: also a refusal
        assert r.status_code == 413 and r.headers.get("Connection") == "close"
        assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("TRACE", "/oauth/token", {"POST", "OPTIONS"}),
        ("PUT", "/oauth/token", {"POST", "OPTIONS"}),
        ("TRACE", "/healthz", {"GET"}),
        ("DELETE", "/api/tools", {"GET"}),
        ("PATCH", "/mcp", {"GET", "POST", "DELETE", "OPTIONS"}),
        ("TRACE", "/oauth/authorize", {"GET", "POST"}),
        ("BREW", "/healthz", {"GET"}),
    ],
)
def test_405_names_the_allowed_methods(http, method, path, allowed):
    r = http.request(method, path)
    assert r.status_code == 405, r.text
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == allowed
