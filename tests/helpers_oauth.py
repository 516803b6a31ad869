"""Helpers for the OAuth tests: PKCE pairs, clients, and a sign-in form filled the way a browser does it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import tornado.httpserver
import tornado.netutil
import tornado.web
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthToken

from app.audit import Actor
from app.auth.clients import register_client
from tests.helpers_http import CheckedAsyncClient
from tests.helpers_server import DBRun

CHATGPT = "https://chatgpt.com/connector_platform_oauth_redirect"
CLAUDE = "https://claude.ai/api/mcp/auth_callback"
PASSWORD = "correct horse battery"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class FormParser(HTMLParser):
    """Collects the inputs of the first form on the page: what a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self._in_form = True
            self.action = a.get("action")
        elif tag == "input" and self._in_form and a.get("name"):
            if a.get("type") in ("hidden", "email", "text", "password"):
                self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def form_fields(html: str) -> dict[str, str]:
    parser = FormParser()
    parser.feed(html)
    assert parser.action == "/oauth/authorize", "no sign-in form on the page"
    return parser.fields


def redirect_params(response: httpx2.Response) -> dict[str, str]:
    """The query parameters of a 302 Location, one value each."""
    assert response.status_code == 302, (response.status_code, response.text[:500])
    query = parse_qs(urlsplit(response.headers["Location"]).query, keep_blank_values=True)
    return {k: v[0] for k, v in query.items()}


@dataclass
class Client:
    client_id: str
    secret: str | None
    redirect_uri: str
    method: str
    pk: int
    sign: Callable[[], dict[str, str]] | None = None  # private_key_jwt: a fresh client_assertion each call

    def auth(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Body and headers authenticating this client with its registered method."""
        params = dict(params)
        headers: dict[str, str] = {}
        if self.method == "private_key_jwt" and self.sign is not None:
            params.update(self.sign())
        elif self.method == "client_secret_basic":
            raw = f"{self.client_id}:{self.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif self.method == "client_secret_post":
            params.update(client_id=self.client_id, client_secret=self.secret)
        else:
            params["client_id"] = self.client_id
        return params, headers


def make_client(
    dbrun: DBRun, method: str = "client_secret_post", redirect_uri: str = CHATGPT, grant_types: list[str] | None = None
) -> Client:
    row, secret = dbrun(
        lambda db: register_client(
            db,
            name="Test Connector",
            redirect_uris=[redirect_uri],
            token_endpoint_auth_method=method,
            grant_types=grant_types,
            actor=Actor("test"),
        )
    )
    return Client(row["client_id"], secret, redirect_uri, method, row["id"])


def authorize_params(client: Client, challenge: str, **extra: Any) -> dict[str, Any]:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "mcp",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def browser_sign_in(
    http: httpx2.Client, params: dict[str, Any], email: str, password: str = PASSWORD, decision: str = "allow"
) -> httpx2.Response:
    """GET the page, then POST its form with the _xsrf cookie and field, as a browser would."""
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text[:500]
    fields = form_fields(page.text)
    assert "_xsrf" in fields and http.cookies.get("_xsrf")
    if "email" in fields:
        fields.update(email=email, password=password)
    fields["decision"] = decision
    return http.post("/oauth/authorize", data=fields)


def get_code(http: httpx2.Client, client: Client, email: str, **extra: Any) -> tuple[str, str, dict[str, str]]:
    """Run the sign-in; returns (code, verifier, redirect params)."""
    verifier, challenge = pkce()
    params = authorize_params(client, challenge, **extra)
    answer = redirect_params(browser_sign_in(http, params, email))
    assert answer.get("state") == params["state"]
    return answer["code"], verifier, answer


def exchange(http: httpx2.Client, client: Client, code: str, verifier: str, **extra: Any) -> httpx2.Response:
    body, headers = client.auth(
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": client.redirect_uri,
            **extra,
        }
    )
    return http.post("/oauth/token", data={k: v for k, v in body.items() if v is not None}, headers=headers)


def refresh(http: httpx2.Client, client: Client, refresh_token: str, **extra: Any) -> httpx2.Response:
    body, headers = client.auth({"grant_type": "refresh_token", "refresh_token": refresh_token, **extra})
    return http.post("/oauth/token", data=body, headers=headers)


def tokens_for(http: httpx2.Client, client: Client, email: str, **extra: Any) -> dict[str, Any]:
    code, verifier, _ = get_code(http, client, email, **extra)
    r = exchange(http, client, code, verifier)
    assert r.status_code == 200, r.text
    return r.json()


class DocumentServer:
    """A stand-in for a client's own web site on 127.0.0.1 (the test server allows loopback fetches): serves
    whatever `documents[path]` holds, (status, headers, body), after `delays[path]` seconds if set."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.delays: dict[str, float] = {}
        self.hits: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        outer = self

        class Handler(tornado.web.RequestHandler):
            async def get(self, path: str) -> None:
                outer.hits[path] = outer.hits.get(path, 0) + 1
                if outer.delays.get(path):
                    await asyncio.sleep(outer.delays[path])
                status, headers, body = outer.documents.get(path, (404, {}, b"{}"))
                self.set_status(status)
                for k, v in headers.items():
                    self.set_header(k, v)
                self.finish(body)

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
            tornado.httpserver.HTTPServer(tornado.web.Application([(r"/(.*)", Handler)])).add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def publish(self, path: str, doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> str:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        self.documents[path] = (status, {"Content-Type": "application/json", **(headers or {})}, body)
        return self.url(path)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


# ---- a client that behaves exactly like ChatGPT: metadata document, JWK set, private_key_jwt ----------------

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LOGO = "https://persistent.oaistatic.com/sonic/misc/openai-logo.png"


def public_jwk(private_key: Any, kid: str, alg: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


class ChatGPTLike:
    """ChatGPT's side of the connection: its metadata document and JWK set, and assertions signed its way."""

    def __init__(self, docs: DocumentServer, **document: Any) -> None:
        self.docs = docs
        self.prefix = f"chatgpt-{secrets.token_hex(4)}"
        self.client_id = docs.url(f"{self.prefix}/oauth/client.json")
        self.jwks_path = f"{self.prefix}/oauth/jwks.json"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.document = {
            "client_id": self.client_id,
            "client_uri": "https://chatgpt.com/",
            "redirect_uris": [CHATGPT],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "ChatGPT",
            "logo_uri": LOGO,
            "token_endpoint_auth_signing_alg": "RS256",
            "jwks_uri": docs.url(self.jwks_path),
            **document,
        }
        docs.publish(f"{self.prefix}/oauth/client.json", self.document)
        self.publish_keys()

    def publish_keys(self, *extra: dict[str, Any]) -> None:
        self.docs.publish(self.jwks_path, {"keys": [public_jwk(self.key, self.kid, "RS256"), *extra]})

    def rotate(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"key-{secrets.token_hex(3)}"
        self.publish_keys()

    def claims(self, audience: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def assertion(
        self,
        audience: str,
        *,
        key: Any = None,
        alg: str = "RS256",
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        return jwt.encode(
            self.claims(audience, **overrides),
            key if key is not None else self.key,
            algorithm=alg,
            headers={"kid": self.kid, **(headers or {})},
        )

    def auth(self, audience: str, **overrides: Any) -> dict[str, str]:
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(audience, **overrides)}

    @property
    def as_client(self) -> Client:
        return Client(self.client_id, None, CHATGPT, "private_key_jwt", 0)

    def client(self, audience: str) -> Client:
        """As a Client whose token requests carry a new assertion for `audience` each time."""
        return Client(self.client_id, None, CHATGPT, "private_key_jwt", 0, sign=lambda: self.auth(audience))


SDK_CALLBACK = "http://localhost:3030/callback"  # the redirect URI the SDK OAuth tests register


class MemoryStorage:
    """The SDK's TokenStorage (mcp.client.auth), in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class _InputFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""


class ConsentBrowser:
    """What a person's browser does with the authorization URL: show the page, submit the form, follow to the
    client's callback (here: capture the code from the Location instead of loading the callback)."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.result: AuthorizationCodeResult | None = None
        self.pages: list[str] = []

    async def open(self, authorization_url: str) -> None:
        async with CheckedAsyncClient() as browser:
            page = await browser.get(authorization_url)
            assert page.status_code == 200, page.text[:500]
            self.pages.append(page.text)
            form = _InputFields()
            form.feed(page.text)
            fields = {**form.fields, "email": self.email, "password": PASSWORD, "decision": "allow"}
            answer = await browser.post(str(page.url.copy_with(query=None)), data=fields)
            assert answer.status_code == 302, answer.text[:500]
            location = answer.headers["Location"]
            assert location.startswith(SDK_CALLBACK + "?")
            query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            self.result = AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result
