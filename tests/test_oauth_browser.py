"""The sign-in and consent page in real headless Chromium: a person signs in, allows, and the browser lands on
the client's callback with a code (which Chrome blocks if the page's CSP form-action does not allow it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from app.db.tables import rate_limits
from tests.helpers_browser import off_loop
from tests.helpers_http import CheckedClient
from tests.helpers_oauth import CHATGPT, PASSWORD, ChatGPTLike, Client, exchange, make_client, pkce
from tests.helpers_server import artifact_path


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name BaseHTTPRequestHandler calls
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"connector callback reached")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def callback_port() -> Iterator[int]:
    """A stand-in for the connector's callback page, on loopback."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def _exchange_code(server_url: str, client: Client, code: str, verifier: str) -> httpx2.Response:
    with CheckedClient(server_url) as http:
        return exchange(http, client, code, verifier)


def _post_token(server_url: str, body: dict[str, str]) -> httpx2.Response:
    with CheckedClient(server_url) as http:
        return http.post("/oauth/token", data=body)


def _authorize_url(server: Any, client: Any, challenge: str, state: str) -> str:
    query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": client.redirect_uri,
             "state": state, "code_challenge": challenge, "code_challenge_method": "S256", "scope": "mcp",
             "resource": f"{server.url}/mcp"}
    return f"{server.url}/oauth/authorize?{urlencode(query)}"


def test_sign_in_allow_lands_on_the_callback_with_a_code(chromium, server, make_user, dbrun, callback_port):
    user = off_loop(make_user)
    client = off_loop(make_client, dbrun, "client_secret_post", f"http://127.0.0.1:{callback_port}/callback")
    verifier, challenge = pkce()
    context = chromium.new_context(locale="uk-UA", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(_authorize_url(server, client, challenge, "browser-state-1"))
    assert "Test Connector" in page.content()
    assert "127.0.0.1" in page.inner_text("body")  # where it will redirect is shown
    page.screenshot(path=str(artifact_path("oauth-sign-in-uk.png")), full_page=True)
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(url=f"http://127.0.0.1:{callback_port}/callback?**"):
        page.click("button[value=allow]")
    landed = urlsplit(page.url)
    params = {k: v[0] for k, v in parse_qs(landed.query).items()}
    assert params["state"] == "browser-state-1" and params["iss"] == server.url
    assert "connector callback reached" in page.content()
    tokens = off_loop(_exchange_code, server.url, client, params["code"], verifier)
    assert tokens.status_code == 200 and tokens.json()["access_token"].startswith("mcp_token_")

    # Signed in already (session cookie): the second time the page asks for consent only.
    verifier, challenge = pkce()
    page.goto(_authorize_url(server, client, challenge, "browser-state-2"))
    assert page.locator("input[name=password]").count() == 0
    page.screenshot(path=str(artifact_path("oauth-consent-uk.png")), full_page=True)
    with page.expect_navigation(url=f"http://127.0.0.1:{callback_port}/callback?**"):
        page.click("button[value=allow]")
    assert "code=" in page.url and "state=browser-state-2" in page.url
    context.close()


def test_deny_lands_on_the_callback_with_access_denied(chromium, server, make_user, dbrun, callback_port):
    user = off_loop(make_user)
    client = off_loop(make_client, dbrun, "none", f"http://127.0.0.1:{callback_port}/cb")
    _, challenge = pkce()
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(_authorize_url(server, client, challenge, "deny-state"))
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", PASSWORD)
    page.screenshot(path=str(artifact_path("oauth-sign-in-en.png")), full_page=True)
    with page.expect_navigation(url=f"http://127.0.0.1:{callback_port}/cb?**"):
        page.click("button[value=deny]")
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params == {"error": "access_denied", "state": "deny-state", "iss": server.url,
                      **({"error_description": params["error_description"]} if "error_description" in params
                         else {})}
    context.close()


def test_wrong_password_stays_on_the_page_with_the_error(chromium, server, make_user, dbrun, callback_port):
    user = off_loop(make_user)
    client = off_loop(make_client, dbrun, "none", f"http://127.0.0.1:{callback_port}/cb")
    _, challenge = pkce()
    context = chromium.new_context(locale="en-US", extra_http_headers={"X-Forwarded-For": "10.77.0.1"})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(_authorize_url(server, client, challenge, "s"))
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", "not the password")
    page.click("button[value=allow]")
    page.wait_for_load_state()
    assert page.url.startswith(server.url)
    assert "Wrong email or password" in page.inner_text("body")
    context.close()


@pytest.mark.parametrize("locale, verified", [("uk-UA", "перевірений домен"), ("en-US", "verified domain")])
def test_chatgpt_metadata_document_client_in_a_real_browser(chromium, server, make_user, dbrun, docs,
                                                            locale, verified):
    """ChatGPT's shape end to end in Chromium: the consent page names the verified domain; Allow ends on
    https://chatgpt.com/connector_platform_oauth_redirect (answered by Playwright: nothing leaves the machine),
    which Chrome only follows if our CSP form-action allows it; the code is exchanged with a signed assertion."""
    off_loop(dbrun, lambda db: db.execute(rate_limits.delete().where(rate_limits.c.key.like("register:%"))))
    chatgpt = ChatGPTLike(docs)
    user = off_loop(make_user)
    verifier, challenge = pkce()
    context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    landed: list[str] = []

    def connector_callback(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="ChatGPT callback reached")

    context.route("https://chatgpt.com/**", connector_callback)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(_authorize_url(server, chatgpt.as_client, challenge, f"chatgpt-{locale}"))
    body = page.inner_text("body")
    assert "ChatGPT" in body and verified in body and f"127.0.0.1:{docs.port}" in body
    assert "persistent.oaistatic.com" in body
    page.screenshot(path=str(artifact_path(f"oauth-chatgpt-{locale}.png")), full_page=True)
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=allow]")
    page.wait_for_url(f"{CHATGPT}?**")
    assert "ChatGPT callback reached" in page.content()
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[0]).query).items()}
    assert params["state"] == f"chatgpt-{locale}" and params["iss"] == server.url
    context.close()
    token_url = f"{server.url}/oauth/token"
    r = off_loop(_post_token, server.url, {
        "grant_type": "authorization_code", "code": params["code"], "code_verifier": verifier,
        "redirect_uri": CHATGPT, **chatgpt.auth(token_url)})
    assert r.status_code == 200 and r.json()["access_token"].startswith("mcp_token_"), r.text
