"""Redirect URI rules: what may be registered, and how a presented URI is matched (exact; loopback any port)."""

from __future__ import annotations

import pytest

from app.auth.clients import ClientError, validate_redirect_uri
from app.auth.redirects import form_action_source, redirect_target, redirect_uri_matches
from tests.helpers_oauth import authorize_params, browser_sign_in, make_client, pkce

CALLBACKS = [
    "https://chatgpt.com/connector_platform_oauth_redirect",
    "https://chatgpt.com/connector/oauth/abc123",
    "https://chatgpt.com/aip/callback",
    "https://claude.ai/api/mcp/auth_callback",
    "https://claude.com/api/mcp/auth_callback",
    "http://localhost:33418/callback",
    "http://127.0.0.1:8765/cb",
    "http://[::1]:9000/cb",
    "cursor://anysphere.cursor-retrieval/oauth/user-secondlayer/callback",
    "com.example.app:/oauth2redirect",
]


@pytest.mark.parametrize("uri", CALLBACKS)
def test_real_client_callbacks_are_accepted(uri):
    assert validate_redirect_uri(uri) == uri


def test_surrounding_whitespace_is_stripped():
    assert (
        validate_redirect_uri("  https://claude.ai/api/mcp/auth_callback\n")
        == "https://claude.ai/api/mcp/auth_callback"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  jAvAsCrIpT:alert(1)  ",
        "\tjavascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:text/html,x",
        "vbscript:msgbox(1)",
        "VBScript:x",
        "file:///etc/passwd",
        "FILE:///c:/x",
        " file:///etc/passwd ",
        "https://chatgpt.com/aip/callback#frag",
        "https://chatgpt.com/aip/callback#",
        "cursor://x/cb#y",
        "",
        "   ",
        "/relative/callback",
        "chatgpt.com/callback",
        "http://evil.example.com/cb",
        "https://user:pw@chatgpt.com/cb",
        "https://chatgpt.com/a b",
        "java\nscript:alert(1)",
        "https:///nohost",
    ],
)
def test_dangerous_or_malformed_uris_are_refused(uri):
    with pytest.raises(ClientError):
        validate_redirect_uri(uri)


def test_exact_match_required_for_https():
    registered = ["https://chatgpt.com/aip/callback"]
    assert redirect_uri_matches(registered, "https://chatgpt.com/aip/callback")
    for other in [
        "https://chatgpt.com/aip/callback/",
        "https://CHATGPT.com/aip/callback",
        "https://chatgpt.com/aip/callback?x=1",
        "https://chatgpt.com:443/aip/callback",
        "https://chatgpt.com.evil.com/aip/callback",
        " https://chatgpt.com/aip/callback",
    ]:
        assert not redirect_uri_matches(registered, other), other


def test_loopback_matches_on_any_port_only():
    registered = ["http://127.0.0.1:3000/callback", "http://localhost/cb", "http://[::1]:1/x"]
    assert redirect_uri_matches(registered, "http://127.0.0.1:51234/callback")
    assert redirect_uri_matches(registered, "http://127.0.0.1/callback")
    assert redirect_uri_matches(registered, "http://localhost:8080/cb")
    assert redirect_uri_matches(registered, "http://[::1]:4242/x")
    assert not redirect_uri_matches(registered, "http://127.0.0.1:51234/other")
    assert not redirect_uri_matches(registered, "http://localhost:8080/callback")  # host differs
    assert not redirect_uri_matches(registered, "https://127.0.0.1:51234/callback")  # scheme differs
    assert not redirect_uri_matches(registered, "http://127.0.0.1:51234/callback?x=1")
    assert not redirect_uri_matches(["https://localhost:3000/cb"], "https://localhost:3001/cb")  # https: exact


def test_consent_target_and_csp_source():
    assert redirect_target("https://chatgpt.com/aip/callback") == "chatgpt.com"
    assert redirect_target("cursor://anysphere.cursor-retrieval/cb") == "cursor://anysphere.cursor-retrieval"
    assert form_action_source("https://chatgpt.com/aip/callback?x=1") == "https://chatgpt.com"
    assert form_action_source("http://127.0.0.1:5555/cb") == "http://127.0.0.1:*"
    assert form_action_source("cursor://x/cb") == "cursor:"


def test_consent_page_host_shows_punycode_for_look_alikes():
    assert redirect_target("https://chatgpt.com/aip/callback") == "chatgpt.com"
    assert redirect_target("http://127.0.0.1:8123/cb") == "127.0.0.1:8123"
    assert redirect_target("cursor://anysphere.cursor-retrieval/oauth") == "cursor://anysphere.cursor-retrieval"
    # Cyrillic "а" in place of the Latin "a": the page names the real (punycode) host next to it.
    assert redirect_target("https://\u0430pple.com/cb") == "\u0430pple.com (xn--pple-43d.com)"
    assert redirect_target("https://\u0430pple.com:8443/cb") == "\u0430pple.com:8443 (xn--pple-43d.com:8443)"


@pytest.mark.parametrize(
    "uri",
    [
        "https://a;b.example/cb",
        "https://a,b.example/cb",
        "https://a%62.example/cb",
        "https://a..b.example/cb",
        "https://-a.example/cb",
        "https://a_b.example/cb",
        "https://a'b.example/cb",
    ],
)
def test_hosts_with_characters_no_host_name_has_are_refused(uri):
    with pytest.raises(ClientError, match="not a valid host name"):
        validate_redirect_uri(uri)


def test_ordinary_and_international_hosts_are_accepted():
    for uri in (
        "https://sub-domain.example.co.uk:8443/x?y=1",
        "https://\u0430pple.com/cb",
        "https://example.com./cb",
        "http://[::1]:9000/cb",
    ):
        assert validate_redirect_uri(uri) == uri


# ---- over HTTP: what once answered 500 -------------------------------------------------------------------------


def test_an_idn_redirect_host_gets_the_consent_page_and_a_punycode_redirect(http, dbrun, make_user):
    """The raw Unicode host once went into the CSP header: a 500 for every such client."""
    client = make_client(dbrun, "none", "https://\u0430pple.com/cb")
    _, challenge = pkce()
    params = authorize_params(client, challenge)
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text[:300]
    assert "https://xn--pple-43d.com" in page.headers["Content-Security-Policy"]
    assert "xn--pple-43d.com" in page.text
    answer = browser_sign_in(http, params, make_user()["email"])
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("https://xn--pple-43d.com/cb?code=")


@pytest.mark.parametrize("suffix", ["%0D", "%0A", "%09", "%00"])
def test_a_control_character_in_the_presented_redirect_uri_is_refused_before_anything_is_written(
    http, dbrun, make_user, suffix
):
    """urlsplit drops tab/CR/LF, so "/lo\\rop" once matched a registered loopback "/loop" and failed later."""
    from urllib.parse import unquote

    import sqlalchemy as sa

    from app.db.tables import oauth_authorization_codes

    client = make_client(dbrun, "none", "http://127.0.0.1:1234/loop")
    _, challenge = pkce()
    presented = "http://127.0.0.1:1234/lo" + unquote(suffix) + "op"
    params = authorize_params(client, challenge, redirect_uri=presented)
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 400 and "not registered" in page.text
    before = dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(oauth_authorization_codes)))
    fields = {**params, "email": make_user()["email"], "password": "correct horse battery", "decision": "allow"}
    http.get("/oauth/authorize", params=authorize_params(client, challenge))  # for the _xsrf cookie
    posted = http.post("/oauth/authorize", data={**fields, "_xsrf": http.cookies.get("_xsrf")})
    assert posted.status_code == 400
    assert dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(oauth_authorization_codes))) == before


@pytest.mark.parametrize(
    "uri",
    [
        "view-source:https://example.com/",
        "javascript+x:alert(1)",
        "JavaScript.x:1",
        "chrome-extension://abc/cb",
        "wss://example.com/cb",
        "intent://cb",
    ],
)
def test_browser_interpreted_schemes_are_refused(uri):
    with pytest.raises(ClientError):
        validate_redirect_uri(uri)


@pytest.mark.parametrize("field", ["logo_uri", "client_uri", "tos_uri", "policy_uri"])
@pytest.mark.parametrize("value", ["javascript:alert(1)", "data:text/html,x", "//no-scheme.example/x", "ftp://x/y"])
def test_registration_refuses_link_fields_that_are_not_web_urls(http, dbrun, field, value):
    from app.db.tables import rate_limits

    dbrun(lambda db: db.execute(rate_limits.delete().where(rate_limits.c.key.like("register:%"))))
    r = http.post(
        "/oauth/register",
        json={"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"], "client_name": "Links", field: value},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    assert field in r.json()["error_description"]
