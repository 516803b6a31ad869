"""Failed sign-ins on the consent page are throttled per account and per IP, and audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.db.tables import audit_log
from tests.helpers_oauth import PASSWORD, authorize_params, form_fields, make_client, pkce, redirect_params

pytestmark = pytest.mark.usefixtures("forget_failed_sign_ins")


def _attempt(http, client, email, password, ip):
    _, challenge = pkce()
    headers = {"X-Forwarded-For": ip}
    page = http.get("/oauth/authorize", params=authorize_params(client, challenge), headers=headers)
    fields = form_fields(page.text)
    fields.update(email=email, password=password, decision="allow")
    return http.post("/oauth/authorize", data=fields, headers=headers)


def test_account_locks_after_repeated_failures_even_with_the_right_password(http, dbrun, make_user, settings):
    user = make_user()
    client = make_client(dbrun)
    for i in range(settings.login_max_failures):
        r = _attempt(http, client, user["email"], f"wrong-{i}-password", "198.51.100.7")
        assert r.status_code == 400, r.text
    r = _attempt(http, client, user["email"], PASSWORD, "198.51.100.7")
    assert r.status_code == 429
    assert "Too many failed attempts" in r.text and "Location" not in r.headers
    assert int(r.headers["Retry-After"]) > 0
    # From another address the account is still locked: the lock is per account as well.
    assert _attempt(http, client, user["email"], PASSWORD, "198.51.100.8").status_code == 429
    actions = [row["action"] for row in dbrun(lambda db: db.fetch_all(
        sa.select(audit_log.c.action).where(audit_log.c.actor == user["email"]).order_by(audit_log.c.id)))]
    assert actions.count("signin.failed") == settings.login_max_failures
    assert "signin.throttled" in actions


def test_ip_locks_across_accounts(http, dbrun, make_user, settings):
    client = make_client(dbrun)
    for i in range(settings.login_max_failures):
        _attempt(http, client, f"nobody-{i}@example.com", "whatever-password", "198.51.100.20")
    fresh = make_user()
    assert _attempt(http, client, fresh["email"], PASSWORD, "198.51.100.20").status_code == 429
    r = _attempt(http, client, fresh["email"], PASSWORD, "198.51.100.21")
    assert "code" in redirect_params(r)


def test_throttled_message_in_ukrainian(http, dbrun, make_user, settings):
    user = make_user()
    client = make_client(dbrun)
    http.cookies.set("lang", "uk")
    for i in range(settings.login_max_failures):
        _attempt(http, client, user["email"], f"wrong-{i}-password", "198.51.100.30")
    r = _attempt(http, client, user["email"], PASSWORD, "198.51.100.30")
    assert r.status_code == 429 and "Забагато невдалих спроб" in r.text
