"""Every answer of the auth gate on the MCP endpoints and /api: 401 and 403 bodies and challenges, audiences,
revoked and expired credentials, tokens in URLs, foreign origins and protocol versions."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa

from app.audit import Actor
from tests.helpers_mcp import ACCEPT_BOTH, initialize_body, messages, open_session, request_body
from tests.helpers_oauth import make_client, tokens_for
from tests.helpers_tokens import access_token, api_key, bearer

ENDPOINTS = [
    ("POST", "/mcp", "/mcp"),
    ("GET", "/mcp", "/mcp"),
    ("DELETE", "/mcp", "/mcp"),
    ("POST", "/mcp/", "/mcp"),
    ("GET", "/sse", "/sse"),
    ("POST", "/sse", "/sse"),
    ("POST", "/messages?session_id=x", "/sse"),
    ("GET", "/api/tools", "/mcp"),
    ("POST", "/api/tools/server_info", "/mcp"),
]


def challenge(response: httpx2.Response) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer k="v", ...` header."""
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def call(http: httpx2.Client, method: str, path: str, headers: dict[str, str]) -> httpx2.Response:
    body = initialize_body() if method == "POST" else None
    return http.request(method, path, json=body, headers={"Accept": ACCEPT_BOTH, **headers})


@pytest.mark.parametrize(("method", "path", "resource"), ENDPOINTS)
def test_no_credentials_is_401_pointing_at_the_resource_metadata(
    server: Any, http: httpx2.Client, method: str, path: str, resource: str
) -> None:
    r = call(http, method, path, {})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized" and r.json()["error"]["message"]
    params = challenge(r)
    assert params["resource_metadata"] == f"{server.url}/.well-known/oauth-protected-resource{resource}"
    assert params["scope"] == "mcp"
    assert "error" not in params  # nothing was presented, so nothing was invalid (RFC 6750 section 3.1)
    # The document the challenge points at names this very endpoint.
    document = http.get(params["resource_metadata"].removeprefix(server.url)).json()
    assert document["resource"] == server.url + resource


@pytest.mark.parametrize(("method", "path", "resource"), ENDPOINTS)
def test_an_unknown_token_is_401_invalid_token(
    server: Any, http: httpx2.Client, method: str, path: str, resource: str
) -> None:
    r = call(http, method, path, bearer("mcp_token_" + "A" * 43))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    params = challenge(r)
    assert params["error"] == "invalid_token" and params["scope"] == "mcp"
    assert params["resource_metadata"].endswith(f"/.well-known/oauth-protected-resource{resource}")


def test_a_malformed_authorization_header_is_invalid_request(server: Any, http: httpx2.Client) -> None:
    r = call(http, "POST", "/mcp", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_request"


@pytest.mark.parametrize("param", ["access_token", "api_key"])
def test_tokens_in_the_query_string_are_refused(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], param: str
) -> None:
    token = access_token(dbrun, user, audience=server.url + "/mcp") if param == "access_token" else api_key(dbrun, user)
    r = call(http, "POST", f"/mcp?{param}={token}", {})
    assert r.status_code == 401
    if param == "access_token":
        assert challenge(r)["error"] == "invalid_request"
        assert "Authorization header" in r.json()["error"]["message"]


def test_a_token_without_the_mcp_scope_is_403_insufficient_scope(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    token = access_token(dbrun, user, audience=server.url + "/mcp", scope="profile")
    for method, path, resource in ENDPOINTS:
        r = call(http, method, path, bearer(token))
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "insufficient_scope"
        params = challenge(r)
        assert params["error"] == "insufficient_scope" and params["scope"] == "mcp"
        assert params["resource_metadata"].endswith(resource)


@pytest.mark.parametrize("audience", ["https://other.example/mcp", "http://127.0.0.1:1/mcp"])
def test_a_token_for_another_audience_is_refused(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], audience: str
) -> None:
    token = access_token(dbrun, user, audience=audience)
    r = call(http, "POST", "/mcp", bearer(token))
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"


@pytest.mark.parametrize("suffix", ["/mcp", "/sse", ""])
def test_tokens_for_any_of_our_resource_urls_work_on_every_endpoint(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], suffix: str
) -> None:
    token = access_token(dbrun, user, audience=server.url + suffix)
    for path in ("/mcp", "/sse"):
        open_session(http, bearer(token), path=path)
    assert http.get("/api/tools", headers=bearer(token)).status_code == 200


def test_a_token_bound_to_no_resource_is_refused(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    """Once accepted by every server sharing the database, whatever its PUBLIC_URL."""
    token = access_token(dbrun, user, audience=None)
    r = call(http, "POST", "/mcp", bearer(token))
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"


def test_a_token_asked_for_without_resource_is_bound_to_this_server(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    from app.auth.secrets import hash_credential
    from app.db.tables import oauth_tokens

    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])  # no resource parameter anywhere
    row = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(tokens["access_token"]))
        )
    )
    assert row["audience"] == server.settings.public_url
    open_session(http, bearer(tokens["access_token"]))


@pytest.mark.parametrize("state", ["revoked", "expired"])
def test_revoked_and_expired_tokens_are_401(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], state: str
) -> None:
    token = access_token(
        dbrun,
        user,
        audience=server.url + "/mcp",
        revoked=state == "revoked",
        expires_in=-60 if state == "expired" else 3600,
    )
    r = call(http, "POST", "/mcp", bearer(token))
    assert r.status_code == 401 and challenge(r)["error"] == "invalid_token"


def test_a_revoked_api_key_stops_working(server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]) -> None:
    from app.auth.api_keys import create_api_key, revoke_api_key

    row, key = dbrun(lambda db: create_api_key(db, user["email"], "soon revoked", actor=Actor("test")))
    open_session(http, bearer(key))
    dbrun(lambda db: revoke_api_key(db, row["id"], actor=Actor("test")))
    deadline_ok = False
    for _ in range(50):  # the revocation reaches the authenticator's cache via LISTEN/NOTIFY
        r = call(http, "POST", "/mcp", bearer(key))
        if r.status_code == 401:
            deadline_ok = True
            break
        import time

        time.sleep(0.1)
    assert deadline_ok and challenge(r)["error"] == "invalid_token"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_is_403(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], origin: str
) -> None:
    key = api_key(dbrun, user)
    for method, path in (("POST", "/mcp"), ("GET", "/sse"), ("POST", "/messages?session_id=x")):
        r = call(http, method, path, {**bearer(key), "Origin": origin})
        assert r.status_code == 403, path
        assert r.json()["error"]["code"] == "forbidden_origin"


def test_allowed_origins_pass_and_get_cors_headers(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    key = api_key(dbrun, user)
    for origin in (server.url, "https://chatgpt.com", "https://claude.ai"):
        r = call(http, "POST", "/mcp", {**bearer(key), "Origin": origin})
        assert r.status_code == 200, origin
        assert r.headers["Access-Control-Allow-Origin"] == origin
        assert "Mcp-Session-Id" in r.headers["Access-Control-Expose-Headers"]
    preflight = http.options("/mcp", headers={"Origin": "https://chatgpt.com", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert "Mcp-Session-Id" in preflight.headers["Access-Control-Allow-Headers"]
    # A browser on an allowed origin can read a 401's challenge too.
    r = call(http, "POST", "/mcp", {"Origin": "https://chatgpt.com"})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == "https://chatgpt.com"


def test_an_unsupported_protocol_version_is_400(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    key = api_key(dbrun, user)
    r = call(http, "POST", "/mcp", {**bearer(key), "MCP-Protocol-Version": "2023-01-01"})
    assert r.status_code == 400
    assert r.json()["error"]["data"]["requested"] == "2023-01-01"
    # The modern revision is checked request by request, against the body's envelope.
    r = http.post(
        "/mcp",
        json=request_body(
            "tools/list",
            {
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                }
            },
        ),
        headers={
            **bearer(key),
            "Accept": ACCEPT_BOTH,
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/list",
        },
    )
    assert r.status_code == 200 and r.json()["result"]["tools"]
    r = http.post(
        "/mcp",
        json=request_body(
            "tools/list",
            {
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                }
            },
        ),
        headers={
            **bearer(key),
            "Accept": ACCEPT_BOTH,
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
        },
    )
    assert r.status_code == 400  # the routing header disagrees with the body


def test_the_principal_reaches_the_tool(server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]) -> None:
    token = access_token(dbrun, user, audience=server.url + "/mcp")
    sid = open_session(http, bearer(token))
    r = http.post(
        "/mcp",
        json=request_body("tools/call", {"name": "server_info", "arguments": {}}),
        headers={**bearer(token), "Accept": ACCEPT_BOTH, "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"},
    )
    assert messages(r.text)[-1]["result"]["structuredContent"]["caller"] == {"email": user["email"], "auth": "oauth"}


@pytest.mark.parametrize(
    "method, path", [("POST", "/mcp"), ("GET", "/sse"), ("POST", "/sse"), ("POST", "/messages?session_id=x")]
)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "[::2]", "evil:port"])
def test_a_foreign_host_header_is_refused_without_origin(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], method: str, path: str, host: str
) -> None:
    """DNS rebinding: a page whose domain now points at our address sends its own Host, and maybe no Origin."""
    key = api_key(dbrun, user)
    r = http.request(
        method,
        path,
        headers={**bearer(key), "Host": host, "Accept": ACCEPT_BOTH, "Content-Type": "application/json"},
        json=initialize_body(),
    )
    assert r.status_code == 421 and r.json()["error"]["code"] == "misdirected_request", r.text


def test_this_servers_own_names_are_accepted_as_host(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    from app.mcp.wire import host_allowed

    key = api_key(dbrun, user)
    port = server.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        r = http.post("/mcp", json=initialize_body(), headers={**bearer(key), "Host": host, "Accept": ACCEPT_BOTH})
        assert r.status_code == 200, (host, r.text)
    public = server.settings.replace(public_url="https://mcp.example.org")
    assert host_allowed("mcp.example.org", public) and host_allowed("mcp.example.org:443", public)
    assert host_allowed("MCP.example.org.", public)
    assert not host_allowed("mcp.example.org:8443", public) and not host_allowed("example.org", public)
    assert not host_allowed(None, public) and not host_allowed("", public)
