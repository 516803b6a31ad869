"""Security review: redirects, headers and markup of the browser-facing pages."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("target", [
    "/\\evil.example/",  # browsers read "\" as "/": "//evil.example/", another host
    "/\\/evil.example/",
    "\\\\evil.example",
    "/%09/evil.example",  # a tab becomes a space in Tornado's arguments; never a host
])
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
