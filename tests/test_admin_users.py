"""Operator console: users (list, search, create, passwords, disable, operator rights), API keys, grants."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from app.audit import Actor
from app.auth.passwords import verify_password
from app.db.schema import upgrade
from tests.helpers_admin import Browser, audit_rows, confirm, field_block, issue_grant, register_client
from tests.helpers_server import ServerThread, free_port, run_db, server_settings


def user_row(dbrun, user_id: int) -> dict[str, Any]:
    return dbrun(lambda db: db.fetch_one("SELECT * FROM users WHERE id = %(id)s", {"id": user_id}))


# ---- list and search -------------------------------------------------------------------------------


def test_users_are_listed_and_searched(admin, make_user):
    tag = secrets.token_hex(3)
    alice = make_user(email=f"alice-{tag}@example.com")
    make_user(email=f"bob-{tag}@example.com", is_admin=True)
    r = admin.get(f"/admin/users?q=alice-{tag}")
    assert r.status_code == 200
    assert alice["email"] in r.text
    assert f"bob-{tag}" not in r.text
    r = admin.get(f"/admin/users?q={tag}")
    assert alice["email"] in r.text and f"bob-{tag}@example.com" in r.text
    assert f'href="/admin/users/{alice["id"]}"' in r.text


def test_search_treats_wildcards_literally(admin, make_user):
    tag = secrets.token_hex(3)
    make_user(email=f"under-{tag}@example.com")
    r = admin.get("/admin/users?q=%25_%25" + tag)
    assert f"under-{tag}" not in r.text
    assert "No users match" in r.text


# ---- create ----------------------------------------------------------------------------------------


def test_operator_creates_a_user(admin, database_url, dbrun):
    email = f"new-{secrets.token_hex(4)}@example.com"
    r = admin.post(
        "/admin/users/new",
        {"email": email.upper(), "password": "a fine password", "confirm_password": "a fine password"},
    )
    assert r.status_code == 303
    page = admin.follow(r)
    assert f"User {email} created" in page.text
    row = dbrun(lambda db: db.fetch_one("SELECT * FROM users WHERE email = %(e)s", {"e": email}))
    assert row is not None and not row["is_admin"]
    assert row["password_hash"].startswith("$2")
    assert run_db(database_url, lambda db: verify_password("a fine password", row["password_hash"]))
    entry = audit_rows(database_url, "user.create", target_id=str(row["id"]))[0]
    assert entry["actor"] == admin.user["email"]
    assert entry["actor_user_id"] == admin.user["id"]


def test_create_operator_without_password(admin, dbrun):
    email = f"nopw-{secrets.token_hex(4)}@example.com"
    r = admin.post("/admin/users/new", {"email": email, "password": "", "confirm_password": "", "is_admin": "y"})
    assert r.status_code == 303
    row = dbrun(lambda db: db.fetch_one("SELECT * FROM users WHERE email = %(e)s", {"e": email}))
    assert row["is_admin"] and row["password_hash"] is None


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "not-an-email", "password": "", "confirm_password": ""}, "email", "not a valid email"),
        ({"email": "", "password": "", "confirm_password": ""}, "email", "This field is required"),
        (
            {"email": "short@example.com", "password": "short", "confirm_password": "short"},
            "password",
            "At least 8 characters",
        ),
        (
            {"email": "mismatch@example.com", "password": "long enough 1", "confirm_password": "long enough 2"},
            "confirm_password",
            "The passwords do not match",
        ),
        (
            {"email": "long@example.com", "password": "ж" * 40, "confirm_password": "ж" * 40},
            "password",
            "at most 72 bytes",
        ),
    ],
)
def test_create_user_validation_errors_sit_next_to_their_field(admin, dbrun, data, field, message):
    r = admin.post("/admin/users/new", data)
    assert r.status_code == 400
    assert message.lower() in field_block(r.text, field).lower()
    if data["email"]:
        assert (
            dbrun(
                lambda db: db.fetch_one("SELECT 1 FROM users WHERE lower(email) = lower(%(e)s)", {"e": data["email"]})
            )
            is None
        )


def test_duplicate_email_is_an_error_on_the_email_field(admin, make_user):
    taken = make_user()
    r = admin.post("/admin/users/new", {"email": taken["email"], "password": "", "confirm_password": ""})
    assert r.status_code == 400
    assert "already exists" in field_block(r.text, "email")


# ---- passwords -------------------------------------------------------------------------------------


def test_operator_sets_a_password(admin, make_user, dbrun, database_url, settings):
    from app.auth.signin import session_user, start_session

    user = make_user(password=None)
    session = dbrun(lambda db: start_session(db, settings, user["id"], ip=None, user_agent=None))
    page = admin.get(f"/admin/users/{user['id']}")
    assert "no password set" in page.text
    r = admin.post(
        f"/admin/users/{user['id']}/password", {"password": "brand new secret", "confirm_password": "brand new secret"}
    )
    assert r.status_code == 303
    assert f"Password of {user['email']} set" in admin.follow(r).text
    stored = user_row(dbrun, user["id"])["password_hash"]
    assert run_db(database_url, lambda db: verify_password("brand new secret", stored))
    entry = audit_rows(database_url, "user.set_password", target_id=str(user["id"]))[0]
    assert entry["actor"] == admin.user["email"]
    assert entry["ip"] == admin.client.headers["X-Forwarded-For"]  # who did it, from where
    assert dbrun(lambda db: session_user(db, session)) is None  # signed in with the old password: signed out


def test_password_errors_are_shown_next_to_the_field(admin, make_user, dbrun):
    user = make_user()
    before = user_row(dbrun, user["id"])["password_hash"]
    r = admin.post(f"/admin/users/{user['id']}/password", {"password": "short", "confirm_password": "short"})
    assert r.status_code == 400
    assert "At least 8 characters" in field_block(r.text, "password")
    r = admin.post(f"/admin/users/{user['id']}/password", {"password": "long enough A", "confirm_password": "B"})
    assert "The passwords do not match" in field_block(r.text, "confirm_password")
    assert user_row(dbrun, user["id"])["password_hash"] == before


def test_unknown_user_is_404(admin):
    r = admin.get("/admin/users/987654321")
    assert r.status_code == 404
    r = admin.post("/admin/users/987654321/password", {"password": "long enough", "confirm_password": "long enough"})
    assert r.status_code == 404


# ---- disable and enable ----------------------------------------------------------------------------


def test_disabling_asks_first_and_a_bare_post_does_nothing(admin, make_user, dbrun):
    user = make_user()
    page = admin.get(f"/admin/users/{user['id']}/disable")
    assert "API keys stop working" in page.text
    r = admin.post(f"/admin/users/{user['id']}/disable", {})
    assert r.status_code == 400
    assert "Confirm the action to continue" in r.text
    assert not user_row(dbrun, user["id"])["disabled"]


def test_disabling_a_user_revokes_everything_they_hold(admin, make_user, dbrun, database_url, settings):
    from app.auth.api_keys import create_api_key
    from app.auth.bearer import BearerError, resolve_credential
    from app.auth.signin import session_user, start_session

    user = make_user()
    client, _ = register_client(database_url, name="Claude", redirect_uri="https://claude.ai/api/mcp/auth_callback")
    grant = issue_grant(database_url, settings, client, user)
    _, key = dbrun(lambda db: create_api_key(db, user["email"], "script", actor=Actor("test")))
    session = dbrun(lambda db: start_session(db, settings, user["id"], ip=None, user_agent=None))

    r = confirm(admin, f"/admin/users/{user['id']}/disable")
    assert r.status_code == 303
    assert "disabled; their tokens are revoked" in admin.follow(r).text

    assert user_row(dbrun, user["id"])["disabled"]
    assert dbrun(lambda db: session_user(db, session)) is None
    grant_row = dbrun(lambda db: db.fetch_one("SELECT * FROM oauth_grants WHERE id = %(id)s", {"id": grant["id"]}))
    assert grant_row["revoked_at"] is not None
    for token in (key, grant["tokens"]["access_token"]):
        with pytest.raises(BearerError):
            dbrun(lambda db, token=token: resolve_credential(db, token, settings.accepted_audiences))
    assert audit_rows(database_url, "user.disable", target_id=str(user["id"]))[0]["actor"] == admin.user["email"]
    assert audit_rows(database_url, "grant.revoke_all", target_id=str(user["id"]))

    r = admin.post(f"/admin/users/{user['id']}/enable", {}, form_page=f"/admin/users/{user['id']}")
    assert r.status_code == 303
    assert not user_row(dbrun, user["id"])["disabled"]
    # Enabling gives back the account and its API keys, not the revoked grants.
    dbrun(lambda db: resolve_credential(db, key, settings.accepted_audiences))
    assert audit_rows(database_url, "user.enable", target_id=str(user["id"]))


# ---- operator rights -------------------------------------------------------------------------------


def test_granting_and_removing_operator_rights(admin, make_user, dbrun, database_url):
    user = make_user()
    r = admin.post(f"/admin/users/{user['id']}/operator/grant", {}, form_page=f"/admin/users/{user['id']}")
    assert r.status_code == 303
    assert "is now an operator" in admin.follow(r).text
    assert user_row(dbrun, user["id"])["is_admin"]
    assert audit_rows(database_url, "user.grant_operator", target_id=str(user["id"]))[0]["actor"] == admin.user["email"]
    r = confirm(admin, f"/admin/users/{user['id']}/operator/remove")
    assert r.status_code == 303
    assert not user_row(dbrun, user["id"])["is_admin"]
    assert audit_rows(database_url, "user.remove_operator", target_id=str(user["id"]))


@pytest.fixture(scope="module")
def lone(make_database, data_dir) -> Iterator[dict[str, Any]]:
    """A server on its own database whose only operator is the one signing in."""
    from app.auth.users import create_user

    url = make_database("sl_lone")
    upgrade(url)
    row = run_db(
        url,
        lambda db: create_user(
            db, "only-op@example.com", password="only operator pw", is_admin=True, rounds=4, actor=Actor("test")
        ),
    )
    thread = ServerThread(server_settings(url, data_dir, free_port()), url).start()
    b = Browser(thread.url)
    assert b.sign_in("only-op@example.com", "only operator pw").status_code == 303
    yield {"browser": b, "user": row, "url": url}
    b.close()
    thread.stop()


def test_the_last_operator_cannot_be_disabled_or_demoted(lone):
    b, user = lone["browser"], lone["user"]
    # The confirmation page says so before anything is sent, and offers no button to try.
    for action, warning in [
        ("disable", "disabling them would leave no one who can use this console"),
        ("operator/remove", "without their rights no one could use this console"),
    ]:
        page = b.get(f"/admin/users/{user['id']}/{action}")
        assert page.status_code == 200
        assert f"{user['email']} is the last operator: {warning}, so it is refused" in page.text
        assert 'name="confirm"' not in page.text
    # A POST regardless (a page opened before the other operators left) is refused after all.
    b.get(f"/admin/users/{user['id']}")
    r = b.post(f"/admin/users/{user['id']}/disable", {"confirm": "yes"})
    assert r.status_code == 303
    page = b.follow(r)
    assert "The last operator cannot be disabled" in page.text
    assert 'class="flash error"' in page.text
    r = b.post(f"/admin/users/{user['id']}/operator/remove", {"confirm": "yes"})
    assert "The last operator cannot lose operator rights" in b.follow(r).text
    row = run_db(lone["url"], lambda db: db.fetch_one("SELECT * FROM users WHERE id = %(id)s", {"id": user["id"]}))
    assert row is not None and row["is_admin"] and not row["disabled"]
    # With a second operator the first may step down.
    r = b.post(
        "/admin/users/new",
        {"email": "second-op@example.com", "password": "", "confirm_password": "", "is_admin": "y"},
        form_page="/admin/users/new",
    )
    assert r.status_code == 303
    page = b.get(f"/admin/users/{user['id']}/operator/remove")
    assert "is the last operator" not in page.text and "These are your own rights" in page.text
    r = confirm(b, f"/admin/users/{user['id']}/operator/remove")
    assert "is no longer an operator" in b.follow(r).text


# ---- API keys --------------------------------------------------------------------------------------


def test_api_key_is_shown_once_then_listed_by_prefix_and_revoked(admin, make_user, dbrun, database_url, settings):
    from app.auth.bearer import BearerError, resolve_credential

    user = make_user()
    r = admin.post(
        f"/admin/users/{user['id']}/api-keys", {"name": "nightly import"}, form_page=f"/admin/users/{user['id']}"
    )
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    key = r.text.split('id="v-api-key" class="select-all">', 1)[1].split("</code>", 1)[0].replace("<wbr>", "")
    assert key.startswith("sl_")
    assert "shown only on this page" in r.text
    principal = dbrun(lambda db: resolve_credential(db, key, settings.accepted_audiences))
    assert principal.user_id == user["id"]

    page = admin.get(f"/admin/users/{user['id']}")
    assert key not in page.text
    row = dbrun(lambda db: db.fetch_one("SELECT * FROM api_keys WHERE user_id = %(u)s", {"u": user["id"]}))
    assert row["prefix"] in page.text and "nightly import" in page.text
    assert key not in str(row)  # only the hash is stored
    assert audit_rows(database_url, "api_key.create", target_id=str(row["id"]))[0]["actor"] == admin.user["email"]

    r = confirm(admin, f"/admin/api-keys/{row['id']}/revoke")
    assert r.status_code == 303
    assert r.headers["Location"] == f"/admin/users/{user['id']}"
    assert f"API key {row['prefix']}… revoked" in admin.follow(r).text
    with pytest.raises(BearerError):
        dbrun(lambda db: resolve_credential(db, key, settings.accepted_audiences))
    assert audit_rows(database_url, "api_key.revoke", target_id=str(row["id"]))[0]["actor"] == admin.user["email"]


def test_api_key_needs_a_name(admin, make_user):
    user = make_user()
    r = admin.post(f"/admin/users/{user['id']}/api-keys", {"name": "  "}, form_page=f"/admin/users/{user['id']}")
    assert r.status_code == 400
    assert "This field is required" in field_block(r.text, "name")


# ---- grants ----------------------------------------------------------------------------------------


def test_user_grants_are_listed_and_revoked_one_or_all(admin, make_user, dbrun, database_url, settings):
    user = make_user()
    chatgpt, _ = register_client(database_url, name=f"ChatGPT {secrets.token_hex(2)}")
    claude, _ = register_client(database_url, name=f"Claude {secrets.token_hex(2)}")
    first = issue_grant(database_url, settings, chatgpt, user)
    issue_grant(database_url, settings, claude, user)

    page = admin.get(f"/admin/users/{user['id']}")
    assert chatgpt["name"] in page.text and claude["name"] in page.text
    assert f"/admin/grants/{first['id']}/revoke" in page.text

    r = confirm(admin, f"/admin/grants/{first['id']}/revoke?next=/admin/users/{user['id']}")
    assert r.status_code == 303
    assert r.headers["Location"] == f"/admin/users/{user['id']}"
    page = admin.follow(r)
    assert f"to “{chatgpt['name']}” revoked" in page.text
    assert f"/admin/grants/{first['id']}/revoke" not in page.text
    assert audit_rows(database_url, "grant.revoke", target_id=str(first["id"]))[0]["actor"] == admin.user["email"]

    r = confirm(admin, f"/admin/users/{user['id']}/grants/revoke")
    assert "1 grants revoked" in admin.follow(r).text
    live = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(*) FROM oauth_grants WHERE user_id = %(u)s AND revoked_at IS NULL", {"u": user["id"]}
        )
    )
    assert live == 0


def test_grant_revoke_never_redirects_off_the_console(admin, make_user, database_url, settings):
    user = make_user()
    client, _ = register_client(database_url)
    grant = issue_grant(database_url, settings, client, user)
    r = confirm(admin, f"/admin/grants/{grant['id']}/revoke?next=https://evil.example/")
    assert r.headers["Location"] == f"/admin/users/{user['id']}"


def test_refreshing_the_new_key_page_does_not_make_a_second_key(admin, make_user, dbrun):
    user = make_user()
    form = {"name": "refresh me", "once": "key-once-" + "z" * 16}
    first = admin.post(f"/admin/users/{user['id']}/api-keys", form, form_page=f"/admin/users/{user['id']}")
    assert first.status_code == 200
    again = admin.post(f"/admin/users/{user['id']}/api-keys", form)
    assert again.status_code == 303 and again.headers["Location"] == f"/admin/users/{user['id']}"
    assert "already submitted" in admin.follow(again).text
    count = dbrun(lambda db: db.fetch_value("SELECT count(*) FROM api_keys WHERE user_id = %(u)s", {"u": user["id"]}))
    assert count == 1
