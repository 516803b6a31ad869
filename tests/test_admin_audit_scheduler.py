"""Operator console: the overview, the audit log with its filters, the scheduler page and "run now"."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

from app import audit
from tests.helpers_admin import audit_rows, field_block


def seed(dbrun, action: str, actor: str, target_type: str, target_id: str, at: str | None = None) -> None:
    async def go(db):
        await audit.record(
            db, action, actor=audit.Actor(actor), target_type=target_type, target_id=target_id, details={"seeded": True}
        )
        if at:
            await db.execute("UPDATE audit_log SET at = %(at)s WHERE id = (SELECT max(id) FROM audit_log)", {"at": at})

    dbrun(go)


def rows_of(page: str) -> list[str]:
    """The HTML of each table row, without the <wbr> line-break points that ids and URLs carry."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return body.replace("<wbr>", "").split("<tr>")[1:]


def text_of(row: str) -> str:
    return re.sub(r"<[^>]+>", "", row)


def test_overview_counts(admin):
    r = admin.get("/admin")
    assert r.status_code == 200
    assert "OAuth clients" in r.text and "Live API keys" in r.text
    assert "/admin/clients/new" in r.text


def test_audit_log_filters_by_action_actor_target_and_dates(admin, dbrun):
    tag = secrets.token_hex(3)
    action = f"test.audit_{tag}"
    seed(dbrun, action, f"alice-{tag}@example.com", "user", "41", "2024-03-01T10:00:00Z")
    seed(dbrun, action, f"bob-{tag}@example.com", "client", "slc_x", "2024-03-05T10:00:00Z")
    seed(dbrun, action, f"alice-{tag}@example.com", "client", "slc_y", "2024-03-09T10:00:00Z")

    page = admin.get(f"/admin/audit?action={action}")
    assert page.status_code == 200
    assert len(rows_of(page.text)) == 3
    assert f'<option selected value="{action}">' in page.text or f'value="{action}" selected' in page.text

    page = admin.get(f"/admin/audit?action={action}&actor=ALICE-{tag}")
    assert len(rows_of(page.text)) == 2

    page = admin.get(f"/admin/audit?action={action}&target=client:slc_x")
    rows = rows_of(page.text)
    assert len(rows) == 1 and f"bob-{tag}" in rows[0]

    page = admin.get(f"/admin/audit?action={action}&target=client")
    assert len(rows_of(page.text)) == 2

    page = admin.get(f"/admin/audit?action={action}&since=2024-03-05&until=2024-03-05")
    rows = rows_of(page.text)
    assert len(rows) == 1 and "2024-03-05 10:00 UTC" in text_of(rows[0])

    page = admin.get(f"/admin/audit?action={action}&since=2024-03-02")
    assert len(rows_of(page.text)) == 2


def test_audit_log_bad_dates_are_errors_next_to_the_field(admin):
    r = admin.get("/admin/audit?since=yesterday")
    assert r.status_code == 400
    assert "Enter a date as YYYY-MM-DD" in field_block(r.text, "since")
    r = admin.get("/admin/audit?since=2024-03-09&until=2024-03-01")
    assert r.status_code == 400
    assert "The end date is before the start date" in field_block(r.text, "until")


def test_audit_log_is_paginated_newest_first(admin, dbrun):
    tag = secrets.token_hex(3)
    action = f"test.page_{tag}"
    for i in range(55):
        seed(
            dbrun,
            action,
            "pager@example.com",
            "item",
            str(i),
            (dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i)).isoformat(),
        )
    first = admin.get(f"/admin/audit?action={action}")
    assert len(rows_of(first.text)) == 50
    assert "item:54" in rows_of(first.text)[0]
    assert "Page 1 of 2" in first.text
    next_match = re.search(r'href="\?([^"]+)" rel="next"', first.text)
    assert next_match, "no next-page link"
    next_link = next_match.group(1).replace("&amp;", "&")
    assert "page=2" in next_link and f"action={action}".replace(".", ".") in next_link.replace("%2E", ".")
    second = admin.get(f"/admin/audit?{next_link}")
    rows = rows_of(second.text)
    assert len(rows) == 5 and "item:0" in rows[-1]


def test_admin_actions_show_up_in_the_log(admin, make_user):
    user = make_user()
    admin.post(f"/admin/users/{user['id']}/operator/grant", {}, form_page=f"/admin/users/{user['id']}")
    page = admin.get(f"/admin/audit?action=user.grant_operator&target=user:{user['id']}")
    rows = rows_of(page.text)
    assert len(rows) == 1
    assert admin.user["email"] in rows[0] and f"user:{user['id']}" in rows[0] and "UTC" in rows[0]


def test_scheduler_shows_the_schedule_and_next_run(admin, settings):
    r = admin.get("/admin/scheduler")
    assert r.status_code == 200
    assert f"<code>{settings.cleanup_cron}</code>" in r.text
    assert re.search(r"Next run</dt><dd>\d{4}-\d\d-\d\d 03:00 UTC", r.text)
    assert f"AUDIT_RETENTION_DAYS)</dt><dd>{settings.audit_retention_days} days</dd>" in r.text


def test_run_now_runs_the_cleanup_and_records_it(admin, dbrun, database_url):
    dbrun(
        lambda db: db.execute(
            "INSERT INTO web_sessions (session_hash, user_id, expires_at) "
            "VALUES (%(h)s, %(u)s, now() - interval '1 hour')",
            {"h": "expired-" + secrets.token_hex(8), "u": admin.user["id"]},
        )
    )
    r = admin.post("/admin/scheduler/run", {}, form_page="/admin/scheduler")
    assert r.status_code == 303
    page = admin.follow(r)
    assert re.search(r"Cleanup finished: \d+ rows deleted", page.text)
    run = dbrun(lambda db: db.fetch_one("SELECT * FROM job_runs ORDER BY id DESC LIMIT 1"))
    assert run["trigger"] == "manual" and run["status"] == "ok" and run["rows_deleted"] >= 1
    assert run["details"]["web_sessions"] >= 1
    row = rows_of(page.text)[0]
    assert "By an operator (Run now)" in row and "ok" in row and " ms<" in row
    assert "<dt>Browser sessions</dt>" in row and "{" not in row  # what was deleted, in words, not JSON
    row = rows_of(admin.get("/admin/scheduler", headers={"Accept-Language": "uk"}).text)[0]
    assert "Оператором («Запустити зараз»)" in row and " мс<" in row and "<dt>Сеанси браузера</dt>" in row
    entry = audit_rows(database_url, "cleanup.run", target_id=str(run["id"]))[0]
    assert entry["actor"] == admin.user["email"]
    assert entry["details"]["status"] == "ok"


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit"])
@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 5000, "-5", "x", "1e9"])
def test_an_absurd_page_number_is_a_page_not_a_500(admin, path, page):
    """page=99999999999999999999 once overflowed the SQL offset (bigint out of range)."""
    r = admin.get(f"{path}?page={page}")
    assert r.status_code == 200, r.text[:300]


def test_audit_details_read_as_words_not_json(admin, dbrun):
    tag = secrets.token_hex(3)
    action = f"test.details_{tag}"

    async def go(db):
        await audit.record(
            db,
            action,
            actor=audit.Actor("someone@example.com"),
            target_type="client",
            target_id=f"slc_{tag}",
            details={
                "name": "ChatGPT",
                "source": "operator",
                "is_admin": False,
                "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
                "old_secret_valid_until": "2026-03-01T10:00:00+00:00",
                "reason": "no_password",
            },
        )

    dbrun(go)
    row = rows_of(admin.get(f"/admin/audit?action={action}").text)[0]
    assert "{" not in row
    for label, value in [
        ("Name", "ChatGPT"),
        ("Registered by", "an operator"),
        ("Operator", "no"),
        ("Previous secret works until", "2026-03-01 10:00 UTC"),
        ("Reason", "the account has no password"),
    ]:
        assert f"<dt>{label}</dt><dd><span>{value}</span></dd>" in row
    assert "<code>https://chatgpt.com/connector_platform_oauth_redirect</code>" in row
    # The target is a link that filters the log by it.
    assert f'href="/admin/audit?target=client%3Aslc_{tag}"' in row
    row = rows_of(admin.get(f"/admin/audit?action={action}", headers={"Accept-Language": "uk"}).text)[0]
    assert "<dt>Як зареєстровано</dt><dd><span>оператор</span></dd>" in row
    assert "<dt>Причина</dt><dd><span>обліковий запис не має пароля</span></dd>" in row
