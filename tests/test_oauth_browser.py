"""The sign-in and consent page in real headless Chromium: a person signs in, allows, and the browser lands on
the client's callback with a code (which Chrome blocks if the page's CSP form-action does not allow it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from app.audit import Actor
from app.auth.clients import set_client_disabled
from app.db.tables import rate_limits
from tests.helpers_browser import (
    LOCALES,
    VIEWPORTS,
    assert_language_switcher_top_right,
    assert_no_sideways_scroll,
    off_loop,
    text_lines,
)
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
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "mcp",
        "resource": f"{server.url}/mcp",
    }
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
    assert params == {
        "error": "access_denied",
        "state": "deny-state",
        "iss": server.url,
        **({"error_description": params["error_description"]} if "error_description" in params else {}),
    }
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


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("locale, verified", [("uk-UA", "перевірений домен"), ("en-US", "verified domain")])
def test_chatgpt_metadata_document_client_in_a_real_browser(
    chromium, server, make_user, dbrun, docs, locale, verified, width
):
    """ChatGPT's shape end to end in Chromium: the consent page names the verified domain; Allow ends on
    https://chatgpt.com/connector_platform_oauth_redirect (answered by Playwright: nothing leaves the machine),
    which Chrome only follows if our CSP form-action allows it; the code is exchanged with a signed assertion."""
    off_loop(dbrun, lambda db: db.execute(rate_limits.delete().where(rate_limits.c.key.like("register:%"))))
    chatgpt = ChatGPTLike(docs)
    user = off_loop(make_user)
    verifier, challenge = pkce()
    context = chromium.new_context(locale=locale, viewport=VIEWPORTS[width])
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
    assert text_lines(page, ".client-host code") == 1 and text_lines(page, "code.logo-host") == 1
    assert_no_sideways_scroll(page)
    page.screenshot(path=str(artifact_path(f"oauth-chatgpt-{locale}-{width}.png")), full_page=True)
    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[value=allow]")
    page.wait_for_url(f"{CHATGPT}?**")
    assert "ChatGPT callback reached" in page.content()
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed[0]).query).items()}
    assert params["state"] == f"chatgpt-{locale}" and params["iss"] == server.url
    context.close()
    token_url = f"{server.url}/oauth/token"
    r = off_loop(
        _post_token,
        server.url,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "code_verifier": verifier,
            "redirect_uri": CHATGPT,
            **chatgpt.auth(token_url),
        },
    )
    assert r.status_code == 200 and r.json()["access_token"].startswith("mcp_token_"), r.text


# ---- how the page reads: both languages, desktop and phone -------------------------------------------------

CONSENT_TEXT = {
    "en": {"sent_to": "After you decide, you will be sent to", "wrong": "Wrong email or password"},
    "uk": {
        "sent_to": "Після вашого рішення вас буде переспрямовано на",
        "wrong": "Неправильна електронна пошта або пароль",
    },
}


def _page(chromium: Any, lang: str, width: str, **options: Any) -> Any:
    context = chromium.new_context(locale=LOCALES[lang], viewport=VIEWPORTS[width], **options)
    context.set_default_timeout(15000)
    return context.new_page()


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("lang", LOCALES)
def test_the_sign_in_page_reads_well(chromium, server, make_user, dbrun, callback_port, lang, width):
    """The redirect host stays whole on one line, the sentence ends with a full stop, and after a wrong password
    the email is kept and the cursor waits in the password field."""
    user = off_loop(make_user)
    client = off_loop(make_client, dbrun, "none", f"http://127.0.0.1:{callback_port}/callback")
    _, challenge = pkce()
    # Its own address, so that the wrong passwords of the other runs never throttle this one.
    page = _page(
        chromium,
        lang,
        width,
        extra_http_headers={"X-Forwarded-For": f"10.78.{len(lang)}.{VIEWPORTS[width]['width'] % 250}"},
    )
    page.goto(_authorize_url(server, client, challenge, "reads-well"))
    host = f"127.0.0.1:{callback_port}"
    sentence = page.locator("p", has=page.locator("code.redirect-host"))
    assert sentence.inner_text().replace("\u200b", "") == f"{CONSENT_TEXT[lang]['sent_to']} {host}."
    assert text_lines(page, "code.redirect-host") == 1
    assert page.evaluate("document.activeElement.id") == "email"
    assert_no_sideways_scroll(page)
    assert_language_switcher_top_right(page)
    page.screenshot(path=str(artifact_path(f"oauth-sign-in-{lang}-{width}.png")), full_page=True)

    page.fill("input[name=email]", user["email"])
    page.fill("input[name=password]", "not the password")
    page.click("button[value=allow]")
    page.wait_for_selector(".flash.error")
    assert CONSENT_TEXT[lang]["wrong"] in page.inner_text(".flash.error")
    assert page.input_value("input[name=email]") == user["email"]
    assert page.evaluate("document.activeElement.id") == "password"
    page.screenshot(path=str(artifact_path(f"oauth-wrong-password-{lang}-{width}.png")), full_page=True)
    page.context.close()


ERROR_PAGES = {
    # case: (what the page's heading says, what it tells the person to do) in each language
    "unknown-client": {
        "en": ("This app is not registered here", "Ask your administrator to register this app"),
        "uk": ("Цей застосунок тут не зареєстровано", "Попросіть адміністратора зареєструвати цей застосунок"),
    },
    "unregistered-redirect": {
        "en": ("This app's return address is not registered", "add the app's redirect URI to its registration"),
        "uk": ("Адресу повернення цього застосунку не зареєстровано", "додати URI переспрямування застосунку"),
    },
    "disabled-client": {
        "en": ("This app has been switched off", "Ask your administrator to enable it again"),
        "uk": ("Цей застосунок вимкнено", "Попросіть адміністратора знову його ввімкнути"),
    },
    "incomplete-request": {
        "en": ("This sign-in link is not complete", "Go back to the app and connect again."),
        "uk": ("Посилання для входу неповне", "Поверніться до застосунку і підключіться знову."),
    },
    "not-found": {
        "en": ("Page not found", "Check the address, or start again from the home page."),
        "uk": ("Сторінку не знайдено", "Перевірте адресу або почніть знову з головної сторінки."),
    },
}


def _error_url(server: Any, dbrun: Any, case: str) -> tuple[str, int]:
    """The address that shows the error page `case`, and the status it answers with."""
    _, challenge = pkce()
    if case == "not-found":
        return f"{server.url}/no/such/page", 404
    client = make_client(dbrun, "none", "https://claude.ai/api/mcp/auth_callback")
    if case == "unknown-client":
        client = replace(client, client_id="slc_not_registered_anywhere")
    elif case == "unregistered-redirect":
        client = replace(client, redirect_uri="https://elsewhere.example.com/callback")
    elif case == "disabled-client":
        dbrun(lambda db: set_client_disabled(db, client.client_id, True, actor=Actor("test")))
        return _authorize_url(server, client, challenge, "s"), 403
    elif case == "incomplete-request":
        return f"{server.url}/oauth/authorize?client_id=", 400
    return _authorize_url(server, client, challenge, "s"), 400


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("lang", LOCALES)
@pytest.mark.parametrize("case", ERROR_PAGES)
def test_error_pages_say_what_happened_and_what_to_do(chromium, server, dbrun, case, lang, width):
    """Someone sent here by ChatGPT or Claude reads what happened and what to do first; the status and the
    request id (what an administrator needs) come below."""
    url, status = off_loop(_error_url, server, dbrun, case)
    page = _page(chromium, lang, width)
    response = page.goto(url)
    assert response.status == status
    title, advice = ERROR_PAGES[case][lang]
    assert page.inner_text("h1") == title
    assert advice in page.inner_text(".advice")
    tech = page.inner_text("dl.tech")
    assert str(status) in tech and response.headers["x-request-id"] in tech
    # The plain words come first, the technical detail below them.
    assert page.locator(".advice").bounding_box()["y"] < page.locator("dl.tech").bounding_box()["y"]
    assert_no_sideways_scroll(page)
    assert_language_switcher_top_right(page)
    page.screenshot(path=str(artifact_path(f"error-{case}-{lang}-{width}.png")), full_page=True)
    page.context.close()
