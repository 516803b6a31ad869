"""The branded base template: logo, CSS, Ukrainian and English, language switch, page headers, and where ids
and URLs shown on pages may break across lines."""

from __future__ import annotations

import pytest

from app.handlers.base import breakable


def test_home_page_is_branded_and_english_by_default(http):
    r = http.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "SecondLayer" in r.text and "/static/logo.svg" in r.text and "/static/style.css" in r.text
    assert '<html lang="en">' in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_accept_language_uk_gives_ukrainian(http):
    r = http.get("/", headers={"Accept": "text/html", "Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"})
    assert '<html lang="uk">' in r.text
    assert "Консоль оператора" in r.text


def test_language_switch_sets_cookie_and_returns_to_local_page(http):
    r = http.get("/lang/uk", params={"next": "/?x=1"})
    assert r.status_code == 302 and r.headers["Location"] == "/?x=1"
    assert "lang=uk" in r.headers["Set-Cookie"] and "httponly" in r.headers["Set-Cookie"].lower()
    page = http.get("/", headers={"Accept": "text/html", "Accept-Language": "en", "Cookie": "lang=uk"})
    assert '<html lang="uk">' in page.text  # the choice wins over the browser's language


def test_language_switch_is_not_an_open_redirect(http):
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        r = http.get("/lang/en", params={"next": target})
        assert r.status_code == 302 and r.headers["Location"] == "/"


def test_static_files_are_served(http):
    logo = http.get("/static/logo.svg")
    assert logo.status_code == 200 and logo.text.lstrip().startswith("<svg")
    css = http.get("/static/style.css")
    assert css.status_code == 200 and "--blue" in css.text


def test_unknown_page_for_a_browser_is_branded_html_404(http):
    r = http.get("/no/such/page", headers={"Accept": "text/html", "Accept-Language": "uk"})
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Не знайдено" in r.text and "SecondLayer" in r.text


@pytest.mark.parametrize(
    "value, shown",
    [
        # A URL breaks after "//", before "/" and after "_", never inside its host and port.
        ("http://127.0.0.1:8109/oauth/authorize", "http://<wbr>127.0.0.1:8109<wbr>/oauth<wbr>/authorize"),
        (
            "https://chatgpt.com/connector_platform_oauth_redirect",
            "https://<wbr>chatgpt.com<wbr>/connector_<wbr>platform_<wbr>oauth_<wbr>redirect",
        ),
        # An id or an audit target breaks after its "kind:" only: its random letters, "_" and "-" stay together.
        ("client:slc_kOA7_FXbC-cNE6", "client:<wbr>slc_kOA7_FXbC-cNE6"),
        ("mcp_secret_ab-cd_ef", "mcp_secret_ab-cd_ef"),
        # A host breaks before a dot, a port never; an email before the "@".
        ("persistent.oaistatic.com", "persistent<wbr>.oaistatic<wbr>.com"),
        ("127.0.0.1:8109", "127<wbr>.0<wbr>.0<wbr>.1:8109"),
        ("lawyer@example.com", "lawyer<wbr>@example<wbr>.com"),
        ("<script>&", "&lt;script&gt;&amp;"),
    ],
)
def test_where_ids_and_urls_may_break(value, shown):
    assert breakable(value) == shown
