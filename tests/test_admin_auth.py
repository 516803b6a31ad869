"""Operator console sign-in and sessions: who gets in, the cookie's rules, XSRF, throttling, sign-out."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers_admin import Browser, audit_rows, field_block
from tests.helpers_server import ServerThread, free_port, server_settings

PAGES = [
    "/admin",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/users",
    "/admin/users/new",
    "/admin/audit",
    "/admin/scheduler",
]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitor_is_sent_to_sign_in(browser, path):
    r = browser.get(path + "?x=1")
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path == "/admin/login"
    assert parse_qs(location.query)["next"] == [path + "?x=1"]


def test_signed_out_post_is_sent_to_sign_in_and_changes_nothing(browser, dbrun):
    r = browser.post(
        "/admin/users/new",
        {"email": "nobody-made@example.com", "password": "long enough pw", "confirm_password": "long enough pw"},
        form_page="/admin/login",
    )
    assert r.status_code == 303
    assert r.headers["Location"] == "/admin/login"
    assert dbrun(lambda db: db.fetch_one("SELECT id FROM users WHERE email = 'nobody-made@example.com'")) is None


def test_sign_in_page_is_branded_and_has_the_form(browser):
    r = browser.get("/admin/login")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert 'name="email"' in r.text and 'name="password"' in r.text
    assert "SecondLayer" in r.text and "style.css" in r.text


def test_operator_signs_in_with_a_strict_session_cookie(browser, operator, database_url):
    r = browser.sign_in(operator["email"], operator["password"])
    assert r.status_code == 303
    assert r.headers["Location"] == "/admin"
    cookie = next(v for k, v in r.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("sl_session="))
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "expires=" in lowered
    assert "secure" not in lowered  # PUBLIC_URL is http on loopback in the tests
    home = browser.get("/admin")
    assert home.status_code == 200
    assert operator["email"] in home.text
    entries = audit_rows(database_url, "signin.ok", actor=operator["email"])
    assert entries and entries[0]["details"]["purpose"] == "admin"


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(browser, operator):
    browser.get("/admin/login?next=/admin/users")
    r = browser.post(
        "/admin/login", {"email": operator["email"], "password": operator["password"], "next": "/admin/users"}
    )
    assert r.headers["Location"] == "/admin/users"
    for evil in ("https://evil.example/admin", "//evil.example/admin", "/elsewhere"):
        r = browser.post("/admin/login", {"email": operator["email"], "password": operator["password"], "next": evil})
        assert r.headers["Location"] == "/admin"


@pytest.mark.parametrize("evil", ["/admin/users\r\nSet-Cookie: sl_session=forged", "/admin\t/users", "/admin\x7f"])
def test_sign_in_refuses_a_next_path_with_control_characters(browser, operator, evil):
    """The console follows the same safe-redirect rule as the language switch: no control characters."""
    page = browser.get("/admin/login", params={"next": evil})
    assert 'name="next" value="/admin"' in page.text
    r = browser.post("/admin/login", {"email": operator["email"], "password": operator["password"], "next": evil})
    assert r.status_code == 303 and r.headers["Location"] == "/admin"


def test_wrong_password_is_refused_with_the_error_shown(browser, operator, database_url):
    r = browser.sign_in(operator["email"], "not the password")
    assert r.status_code == 400
    assert "Wrong email or password" in r.text
    assert "sl_session" not in r.headers.get("set-cookie", "")
    entries = audit_rows(database_url, "signin.failed", actor=operator["email"])
    assert entries[0]["details"] == {"purpose": "admin", "reason": "invalid_credentials"}


def test_empty_fields_are_errors_next_to_them(browser):
    r = browser.post("/admin/login", {"email": "", "password": ""}, form_page="/admin/login")
    assert r.status_code == 400
    assert "This field is required" in field_block(r.text, "email")
    assert "This field is required" in field_block(r.text, "password")


def test_non_operator_cannot_sign_in(browser, make_user, database_url):
    user = make_user()
    r = browser.sign_in(user["email"], user["password"])
    assert r.status_code == 403
    assert "This account is not an operator" in r.text
    assert audit_rows(database_url, "signin.failed", actor=user["email"])[0]["details"]["reason"] == "not_operator"


def test_disabled_operator_cannot_sign_in(browser, make_user):
    user = make_user(is_admin=True, disabled=True)
    r = browser.sign_in(user["email"], user["password"])
    assert r.status_code == 403
    assert "This account is disabled" in r.text


def test_non_operator_with_a_session_gets_403(server, make_user, dbrun):
    """A session from the OAuth consent page is no ticket into the console."""
    from app.auth.signin import SESSION_COOKIE, start_session

    user = make_user()
    token = dbrun(lambda db: start_session(db, server.settings, user["id"], ip=None, user_agent="test"))
    b = Browser(server.url)
    try:
        b.client.cookies.set(SESSION_COOKIE.name, _signed(server, SESSION_COOKIE.name, token))
        for path in ("/admin", "/admin/users"):
            r = b.get(path)
            assert r.status_code == 403
            assert "This account is not an operator" in r.text
    finally:
        b.close()


def _signed(server, name: str, value: str) -> str:
    from tornado.web import create_signed_value

    return create_signed_value(server.settings.cookie_secret, name, value).decode()


def test_missing_xsrf_token_is_refused(admin, database_url):
    r = admin.post("/admin/users/new", {"email": "xsrf-victim@example.com"}, xsrf=False)
    assert r.status_code == 403
    assert "_xsrf" in r.text or "XSRF" in r.text
    assert not [
        row
        for row in audit_rows(database_url, "user.create")
        if row["details"].get("email") == "xsrf-victim@example.com"
    ]


def test_wrong_xsrf_token_is_refused(admin):
    admin.get("/admin/users/new")
    r = admin.client.post("/admin/users/new", data={"email": "x@example.com", "_xsrf": "2|00|00|00"})
    assert r.status_code == 403


def test_tampered_session_cookie_is_ignored(server):
    b = Browser(server.url)
    try:
        b.client.cookies.set("sl_session", "sls_forged-value")
        r = b.get("/admin")
        assert r.status_code == 302
    finally:
        b.close()


def test_expired_session_sends_back_to_sign_in(admin, dbrun):
    assert admin.get("/admin").status_code == 200
    email = admin.user["email"]
    dbrun(
        lambda db: db.execute(
            "UPDATE web_sessions SET expires_at = now() - interval '1 second' "
            "WHERE user_id = (SELECT id FROM users WHERE email = %(e)s)",
            {"e": email},
        )
    )
    r = admin.get("/admin")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/admin/login")


def test_sign_out_ends_the_session(admin, database_url, dbrun):
    cookie = admin.client.cookies.get("sl_session")
    r = admin.post("/admin/logout", {}, form_page="/admin")
    assert r.status_code == 303
    assert r.headers["Location"] == "/admin/login"
    page = admin.follow(r)
    assert "You are signed out" in page.text
    assert admin.get("/admin").status_code == 302
    # The old cookie is dead on the server too, not just forgotten by this browser.
    b = Browser(str(admin.client.base_url))
    try:
        b.client.cookies.set("sl_session", cookie)
        assert b.get("/admin").status_code == 302
    finally:
        b.close()
    entries = audit_rows(database_url, "signout", actor=admin.user["email"])
    assert entries and entries[0]["details"]["purpose"] == "admin"


def test_repeated_failures_are_throttled(server, make_user, database_url, admin):
    # A documentation address, so the lockout of this IP does not shut the other tests out.
    user = make_user(is_admin=True)
    b = Browser(server.url, **{"X-Forwarded-For": "203.0.113.77"})
    try:
        for _ in range(server.settings.login_max_failures):
            assert b.sign_in(user["email"], "wrong password!").status_code == 400
        r = b.sign_in(user["email"], user["password"])
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert "Too many failed attempts" in r.text
        for _ in range(2):
            assert b.sign_in(user["email"], "wrong password!").status_code == 429
    finally:
        b.close()
    # One entry for the lockout, counting its refusals, which the console's audit page shows and finds.
    entries = audit_rows(database_url, "signin.throttled", actor=user["email"])
    assert len(entries) == 1 and entries[0]["details"]["attempts"] == 3
    page = admin.get("/admin/audit", params={"action": "signin.throttled", "actor": user["email"]})
    assert page.status_code == 200 and user["email"] in page.text
    assert "<dt>Refused attempts</dt><dd><span>3</span></dd>" in page.text, page.text


def test_session_cookie_is_secure_behind_https(database_url, data_dir, make_user):
    port = free_port()
    settings = server_settings(database_url, data_dir, port, PUBLIC_URL=f"https://127.0.0.1:{port}")
    thread = ServerThread(settings, database_url).start()
    user = make_user(is_admin=True)
    b = Browser(thread.url)
    try:
        r = b.get("/admin/login")
        # The XSRF cookie is Secure as well; hand it back by hand since this test server speaks plain http.
        xsrf_cookie = (
            next(v for k, v in r.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("_xsrf="))
            .split(";")[0]
            .split("=", 1)[1]
        )
        b.client.cookies.set("_xsrf", xsrf_cookie)
        r = b.client.post("/admin/login", data={"email": user["email"], "password": user["password"], "_xsrf": b.token})
        assert r.status_code == 303
        cookie = next(
            v for k, v in r.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("sl_session=")
        )
        assert "secure" in cookie.lower()
        assert "httponly" in cookie.lower()
    finally:
        b.close()
        thread.stop()


def test_console_speaks_ukrainian(admin):
    admin.client.cookies.set("lang", "uk")
    r = admin.get("/admin/users")
    assert "Користувачі" in r.text
    assert '<html lang="uk"' in r.text


def test_pages_are_never_cached(admin):
    for path in PAGES:
        r = admin.get(path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "no-store"


def test_random_emails_do_not_reveal_accounts(browser):
    r = browser.sign_in(f"nobody-{secrets.token_hex(4)}@example.com", "whatever password")
    assert r.status_code == 400
    assert "Wrong email or password" in r.text
