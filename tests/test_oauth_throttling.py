"""Failed sign-ins on the consent page lock the guessing address out (for one account, or for all), never the
account itself; refusals are audited once per lockout."""

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


def _audit(dbrun, action, actor):
    return dbrun(
        lambda db: db.fetch_all(
            sa.select(audit_log)
            .where(audit_log.c.action == action, audit_log.c.actor == actor)
            .order_by(audit_log.c.id)
        )
    )


def test_a_guesser_locks_out_only_its_own_address(http, dbrun, make_user, settings):
    user = make_user()
    client = make_client(dbrun)
    for i in range(settings.login_max_failures):
        r = _attempt(http, client, user["email"], f"wrong-{i}-password", "198.51.100.7")
        assert r.status_code == 400, r.text
    # The guesser's address is locked for this account, even with the right password...
    r = _attempt(http, client, user["email"], PASSWORD, "198.51.100.7")
    assert r.status_code == 429
    assert "Too many failed attempts" in r.text and "Location" not in r.headers
    assert int(r.headers["Retry-After"]) > 0
    # ...while the owner, from an address that has not failed, still gets in, and the guesser stays locked.
    assert "code" in redirect_params(_attempt(http, client, user["email"], PASSWORD, "198.51.100.8"))
    http.cookies.clear()  # the owner's session cookie would sign the next request in
    assert _attempt(http, client, user["email"], PASSWORD, "198.51.100.7").status_code == 429
    assert len(_audit(dbrun, "signin.failed", user["email"])) == settings.login_max_failures
    assert len(_audit(dbrun, "signin.ok", user["email"])) == 1
    assert [e["details"]["attempts"] for e in _audit(dbrun, "signin.throttled", user["email"])] == [2]


def test_an_address_guessing_many_accounts_is_locked_out(http, dbrun, make_user, settings):
    client = make_client(dbrun)
    for i in range(settings.login_max_failures_per_address):
        assert (
            _attempt(http, client, f"nobody-{i}@example.com", "whatever-password", "198.51.100.20").status_code == 400
        )
    fresh = make_user()
    assert _attempt(http, client, fresh["email"], PASSWORD, "198.51.100.20").status_code == 429
    assert "code" in redirect_params(_attempt(http, client, fresh["email"], PASSWORD, "198.51.100.21"))
    # The address's lock names no account: it refuses whichever email is tried.
    entry = _audit(dbrun, "signin.throttled", "anonymous")[-1]
    assert entry["ip"] == "198.51.100.20" and entry["details"]["key"] == "ip:198.51.100.20"


def test_an_ipv6_guesser_is_counted_by_its_64(http, dbrun, make_user, settings):
    """One host usually holds a whole /64: new addresses in it do not buy new attempts."""
    user = make_user()
    client = make_client(dbrun)
    for i in range(settings.login_max_failures):
        _attempt(http, client, user["email"], f"wrong-{i}-password", f"2001:db8:5:7::{i + 1:x}")
    assert _attempt(http, client, user["email"], PASSWORD, "2001:db8:5:7:ffff::1").status_code == 429
    assert "code" in redirect_params(_attempt(http, client, user["email"], PASSWORD, "2001:db8:5:8::1"))


def test_refusals_during_a_lockout_are_one_audit_entry_with_a_count(http, dbrun, make_user, settings):
    """Retrying against a lock must not grow the audit log: one signin.throttled entry per lockout."""
    user = make_user()
    client = make_client(dbrun)
    for i in range(settings.login_max_failures):
        _attempt(http, client, user["email"], f"wrong-{i}-password", "198.51.100.40")
    for i in range(12):
        assert _attempt(http, client, user["email"], f"again-{i}-password", "198.51.100.40").status_code == 429
    entries = _audit(dbrun, "signin.throttled", user["email"])
    assert len(entries) == 1
    details = entries[0]["details"]
    assert details["attempts"] == 12 and details["purpose"] == "oauth"
    assert details["key"] == f"ip+account:198.51.100.40 {user['email']}"
    assert details["locked_until"] and details["last_at"]
    assert entries[0]["ip"] == "198.51.100.40"


def test_throttled_message_in_ukrainian(http, dbrun, make_user, settings):
    user = make_user()
    client = make_client(dbrun)
    http.cookies.set("lang", "uk")
    for i in range(settings.login_max_failures):
        _attempt(http, client, user["email"], f"wrong-{i}-password", "198.51.100.30")
    r = _attempt(http, client, user["email"], PASSWORD, "198.51.100.30")
    assert r.status_code == 429 and "Забагато невдалих спроб" in r.text
