"""GET/POST /oauth/authorize: validation order, the sign-in and consent page, and the redirect back."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.audit import Actor
from app.auth.clients import set_client_disabled
from app.db.tables import audit_log, oauth_authorization_codes
from tests.helpers_oauth import (
    CHATGPT,
    PASSWORD,
    authorize_params,
    browser_sign_in,
    form_fields,
    make_client,
    pkce,
    redirect_params,
)

pytestmark = pytest.mark.usefixtures("forget_failed_sign_ins")


def _location(r):
    assert r.status_code == 302, (r.status_code, r.text[:300])
    parts = urlsplit(r.headers["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_page_shows_client_name_redirect_host_and_form(http, client):
    _, challenge = pkce()
    r = http.get("/oauth/authorize", params=authorize_params(client, challenge))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Test Connector" in r.text and "chatgpt.com" in r.text
    fields = form_fields(r.text)
    assert {"email", "password", "_xsrf", "client_id", "redirect_uri", "state", "code_challenge"} <= set(fields)
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    # Chrome applies form-action to the 302 after the POST: the client's origin must be allowed.
    assert "form-action 'self' https://chatgpt.com" in csp


def test_page_in_ukrainian(http, client):
    _, challenge = pkce()
    r = http.get("/oauth/authorize", params=authorize_params(client, challenge), headers={"Accept-Language": "uk"})
    assert "Дозволити" in r.text and "Пароль" in r.text


def test_successful_sign_in_redirects_with_code_state_and_iss(http, client, user, settings, dbrun):
    _verifier, challenge = pkce()
    params = authorize_params(client, challenge, resource=f"{settings.public_url}/mcp")
    r = browser_sign_in(http, params, user["email"])
    target, query = _location(r)
    assert target == CHATGPT
    assert query["state"] == params["state"]
    assert query["iss"] == settings.issuer
    assert query["code"].startswith("mcp_code_")
    assert r.headers["Cache-Control"] == "no-store"
    assert "https://chatgpt.com" in r.headers["Content-Security-Policy"]
    row = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_authorization_codes).order_by(oauth_authorization_codes.c.id.desc()).limit(1)
        )
    )
    assert row["user_id"] == user["id"] and row["resource"] == f"{settings.public_url}/mcp"
    assert row["code_hash"] != query["code"] and query["code"] not in str(row)


def test_signed_in_user_sees_consent_only(http, client, user):
    _, challenge = pkce()
    redirect_params(browser_sign_in(http, authorize_params(client, challenge), user["email"]))
    page = http.get("/oauth/authorize", params=authorize_params(client, challenge))
    fields = form_fields(page.text)
    assert "password" not in fields and "email" not in fields
    assert user["email"] in page.text
    fields["decision"] = "allow"
    assert "code" in redirect_params(http.post("/oauth/authorize", data=fields))


def test_deny_returns_access_denied_with_iss(http, client, user, settings):
    _, challenge = pkce()
    params = authorize_params(client, challenge)
    _, query = _location(browser_sign_in(http, params, user["email"], decision="deny"))
    assert query["error"] == "access_denied" and query["state"] == params["state"]
    assert query["iss"] == settings.issuer and "code" not in query


@pytest.mark.parametrize(
    "change, message",
    [
        ({"client_id": None}, "no client_id"),
        ({"client_id": "slc_doesnotexist"}, "Unknown client"),
        ({"redirect_uri": "https://evil.example.com/cb"}, "not registered"),
        ({"redirect_uri": CHATGPT + "/"}, "not registered"),
        ({"redirect_uri": "javascript:alert(1)"}, "not registered"),
    ],
)
def test_bad_client_or_redirect_is_an_error_page_never_a_redirect(http, client, change, message):
    _, challenge = pkce()
    params = {k: v for k, v in {**authorize_params(client, challenge), **change}.items() if v is not None}
    r = http.get("/oauth/authorize", params=params)
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/html")
    assert message in r.text and "Location" not in r.headers


def test_disabled_client_is_an_error_page(http, client, dbrun):
    dbrun(lambda db: set_client_disabled(db, client.client_id, True, actor=Actor("test")))
    _, challenge = pkce()
    r = http.get("/oauth/authorize", params=authorize_params(client, challenge))
    assert r.status_code == 403 and "disabled" in r.text


@pytest.mark.parametrize(
    "change, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"resource": "https://other.example.com/mcp"}, "invalid_target"),
    ],
)
def test_errors_after_redirect_validation_go_back_with_iss(http, client, settings, change, error):
    _, challenge = pkce()
    params = {k: v for k, v in {**authorize_params(client, challenge), **change}.items() if v is not None}
    r = http.get("/oauth/authorize", params=params)
    target, query = _location(r)
    assert "form-action 'self' https://chatgpt.com" in r.headers["Content-Security-Policy"]
    assert target == CHATGPT
    assert query["error"] == error and query["error_description"]
    assert query["state"] == params["state"] and query["iss"] == settings.issuer


def test_plain_pkce_refused(http, client, settings):
    verifier, _ = pkce()
    params = authorize_params(client, verifier, code_challenge_method="plain")
    _, query = _location(http.get("/oauth/authorize", params=params))
    assert query["error"] == "invalid_request" and "S256" in query["error_description"]


def test_resource_compared_case_insensitively_on_scheme_and_host(http, client, user, settings):
    _, challenge = pkce()
    shouted = settings.public_url.replace("http://127.0.0.1", "HTTP://127.0.0.1") + "/mcp"
    _, query = _location(browser_sign_in(http, authorize_params(client, challenge, resource=shouted), user["email"]))
    assert "code" in query


@pytest.mark.parametrize(
    "scope, granted", [(None, "mcp"), ("", "mcp"), ("mcp", "mcp"), ("mcp admin", "mcp"), ("openid email", "mcp")]
)
def test_scope_defaults_to_mcp_and_unknown_scopes_are_not_granted(http, client, user, dbrun, scope, granted):
    _, challenge = pkce()
    params = authorize_params(client, challenge, scope=scope)  # None leaves scope out
    redirect_params(browser_sign_in(http, params, user["email"]))
    row = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_authorization_codes).where(oauth_authorization_codes.c.user_id == user["id"])
        )
    )
    assert row["scope"] == granted


def test_redirect_uri_may_be_omitted_when_one_is_registered(http, client, user, dbrun):
    _, challenge = pkce()
    params = authorize_params(client, challenge, redirect_uri=None)
    target, query = _location(browser_sign_in(http, params, user["email"]))
    assert target == CHATGPT and "code" in query
    row = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_authorization_codes).where(oauth_authorization_codes.c.user_id == user["id"])
        )
    )
    assert row["redirect_uri_given"] is False


def test_loopback_redirect_matches_on_any_port(http, dbrun, user):
    native = make_client(dbrun, method="none", redirect_uri="http://127.0.0.1:3000/callback")
    _, challenge = pkce()
    params = authorize_params(native, challenge, redirect_uri="http://127.0.0.1:54321/callback")
    r = browser_sign_in(http, params, user["email"])
    assert r.headers["Location"].startswith("http://127.0.0.1:54321/callback?code=")
    assert "http://127.0.0.1:*" in r.headers["Content-Security-Policy"]


def test_custom_scheme_redirect(http, dbrun, user):
    native = make_client(dbrun, method="none", redirect_uri="cursor://anysphere.cursor-retrieval/oauth/callback")
    _, challenge = pkce()
    r = browser_sign_in(http, authorize_params(native, challenge), user["email"])
    assert r.headers["Location"].startswith("cursor://anysphere.cursor-retrieval/oauth/callback?code=")
    assert "form-action 'self' cursor:" in r.headers["Content-Security-Policy"]


def test_wrong_password_is_a_form_error(http, client, user, dbrun):
    _, challenge = pkce()
    r = browser_sign_in(http, authorize_params(client, challenge), user["email"], password="wrong password!")
    assert r.status_code == 400  # a form shown again with its error: 401 would need a WWW-Authenticate scheme
    assert "Wrong email or password" in r.text
    assert user["email"] in r.text  # the email is kept in the form
    entry = dbrun(
        lambda db: db.fetch_one(
            sa.select(audit_log).where(audit_log.c.action == "signin.failed", audit_log.c.actor == user["email"])
        )
    )
    assert entry["details"]["purpose"] == "oauth"
    assert "wrong password" not in str(entry)


def test_user_without_password_is_answered_like_an_unknown_email(http, client, make_user, dbrun):
    nopass = make_user(password=None)
    _, challenge = pkce()
    unknown = browser_sign_in(
        http, authorize_params(client, challenge), "nobody-at-all@example.com", password="anything at all"
    )
    r = browser_sign_in(http, authorize_params(client, challenge), nopass["email"], password="anything at all")
    assert r.status_code == unknown.status_code == 400
    assert "Wrong email or password" in r.text and "Password authentication" not in r.text
    # Operators still see why in the audit log.
    entry = dbrun(
        lambda db: db.fetch_one(
            sa.select(audit_log).where(audit_log.c.action == "signin.failed", audit_log.c.actor == nopass["email"])
        )
    )
    assert entry["details"]["reason"] == "no_password"


def test_disabled_user_cannot_sign_in(http, client, make_user):
    disabled = make_user(disabled=True)
    _, challenge = pkce()
    r = browser_sign_in(http, authorize_params(client, challenge), disabled["email"], password=PASSWORD)
    assert r.status_code == 403
    assert "This account is disabled" in r.text and "Location" not in r.headers


def test_post_without_xsrf_is_refused(http, client, user):
    _, challenge = pkce()
    fields = authorize_params(client, challenge)
    fields.update(email=user["email"], password=PASSWORD, decision="allow")
    r = http.post("/oauth/authorize", data=fields)
    assert r.status_code == 403 and "Location" not in r.headers


def test_post_revalidates_parameters(http, client, user):
    _, challenge = pkce()
    page = http.get("/oauth/authorize", params=authorize_params(client, challenge))
    fields = form_fields(page.text)
    fields.update(email=user["email"], password=PASSWORD, decision="allow", redirect_uri="https://evil.example/cb")
    r = http.post("/oauth/authorize", data=fields)
    assert r.status_code == 400 and "Location" not in r.headers


def test_switch_account_ends_the_session(http, client, user, make_user, dbrun):
    _, challenge = pkce()
    redirect_params(browser_sign_in(http, authorize_params(client, challenge), user["email"]))
    page = http.get("/oauth/authorize", params=authorize_params(client, challenge))
    fields = form_fields(page.text)
    fields["decision"] = "switch"
    r = http.post("/oauth/authorize", data=fields)
    assert r.status_code == 200 and "password" in form_fields(r.text)
    signout = dbrun(
        lambda db: db.fetch_one(
            sa.select(audit_log).where(audit_log.c.action == "signout", audit_log.c.actor_user_id == user["id"])
        )
    )
    assert signout is not None and signout["details"]["purpose"] == "oauth"
    other = make_user()
    answer = redirect_params(browser_sign_in(http, authorize_params(client, challenge), other["email"]))
    assert "code" in answer
