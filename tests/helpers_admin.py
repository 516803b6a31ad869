"""Helpers for the operator console tests: a browser-like HTTP client, sign-in, and real OAuth grants.
The `browser`, `operator` and `admin` fixtures are in conftest.py."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from typing import Any

import httpx2

from app.audit import Actor
from app.db import Database
from tests.helpers_http import CheckedClient
from tests.helpers_server import run_db

_XSRF = re.compile(r'name="_xsrf" value="([^"]+)"')


def xsrf_field(page: str) -> str:
    match = _XSRF.search(page)
    assert match, "the page has no _xsrf form field"
    return html.unescape(match.group(1))


def field_block(page: str, name: str) -> str:
    """The HTML of one rendered form field (label, input, hint, errors), to check errors sit next to it."""
    start = page.index(f'data-field="{name}"')
    ends = [i for i in (page.find('data-field="', start + 1), page.find("</form>", start)) if i != -1]
    return page[start : min(ends)]


class Browser:
    """A CheckedClient that behaves like a browser: cookies kept, forms posted with their XSRF token. `user` is
    whom it signed in as, when a fixture signed it in."""

    def __init__(self, base_url: str, **headers: str) -> None:
        # Each browser comes from its own address (the server trusts X-Forwarded-For), so sign-in throttling
        # triggered by one test never locks out another.
        octets = ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))
        headers.setdefault("X-Forwarded-For", f"10.{octets}")
        self.client = CheckedClient(base_url, headers=headers)
        self.token = ""
        self.user: dict[str, Any] = {}

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        response = self.client.get(path, **kwargs)
        if _XSRF.search(response.text):
            self.token = xsrf_field(response.text)
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, form_page: str | None = None, xsrf: bool = True
    ) -> httpx2.Response:
        """POST like a browser submitting a form; `form_page` is fetched first when no token is held yet."""
        if xsrf and (form_page or not self.token):
            self.get(form_page or path)
        body = dict(data or {})
        if xsrf:
            body["_xsrf"] = self.token
        # Forms that make secrets carry a one-time token, fresh on every rendering of the form.
        body.setdefault("once", secrets.token_urlsafe(18))
        response = self.client.post(path, data=body)
        if _XSRF.search(response.text):
            self.token = xsrf_field(response.text)
        return response

    def follow(self, response: httpx2.Response) -> httpx2.Response:
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        return self.get(response.headers["Location"])

    def sign_in(self, email: str, password: str) -> httpx2.Response:
        return self.post("/admin/login", {"email": email, "password": password}, form_page="/admin/login")


def confirm(browser: Browser, path: str, extra: dict[str, str] | None = None) -> httpx2.Response:
    """Open a confirmation page, check it asks, then confirm like the person clicking the button."""
    page = browser.get(path)
    assert page.status_code == 200, page.text[:300]
    assert 'name="confirm" value="yes"' in page.text
    return browser.post(path, {"confirm": "yes", **(extra or {})})


def audit_rows(database_url: str, action: str, **where: Any) -> list[dict[str, Any]]:
    """Audit entries of one action, newest first, optionally matching columns exactly."""
    conditions = " ".join(f"AND {name} = %({name})s" for name in where)

    async def go(db: Database) -> list[dict[str, Any]]:
        return await db.fetch_all(
            f"SELECT * FROM audit_log WHERE action = %(action)s {conditions} ORDER BY id DESC",
            {"action": action, **where},
        )

    return run_db(database_url, go)


def register_client(
    database_url: str, name: str = "ChatGPT", redirect_uri: str = "https://chatgpt.com/cb", public: bool = False
) -> tuple[dict[str, Any], str | None]:
    from app.auth.clients import register_client as register

    async def go(db: Database) -> tuple[dict[str, Any], str | None]:
        return await register(
            db,
            name=name,
            redirect_uris=[redirect_uri],
            actor=Actor("test"),
            token_endpoint_auth_method="none" if public else "client_secret_basic",
        )

    return run_db(database_url, go)


def issue_grant(database_url: str, settings: Any, client: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """A grant made the way the OAuth flow makes one: consent (authorization code), then the code exchange."""
    from app.auth import oauth

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    async def go(db: Database) -> dict[str, Any]:
        request = await oauth.validate_authorization_request(
            db,
            settings,
            {
                "client_id": [client["client_id"]],
                "response_type": ["code"],
                "code_challenge": [challenge],
                "code_challenge_method": ["S256"],
                "scope": ["mcp"],
                "redirect_uri": [client["redirect_uris"][0]],
            },
        )
        code = await oauth.create_authorization_code(db, settings, request, user, ip="127.0.0.1")
        return await oauth.issue_token(
            db,
            settings,
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": client["redirect_uris"][0],
            },
        )

    tokens = run_db(database_url, go)

    async def grant(db: Database) -> dict[str, Any]:
        row = await db.fetch_one(
            "SELECT * FROM oauth_grants WHERE client_pk = %(c)s AND user_id = %(u)s ORDER BY id DESC LIMIT 1",
            {"c": client["id"], "u": user["id"]},
        )
        assert row is not None
        return row

    return {**run_db(database_url, grant), "tokens": tokens}
