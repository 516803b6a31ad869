"""Operator console: OAuth clients (list, register, edit, rotate, disable, enable, delete) and their grants."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from app.auth.clients import verify_client_secret
from tests.helpers_admin import audit_rows, confirm, field_block, issue_grant, register_client

CHATGPT_REDIRECT = "https://chatgpt.com/connector_platform_oauth_redirect"


def shown(page: str, value_id: str) -> str:
    """The value shown to copy (its <wbr> line-break points are no part of it)."""
    match = re.search(rf'id="{value_id}" class="select-all">(.*?)</code>', page)
    assert match, f"{value_id} not on the page"
    return match.group(1).replace("<wbr>", "")


def find_client(dbrun, client_id: str) -> dict[str, Any] | None:
    return dbrun(lambda db: db.fetch_one("SELECT * FROM oauth_clients WHERE client_id = %(c)s", {"c": client_id}))


def client_row(dbrun, client_id: str) -> dict[str, Any]:
    row = find_client(dbrun, client_id)
    assert row is not None, f"no client {client_id}"
    return row


def register(admin, name: str | None = None, uris: str = CHATGPT_REDIRECT, **extra: str):
    data = {
        "name": name or f"ChatGPT {secrets.token_hex(3)}",
        "redirect_uris": uris,
        "auth_method": "client_secret_post",
        **extra,
    }
    return admin.post("/admin/clients/new", data, form_page="/admin/clients/new")


def test_register_shows_the_secret_once_beside_the_values_to_paste(admin, dbrun, database_url, settings):
    name = f"ChatGPT {secrets.token_hex(3)}"
    r = register(admin, name, f"{CHATGPT_REDIRECT}\r\n\r\nhttps://claude.ai/api/mcp/auth_callback\n")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    client_id = shown(r.text, "v-client-id")
    secret = shown(r.text, "v-client-secret")
    assert secret.startswith("mcp_secret_")
    base = settings.public_url
    assert shown(r.text, "v-authorize") == f"{base}/oauth/authorize"
    assert shown(r.text, "v-token") == f"{base}/oauth/token"
    assert shown(r.text, "v-scope") == "mcp"
    assert shown(r.text, "v-mcp") == f"{base}/mcp"
    assert 'data-copy="v-client-secret"' in r.text  # the copy button, shown by admin.js

    row = client_row(dbrun, client_id)
    assert row["name"] == name and row["registration_source"] == "operator"
    assert row["redirect_uris"] == [CHATGPT_REDIRECT, "https://claude.ai/api/mcp/auth_callback"]
    assert dbrun(lambda db: verify_client_secret(db, row["id"], secret))
    stored = dbrun(
        lambda db: db.fetch_all(
            "SELECT secret_hash FROM oauth_client_secrets WHERE client_pk = %(p)s", {"p": row["id"]}
        )
    )
    assert secret not in str(stored)
    entry = audit_rows(database_url, "client.register", target_id=client_id)[0]
    assert entry["actor"] == admin.user["email"] and entry["actor_user_id"] == admin.user["id"]

    # Never twice: neither the list nor the client's page shows it.
    for path in ("/admin/clients", f"/admin/clients/{row['id']}"):
        page = admin.get(path)
        assert name in page.text
        assert secret not in page.text


def test_register_a_public_client_has_no_secret(admin, dbrun):
    r = register(admin, auth_method="none", uris="http://127.0.0.1/callback")
    assert r.status_code == 200
    assert 'id="v-client-secret"' not in r.text
    assert "public client" in r.text
    assert client_row(dbrun, shown(r.text, "v-client-id"))["token_endpoint_auth_method"] == "none"


def test_register_with_http_basic_and_the_default_is_the_body(admin, dbrun):
    page = admin.get("/admin/clients/new")
    assert '<option selected value="client_secret_post">' in page.text
    r = register(admin, auth_method="client_secret_basic")
    assert shown(r.text, "v-auth-method") == "client_secret_basic"
    assert client_row(dbrun, shown(r.text, "v-client-id"))["token_endpoint_auth_method"] == "client_secret_basic"
    r = register(admin)
    assert shown(r.text, "v-auth-method") == "client_secret_post"
    r = register(admin, auth_method="client_secret_jwt")
    assert r.status_code == 400
    assert "Not a valid choice" in field_block(r.text, "auth_method")


def test_register_a_private_key_jwt_client_with_a_key_set_url_or_the_keys(admin, dbrun):
    r = register(admin, auth_method="private_key_jwt", jwks_uri="https://keys.example.com/jwks.json")
    assert r.status_code == 200, r.text
    assert 'id="v-client-secret"' not in r.text and shown(r.text, "v-auth-method") == "private_key_jwt"
    assert "https://keys.example.com/jwks.json" in r.text.replace("<wbr>", "")
    row = client_row(dbrun, shown(r.text, "v-client-id"))
    assert row["token_endpoint_auth_method"] == "private_key_jwt"
    assert row["jwks_uri"] == "https://keys.example.com/jwks.json" and row["jwks"] is None
    page = admin.get(f"/admin/clients/{row['id']}")
    assert "https://keys.example.com/jwks.json" in page.text.replace("<wbr>", "") and "/rotate" not in page.text

    key = {
        "kty": "EC",
        "crv": "P-256",
        "kid": "console-1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }
    r = register(admin, auth_method="private_key_jwt", jwks=json.dumps({"keys": [key]}))
    assert r.status_code == 200, r.text
    row = client_row(dbrun, shown(r.text, "v-client-id"))
    assert row["jwks"] == {"keys": [key]} and row["jwks_uri"] is None
    assert "console-1" in admin.get(f"/admin/clients/{row['id']}").text


@pytest.mark.parametrize(
    "extra, field, message",
    [
        ({"auth_method": "private_key_jwt"}, "jwks_uri", "private_key_jwt needs the client"),
        ({"auth_method": "private_key_jwt", "jwks": "{not json"}, "jwks", "Not JSON"),
        ({"auth_method": "private_key_jwt", "jwks": "[" * 10000 + "]" * 10000}, "jwks", "Not JSON"),
        ({"auth_method": "private_key_jwt", "jwks_uri": "http://keys.example.com/j"}, "jwks_uri", "https"),
        ({"auth_method": "private_key_jwt", "jwks": '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'}, "jwks", "oct"),
        (
            {"auth_method": "private_key_jwt", "jwks": '{"keys": []}', "jwks_uri": "https://k.example/j"},
            "jwks",
            "not both",
        ),
        (
            {"auth_method": "client_secret_post", "jwks_uri": "https://k.example/j"},
            "jwks_uri",
            "only with private_key_jwt",
        ),
    ],
)
def test_register_key_errors_sit_next_to_their_field(admin, dbrun, extra, field, message):
    before = dbrun(lambda db: db.fetch_value("SELECT count(*) FROM oauth_clients"))
    r = register(admin, **extra)
    assert r.status_code == 400
    assert message in field_block(r.text, field), field_block(r.text, field)
    assert dbrun(lambda db: db.fetch_value("SELECT count(*) FROM oauth_clients")) == before


@pytest.mark.parametrize(
    "name, uris, field, message",
    [
        ("", CHATGPT_REDIRECT, "name", "This field is required"),
        ("X", "", "redirect_uris", "Give at least one redirect URI"),
        ("X", "http://example.com/cb", "redirect_uris", "http redirect URIs are allowed only for loopback"),
        ("X", "javascript:alert(1)", "redirect_uris", "javascript: redirect URIs are not allowed"),
        ("X", "https://ok.example/cb\nhttps://bad.example/cb#frag", "redirect_uris", "must not contain a fragment"),
    ],
)
def test_register_validation_errors_sit_next_to_their_field(admin, dbrun, name, uris, field, message):
    before = dbrun(lambda db: db.fetch_value("SELECT count(*) FROM oauth_clients"))
    r = admin.post(
        "/admin/clients/new",
        {"name": name, "redirect_uris": uris, "auth_method": "client_secret_post"},
        form_page="/admin/clients/new",
    )
    assert r.status_code == 400
    assert message in field_block(r.text, field)
    assert dbrun(lambda db: db.fetch_value("SELECT count(*) FROM oauth_clients")) == before


def test_clients_list_shows_how_each_was_registered(admin, database_url, make_user, settings):
    client, _ = register_client(database_url, name=f"Listed {secrets.token_hex(3)}")
    issue_grant(database_url, settings, client, make_user())
    page = admin.get("/admin/clients")
    row = page.text.split(f'href="/admin/clients/{client["id"]}"', 1)[1].split("</tr>", 1)[0].replace("<wbr>", "")
    assert client["client_id"] in row
    assert "operator" in row
    assert "https://chatgpt.com/cb" in row
    assert re.search(r'data-label="Active grants">1<', row)
    assert "UTC" in row  # created and last used


def test_edit_name_and_redirect_uris(admin, database_url, dbrun):
    client, _ = register_client(database_url, name="Before")
    path = f"/admin/clients/{client['id']}"
    r = admin.post(
        f"{path}/edit", {"name": "After", "redirect_uris": "https://claude.ai/api/mcp/auth_callback"}, form_page=path
    )
    assert r.status_code == 303
    assert "Client saved" in admin.follow(r).text
    row = client_row(dbrun, client["client_id"])
    assert row["name"] == "After"
    assert row["redirect_uris"] == ["https://claude.ai/api/mcp/auth_callback"]
    assert audit_rows(database_url, "client.update", target_id=client["client_id"])[0]["actor"] == admin.user["email"]


def test_edit_refuses_bad_redirect_uris_next_to_the_field(admin, database_url, dbrun):
    client, _ = register_client(database_url, name="Stays")
    path = f"/admin/clients/{client['id']}"
    r = admin.post(f"{path}/edit", {"name": "Changed", "redirect_uris": "ftp://x y"}, form_page=path)
    assert r.status_code == 400
    assert "whitespace" in field_block(r.text, "redirect_uris")
    assert client_row(dbrun, client["client_id"])["name"] == "Stays"


def test_rotate_states_the_grace_period_and_shows_the_new_secret_once(admin, database_url, dbrun, settings):
    client, old_secret = register_client(database_url, name="Rotating")
    assert old_secret is not None  # a confidential client
    path = f"/admin/clients/{client['id']}/rotate"
    page = admin.get(path)
    assert "keeps working for 24 h" in page.text  # SECRET_ROTATION_GRACE=86400
    r = admin.post(path, {"confirm": "yes"})
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    new_secret = shown(r.text, "v-client-secret")
    assert new_secret != old_secret
    assert "The previous secret keeps working until" in r.text
    assert dbrun(lambda db: verify_client_secret(db, client["id"], new_secret))
    assert dbrun(lambda db: verify_client_secret(db, client["id"], old_secret))  # within the grace period
    assert (
        audit_rows(database_url, "client.rotate_secret", target_id=client["client_id"])[0]["actor"]
        == admin.user["email"]
    )
    assert new_secret not in admin.get(f"/admin/clients/{client['id']}").text


def test_rotate_without_confirmation_changes_nothing(admin, database_url, dbrun):
    client, _ = register_client(database_url, name="Unrotated")
    path = f"/admin/clients/{client['id']}/rotate"
    r = admin.post(path, {}, form_page=path)
    assert r.status_code == 400
    count = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(*) FROM oauth_client_secrets WHERE client_pk = %(p)s", {"p": client["id"]}
        )
    )
    assert count == 1


def test_disable_revokes_grants_and_enable_restores_the_client(admin, database_url, dbrun, make_user, settings):
    client, _ = register_client(database_url, name="Switch")
    grant = issue_grant(database_url, settings, client, make_user())
    r = confirm(admin, f"/admin/clients/{client['id']}/disable")
    assert r.status_code == 303
    assert "Client “Switch” disabled" in admin.follow(r).text
    assert client_row(dbrun, client["client_id"])["disabled"]
    revoked = dbrun(
        lambda db: db.fetch_value("SELECT revoked_at FROM oauth_grants WHERE id = %(g)s", {"g": grant["id"]})
    )
    assert revoked is not None
    assert audit_rows(database_url, "client.disable", target_id=client["client_id"])[0]["actor"] == admin.user["email"]
    path = f"/admin/clients/{client['id']}"
    r = admin.post(f"{path}/enable", {}, form_page=path)
    assert r.status_code == 303
    assert not client_row(dbrun, client["client_id"])["disabled"]
    assert audit_rows(database_url, "client.enable", target_id=client["client_id"])


def test_delete_revokes_tokens_and_removes_the_client(admin, database_url, dbrun, make_user, settings):
    from app.auth.bearer import BearerError, resolve_credential

    client, _ = register_client(database_url, name="Doomed")
    grant = issue_grant(database_url, settings, client, make_user())
    page = admin.get(f"/admin/clients/{client['id']}/delete")
    assert "cannot be undone" in page.text and client["client_id"] in page.text
    r = admin.post(f"/admin/clients/{client['id']}/delete", {"confirm": "yes"})
    assert r.status_code == 303
    assert r.headers["Location"] == "/admin/clients"
    assert "Client “Doomed” deleted" in admin.follow(r).text
    assert find_client(dbrun, client["client_id"]) is None
    with pytest.raises(BearerError):
        dbrun(lambda db: resolve_credential(db, grant["tokens"]["access_token"], settings.accepted_audiences))
    assert admin.get(f"/admin/clients/{client['id']}").status_code == 404
    assert audit_rows(database_url, "client.delete", target_id=client["client_id"])[0]["actor"] == admin.user["email"]


def test_client_grants_are_listed_and_revoked(admin, database_url, dbrun, make_user, settings):
    client, _ = register_client(database_url, name="Granted")
    alice, bob = make_user(), make_user()
    first = issue_grant(database_url, settings, client, alice)
    issue_grant(database_url, settings, client, bob)
    page = admin.get(f"/admin/clients/{client['id']}")
    assert alice["email"] in page.text and bob["email"] in page.text
    r = confirm(admin, f"/admin/grants/{first['id']}/revoke?next=/admin/clients/{client['id']}")
    assert r.headers["Location"] == f"/admin/clients/{client['id']}"
    page = admin.follow(r)
    assert f"Grant of {alice['email']} to “Granted” revoked" in page.text
    r = confirm(admin, f"/admin/clients/{client['id']}/grants/revoke")
    assert "1 grants revoked" in admin.follow(r).text
    live = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(*) FROM oauth_grants WHERE client_pk = %(c)s AND revoked_at IS NULL", {"c": client["id"]}
        )
    )
    assert live == 0
    assert audit_rows(database_url, "grant.revoke_all", target_id=client["client_id"])


def test_unknown_client_is_404(admin):
    assert admin.get("/admin/clients/987654321").status_code == 404
    assert admin.get("/admin/clients/987654321/delete").status_code == 404


def test_refreshing_a_secret_page_does_not_rotate_or_register_again(admin, database_url, dbrun):
    """A browser refresh re-POSTs the form: the secret the operator just copied must stay the current one."""
    client, _ = register_client(database_url, name="Refreshed")
    path = f"/admin/clients/{client['id']}/rotate"
    admin.get(path)
    once = "refresh-once-" + "x" * 12
    first = admin.post(path, {"confirm": "yes", "once": once})
    copied = shown(first.text, "v-client-secret")
    again = admin.post(path, {"confirm": "yes", "once": once})
    assert again.status_code == 303 and again.headers["Location"] == f"/admin/clients/{client['id']}"
    assert "already submitted" in admin.follow(again).text
    secrets_now = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(*) FROM oauth_client_secrets WHERE client_pk = %(p)s AND expires_at IS NULL",
            {"p": client["id"]},
        )
    )
    assert secrets_now == 1 and dbrun(lambda db: verify_client_secret(db, client["id"], copied))
    assert len(audit_rows(database_url, "client.rotate_secret", target_id=client["client_id"])) == 1

    form = {
        "name": "Registered once",
        "redirect_uris": "https://claude.ai/api/mcp/auth_callback",
        "auth_method": "client_secret_post",
        "once": "register-once-" + "y" * 12,
    }
    assert admin.post("/admin/clients/new", form, form_page="/admin/clients/new").status_code == 200
    repeat = admin.post("/admin/clients/new", form)
    assert repeat.status_code == 303 and repeat.headers["Location"] == "/admin/clients"
    count = dbrun(lambda db: db.fetch_value("SELECT count(*) FROM oauth_clients WHERE name = 'Registered once'"))
    assert count == 1
