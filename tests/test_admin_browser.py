"""The operator console in real headless Chromium (Debian's package, driven by Playwright), with screenshots.

Chromium missing means skip, unless SECONDLAYER_REQUIRE_BROWSER=1 (CI), where it is a failure.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, TypeVar

import pytest

from app.auth.passwords import verify_password
from tests.helpers_admin import issue_grant, register_client
from tests.helpers_browser import (
    DESKTOP,
    LOCALES,
    PHONE,
    VIEWPORTS,
    assert_language_switcher_top_right,
    assert_no_sideways_scroll,
    expect,
    off_loop,
)
from tests.helpers_server import artifact_path, run_db

T = TypeVar("T")


def new_page(chromium: Any, server: Any, viewport: dict[str, int], locale: str = "en-US", **options: Any) -> Any:
    context = chromium.new_context(viewport=viewport, locale=locale, base_url=server.url, **options)
    context.set_default_timeout(15000)
    return context.new_page()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(artifact_path(f"admin-{name}.png")), full_page=True)


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/admin")
    assert "/admin/login" in page.url
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin$"))


def flash(page: Any) -> str:
    return str(page.locator(".flash").first.inner_text())


def test_operator_console_end_to_end(chromium, server, make_user, database_url, dbrun):
    operator = off_loop(make_user, email=f"browser-op-{secrets.token_hex(3)}@example.com", is_admin=True)
    member = off_loop(make_user, email=f"lawyer-{secrets.token_hex(3)}@example.com")
    page = new_page(chromium, server, DESKTOP, permissions=["clipboard-read", "clipboard-write"])

    page.goto("/admin/login")
    shot(page, "login")
    sign_in(page, operator["email"], operator["password"])
    shot(page, "overview")

    # Register a client and copy its secret with the copy button.
    page.get_by_role("link", name="Clients", exact=True).click()
    page.get_by_role("link", name="Register a client").first.click()
    page.fill("#name", "ChatGPT (browser test)")
    page.fill("#redirect_uris", "https://chatgpt.com/connector_platform_oauth_redirect")
    shot(page, "client-new")
    page.get_by_role("button", name="Register").click()
    page.wait_for_selector("#v-client-secret")
    secret = page.inner_text("#v-client-secret")
    client_id = page.inner_text("#v-client-id")
    assert secret.startswith("mcp_secret_")
    copy = page.locator('button[data-copy="v-client-secret"]')
    assert copy.is_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert page.inner_text("#v-authorize") == f"{server.url}/oauth/authorize"
    shot(page, "client-secret")

    # Rotate it: the confirmation states the grace period, the new secret is shown once.
    page.get_by_role("link", name="Done").click()
    shot(page, "client")
    page.get_by_role("link", name="Rotate the secret").click()
    assert "keeps working for 24 h" in page.inner_text("main")
    shot(page, "confirm-rotate")
    page.get_by_role("button", name="Rotate the secret").click()
    page.wait_for_selector("#v-client-secret")
    rotated = page.inner_text("#v-client-secret")
    assert rotated.startswith("mcp_secret_") and rotated != secret
    assert "The previous secret keeps working until" in page.inner_text("main")
    shot(page, "client-rotated")

    # A grant of the member to this client, made through the OAuth code exchange.
    client = off_loop(
        dbrun, lambda db: db.fetch_one("SELECT * FROM oauth_clients WHERE client_id = %(c)s", {"c": client_id})
    )
    grant = off_loop(issue_grant, database_url, server.settings, client, member)

    # Find the member, set their password.
    page.get_by_role("link", name="Users", exact=True).click()
    page.fill("#q", member["email"])
    page.get_by_role("button", name="Search").click()
    shot(page, "users")
    page.get_by_role("link", name=member["email"]).click()
    page.fill("#password", "a new long password")
    page.fill("#confirm_password", "a new long password")
    page.get_by_role("button", name="Set the password").click()
    assert f"Password of {member['email']} set" in flash(page)
    stored = off_loop(
        dbrun, lambda db: db.fetch_value("SELECT password_hash FROM users WHERE id = %(u)s", {"u": member["id"]})
    )
    assert off_loop(run_db, database_url, lambda db: verify_password("a new long password", stored))

    # Create an API key, copy it, then revoke it.
    page.fill("#name", "nightly report")
    page.get_by_role("button", name="Create an API key").click()
    page.wait_for_selector("#v-api-key")
    key = page.inner_text("#v-api-key")
    assert key.startswith("sl_")
    page.locator('button[data-copy="v-api-key"]').click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    shot(page, "api-key")
    page.get_by_role("link", name="Done").click()
    shot(page, "user")
    page.locator("#api-keys").get_by_role("link", name="Revoke").click()
    shot(page, "confirm-revoke-key")
    page.get_by_role("button", name="Revoke the key").click()
    assert "revoked" in flash(page)
    assert (
        off_loop(
            dbrun,
            lambda db: db.fetch_value("SELECT revoked_at FROM api_keys WHERE user_id = %(u)s", {"u": member["id"]}),
        )
        is not None
    )

    # Revoke the grant from the user's page.
    grants = page.locator("#grants")
    assert "ChatGPT (browser test)" in grants.inner_text()
    grants.get_by_role("link", name="Revoke", exact=True).click()
    page.get_by_role("button", name="Revoke the grant").click()
    assert "revoked" in flash(page)
    assert "No active grants." in page.locator("#grants").inner_text()
    assert (
        off_loop(
            dbrun, lambda db: db.fetch_value("SELECT revoked_at FROM oauth_grants WHERE id = %(g)s", {"g": grant["id"]})
        )
        is not None
    )

    # The audit log shows what was done; the scheduler runs the cleanup on demand.
    page.get_by_role("link", name="Audit log").click()
    page.fill("#actor", operator["email"])
    page.get_by_role("button", name="Filter").click()
    log = page.inner_text("table")
    for action in (
        "client.register",
        "client.rotate_secret",
        "user.set_password",
        "api_key.create",
        "api_key.revoke",
        "grant.revoke",
    ):
        assert action in log
    shot(page, "audit")
    page.get_by_role("link", name="Scheduler").click()
    page.get_by_role("button", name="Run now").click()
    assert "Cleanup finished" in flash(page)
    shot(page, "scheduler")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/admin/login"))
    assert "You are signed out" in flash(page)
    page.context.close()


def test_console_on_a_phone(chromium, server, make_user, database_url):
    operator = off_loop(make_user, is_admin=True)
    member = off_loop(make_user)
    client, _ = off_loop(
        register_client, database_url, name="Claude (phone)", redirect_uri="https://claude.ai/api/mcp/auth_callback"
    )
    off_loop(issue_grant, database_url, server.settings, client, member)
    page = new_page(chromium, server, PHONE, is_mobile=True, has_touch=True)
    sign_in(page, operator["email"], operator["password"])
    shot(page, "phone-overview")
    for name, path in (
        ("clients", "/admin/clients"),
        ("users", f"/admin/users?q={member['email']}"),
        ("user", f"/admin/users/{member['id']}"),
        ("client", f"/admin/clients/{client['id']}"),
        ("audit", "/admin/audit"),
        ("scheduler", "/admin/scheduler"),
    ):
        page.goto(path)
        shot(page, f"phone-{name}")
        assert_no_sideways_scroll(page)
    # The same page in Ukrainian, whose longer words must fit as well.
    page.get_by_role("link", name="УКР").click()
    page.goto(f"/admin/users/{member['id']}")
    assert "Обліковий запис" in page.inner_text("main")
    assert_no_sideways_scroll(page)
    shot(page, "phone-user-uk")
    page.context.close()


def test_every_action_works_without_javascript(chromium, server, make_user, dbrun):
    operator = off_loop(make_user, is_admin=True)
    member = off_loop(make_user)
    page = new_page(chromium, server, DESKTOP, java_script_enabled=False)
    sign_in(page, operator["email"], operator["password"])
    page.goto(f"/admin/users/{member['id']}")
    page.fill("#name", "no-js key")
    page.get_by_role("button", name="Create an API key").click()
    page.wait_for_selector("#v-api-key")
    # Without JavaScript the copy button stays hidden and the key is plain selectable text.
    assert not page.locator('button[data-copy="v-api-key"]').is_visible()
    assert page.inner_text("#v-api-key").startswith("sl_")
    page.goto(f"/admin/users/{member['id']}")
    page.locator("#api-keys").get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke the key").click()
    assert "revoked" in flash(page)
    page.get_by_role("link", name="Disable").click()
    page.get_by_role("button", name="Disable the user").click()
    assert "disabled" in flash(page)
    assert off_loop(
        dbrun, lambda db: db.fetch_value("SELECT disabled FROM users WHERE id = %(u)s", {"u": member["id"]})
    )
    page.context.close()


# ---- every page in both languages, on a desktop and on a phone ------------------------------------------------

TOUR_TEXT = {
    "en": {
        "quote": "“{}”",
        "ms": " ms",
        "own": "This is your own account",
        "redirect_uris": "Redirect URIs",
        "wrong": "Wrong email or password",
    },
    "uk": {
        "quote": "«{}»",
        "ms": " мс",
        "own": "Це ваш власний обліковий запис",
        "redirect_uris": "URI переспрямування",
        "wrong": "Неправильна електронна пошта або пароль",
    },
}
# Each Copy button's right edge, and how far its top is from its value's top.
COPY_BUTTONS = """
[...document.querySelectorAll('.copy-line')].map(line => {
  const value = line.querySelector('code').getBoundingClientRect();
  const button = line.querySelector('button.copy').getBoundingClientRect();
  return [Math.round(button.right), Math.round(Math.abs(button.top - value.top))];
})
"""


def tour_shot(page: Any, name: str, lang: str, width: str) -> None:
    """Check what every page must do, then keep a screenshot of it."""
    assert_no_sideways_scroll(page)
    assert_language_switcher_top_right(page)
    shot(page, f"tour-{name}-{lang}-{width}")


def copy_buttons_line_up(page: Any) -> None:
    """Every Copy button sits at the right end of its row, level with the top of the value it copies."""
    buttons = page.evaluate(COPY_BUTTONS)
    assert buttons, "no Copy buttons shown"
    assert len({right for right, _ in buttons}) == 1, buttons
    assert all(offset <= 2 for _, offset in buttons), buttons


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("lang", LOCALES)
def test_console_pages_in_both_languages_on_desktop_and_phone(chromium, server, make_user, lang, width):
    text = TOUR_TEXT[lang]
    operator = off_loop(make_user, is_admin=True)
    off_loop(make_user, is_admin=True)  # not the last operator (test_admin_users.py shows that page)
    member = off_loop(make_user)
    name = f"ChatGPT ({lang}, {width})"
    phone = width == "phone"
    page = new_page(
        chromium,
        server,
        VIEWPORTS[width],
        LOCALES[lang],
        is_mobile=phone,
        has_touch=phone,
        extra_http_headers={"X-Forwarded-For": f"10.79.{len(lang)}.{VIEWPORTS[width]['width'] % 250}"},
    )

    # Sign-in: after a wrong password the email stays and the cursor waits in the password field.
    page.goto("/admin/login")
    page.fill("#email", operator["email"])
    page.fill("#password", "not the password")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".flash.error")
    assert text["wrong"] in page.inner_text(".flash.error")
    assert page.input_value("#email") == operator["email"]
    assert page.evaluate("document.activeElement.id") == "password"
    tour_shot(page, "login", lang, width)
    page.fill("#password", operator["password"])
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))
    tour_shot(page, "overview", lang, width)

    # A client registered in the form: the values to paste, each with its Copy button in the same place.
    page.goto("/admin/clients/new")
    page.fill("#name", name)
    page.fill("#redirect_uris", "https://chatgpt.com/connector_platform_oauth_redirect")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#v-client-secret")
    assert text["quote"].format(name) in page.inner_text("h1")
    copy_buttons_line_up(page)
    tour_shot(page, "client-secret", lang, width)
    client_id = page.inner_text("#v-client-id")
    client_page = page.get_attribute("main p.actions a.button", "href")

    page.goto(client_page)
    copy_buttons_line_up(page)
    tour_shot(page, "client", lang, width)
    page.goto(f"{client_page}/delete")
    assert text["quote"].format(name) in page.inner_text("h1")
    tour_shot(page, "confirm-delete-client", lang, width)
    page.goto("/admin/clients")
    tour_shot(page, "clients", lang, width)

    page.goto(f"/admin/users?q={member['email']}")
    tour_shot(page, "users", lang, width)
    page.goto(f"/admin/users/{member['id']}")
    tour_shot(page, "user", lang, width)
    # Disabling yourself is allowed, but the page says what it does to you first.
    page.goto(f"/admin/users/{operator['id']}/disable")
    assert text["own"] in page.inner_text(".flash.warn")
    tour_shot(page, "confirm-disable-self", lang, width)

    # The scheduler: a run's duration in the page's language, what it deleted in words.
    page.goto("/admin/scheduler")
    page.click("form[action='/admin/scheduler/run'] button")
    page.wait_for_url(re.compile(r"/admin/scheduler$"))
    first = page.locator("table tbody tr").first
    assert first.locator("td[data-label]").nth(4).inner_text().endswith(text["ms"].strip())
    assert "{" not in first.inner_text()
    tour_shot(page, "scheduler", lang, width)

    # The audit log: the client's registration, its details as a labelled list; its target filters the log.
    page.goto("/admin/audit?action=client.register")
    assert "client:slc_…" in page.inner_text("#target-hint")
    page.locator("table tbody td[data-label] a", has_text=client_id).first.click()
    page.wait_for_url(re.compile(r"target=client%3Aslc_"))
    entry = page.locator("table tbody tr").first
    assert text["redirect_uris"] in entry.locator("dl.kv").inner_text() and "{" not in entry.inner_text()
    tour_shot(page, "audit", lang, width)
    page.context.close()
