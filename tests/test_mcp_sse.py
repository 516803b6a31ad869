"""MCP over HTTP+SSE (2024-11-05): GET /sse opens the session stream, POST /messages?session_id=... feeds it."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

import app.handlers.mcp as mcp_handlers
from tests.helpers_http import CheckedClient
from tests.helpers_mcp import (
    SseListener,
    ToolProbe,
    endpoint_of,
    initialize_body,
    request_body,
    sdk_sse_client,
    start_server_with_extra_tools,
    text_of,
)
from tests.helpers_tokens import access_token, api_key, bearer, oauth_flow_token


def test_sdk_sse_client_with_an_api_key(server: Any, key: str, user: dict[str, Any]) -> None:
    async def go() -> None:
        async with sdk_sse_client(server.url + "/sse", key) as client:
            assert client.protocol_version == "2025-11-25"
            assert "server_info" in [t.name for t in (await client.list_tools()).tools]
            result = await client.call_tool("server_info", {})
            assert result.structured_content["caller"] == {"email": user["email"], "auth": "api_key"}
            bad = await client.call_tool("server_info", {"nope": True})
            assert bad.is_error and "nope" in text_of(bad)

    asyncio.run(go())


def test_sdk_sse_client_with_an_access_token_from_our_oauth_flow(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]
) -> None:
    token = oauth_flow_token(http, dbrun, user, resource=server.url + "/sse")

    async def go() -> None:
        async with sdk_sse_client(server.url + "/sse", token) as client:
            result = await client.call_tool("server_info", {})
            assert result.structured_content["caller"]["auth"] == "oauth"

    asyncio.run(go())


def test_endpoint_event_first_then_message_events(
    server: Any, http: httpx2.Client, listener: SseListener, key: str
) -> None:
    assert listener.status == 200
    assert listener.headers["Content-Type"].startswith("text/event-stream")
    endpoint = endpoint_of(listener)
    assert endpoint.startswith("/messages?session_id=")
    r = http.post(endpoint, json=initialize_body("2024-11-05"), headers=bearer(key))
    assert r.status_code == 202
    event = listener.next_event()
    assert event["event"] == "message"
    reply = json.loads(event["data"])
    assert reply["id"] == 1 and reply["result"]["protocolVersion"] == "2024-11-05"
    http.post(endpoint, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=bearer(key))
    http.post(endpoint, json=request_body("tools/call", {"name": "server_info", "arguments": {}}), headers=bearer(key))
    reply = json.loads(listener.next_event()["data"])
    assert reply["id"] == 2 and reply["result"]["structuredContent"]["name"] == "SecondLayer"


def test_the_kernel_loop_starts_with_the_first_message(
    server: Any, http: httpx2.Client, listener: SseListener, key: str
) -> None:
    """An idle stream costs no SDK serving loop; the first message starts it, and the session works as before."""
    endpoint = endpoint_of(listener)
    session_id = endpoint.partition("session_id=")[2]

    def started() -> bool:
        async def look() -> bool:
            return bool(server.runtime.services.mcp_sessions._sessions[session_id].loop_started)

        return bool(server.call(look()))

    assert not started()
    assert http.post(endpoint, json=initialize_body("2024-11-05"), headers=bearer(key)).status_code == 202
    assert json.loads(listener.next_event()["data"])["result"]["protocolVersion"] == "2024-11-05"
    assert started()


def test_sse_session_is_bound_to_its_principal(
    server: Any, http: httpx2.Client, listener: SseListener, dbrun: Any, make_user: Any
) -> None:
    endpoint = endpoint_of(listener)
    other = api_key(dbrun, make_user())
    r = http.post(endpoint, json=initialize_body("2024-11-05"), headers=bearer(other))
    assert r.status_code == 404 and r.json()["error"]["code"] == "session_not_found"
    with pytest.raises(queue.Empty):
        listener.next_event(timeout=0.5)


def test_session_is_cleaned_up_when_the_stream_disconnects(
    server: Any, http: httpx2.Client, listener: SseListener, key: str
) -> None:
    endpoint = endpoint_of(listener)
    listener.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = http.post(endpoint, json=initialize_body("2024-11-05"), headers=bearer(key))
        if r.status_code == 404:
            break
        time.sleep(0.1)
    assert r.status_code == 404


def test_keepalive_comments_while_idle(server: Any, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcp_handlers, "KEEPALIVE_SECONDS", 0.2)  # the server runs in this process
    sse = SseListener(server.url, bearer(key))
    try:
        endpoint_of(sse)
        assert sse.comments.get(timeout=5) == ": keepalive"
    finally:
        sse.close()


def test_messages_endpoint_rejections(server: Any, http: httpx2.Client, listener: SseListener, key: str) -> None:
    endpoint = endpoint_of(listener)
    r = http.post("/messages?session_id=" + "0" * 32, json=initialize_body(), headers=bearer(key))
    assert r.status_code == 404
    r = http.post(endpoint, content=b"{oops", headers={**bearer(key), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_message"
    big = b'{"padding": "' + b"x" * (server.settings.max_body_bytes + 1) + b'"}'
    r = http.post(endpoint, content=big, headers={**bearer(key), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert http.get(endpoint, headers=bearer(key)).status_code == 405


def test_access_token_issued_for_mcp_works_on_sse(server: Any, dbrun: Any, user: dict[str, Any]) -> None:
    token = access_token(dbrun, user, audience=server.url + "/mcp")

    async def go() -> None:
        async with sdk_sse_client(server.url + "/sse", token) as client:
            assert (await client.call_tool("server_info", {})).is_error is False

    asyncio.run(go())


def test_sse_sessions_count_against_the_per_principal_cap(
    database_url: str, data_dir: Path, dbrun: Any, make_user: Any
) -> None:
    thread = start_server_with_extra_tools(database_url, data_dir, ToolProbe(), MCP_MAX_SESSIONS="2")
    key = api_key(dbrun, make_user())
    streams = []
    try:
        streams = [SseListener(thread.url, bearer(key)) for _ in range(2)]
        assert all(endpoint_of(s) for s in streams)
        with CheckedClient(thread.url, timeout=10) as client:
            r = client.get("/sse", headers={**bearer(key), "Accept": "text/event-stream"})
            assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_sessions"
            # Another principal still connects.
            other = SseListener(thread.url, bearer(api_key(dbrun, make_user())))
            streams.append(other)
            assert endpoint_of(other)
    finally:
        for s in streams:
            s.close()
        thread.stop()


def test_a_client_that_never_reads_its_stream_loses_the_session(
    server: Any, http: httpx2.Client, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers pile up on the server for a client that POSTs without reading GET /sse: past a bound the
    session ends (its /messages answer 404) instead of the server's memory growing without limit."""
    import socket

    import app.mcp.sessions as sessions

    monkeypatch.setattr(sessions, "MAX_HELD_BYTES", 256 * 1024)
    port = int(server.url.rsplit(":", 1)[1])
    # A raw socket, not a CheckedClient: the point is a GET /sse whose reader takes almost nothing, which an HTTP
    # client's read loop cannot be made to be.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    try:
        sock.sendall(
            f"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = b""
        while b"session_id=" not in head or b"\n\n" not in head.split(b"session_id=", 1)[1]:
            head += sock.recv(1024)
        session_id = head.split(b"session_id=", 1)[1].split(b"\n", 1)[0].strip().decode()
        endpoint = f"/messages?session_id={session_id}"
        assert http.post(endpoint, json=initialize_body(), headers=bearer(key)).status_code == 202
        statuses = []
        for n in range(3000):
            r = http.post(endpoint, json=request_body("tools/list", request_id=n + 10), headers=bearer(key))
            statuses.append(r.status_code)
            if r.status_code == 404:
                break
        assert statuses[-1] == 404, f"still accepted after {len(statuses)} unread answers"
        assert r.json()["error"]["code"] == "session_not_found"
        assert set(statuses[:-1]) == {202}
    finally:
        sock.close()
