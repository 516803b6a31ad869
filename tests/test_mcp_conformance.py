"""MCP conformance and robustness at the edges: malformed JSON-RPC, takeover of a stream by a second
connection, and request bodies that arrive too slowly."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx2
import pytest

import app.handlers.bodies as bodies
from tests.helpers_http import CheckedClient, trickle_is_cut_off
from tests.helpers_mcp import (
    SseListener,
    ToolProbe,
    endpoint_of,
    initialize_body,
    messages,
    open_session,
    request_body,
    session_headers,
    sse_events,
)
from tests.helpers_tokens import api_key, bearer

# A request whose id is malformed is not a notification (JSON-RPC 2.0 §4.1: only an object *without* an
# "id" member is); MCP ids are strings or integers and never null.
MALFORMED_IDS = [None, 1.5, True, {"n": 1}, [1]]


@pytest.mark.parametrize("bad_id", MALFORMED_IDS, ids=repr)
def test_a_request_with_a_malformed_id_is_an_invalid_request_not_a_202(
    server: Any, http: httpx2.Client, key: str, bad_id: Any
) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    r = http.post(
        "/mcp", json={"jsonrpc": "2.0", "id": bad_id, "method": "ping"}, headers=session_headers(headers, sid)
    )
    assert r.status_code == 400, r.text
    assert r.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "The body must be one JSON-RPC request, notification or response"},
    }
    # The session is untouched and a well-formed request still gets its answer.
    r = http.post("/mcp", json=request_body("ping", request_id=3), headers=session_headers(headers, sid))
    assert messages(r.text) == [{"jsonrpc": "2.0", "id": 3, "result": {}}]


def test_initialize_with_a_null_id_opens_no_session(server: Any, http: httpx2.Client, key: str) -> None:
    body = {**initialize_body(), "id": None}
    r = http.post("/mcp", json=body, headers={**bearer(key), "Accept": "application/json, text/event-stream"})
    assert r.status_code == 400 and r.json()["error"]["code"] == -32600
    assert "Mcp-Session-Id" not in r.headers


def test_a_client_error_response_with_a_null_id_is_still_accepted(server: Any, http: httpx2.Client, key: str) -> None:
    # JSON-RPC lets an error answer carry id null (the client could not read the id it answers).
    headers = bearer(key)
    sid = open_session(http, headers)
    reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    assert http.post("/mcp", json=reply, headers=session_headers(headers, sid)).status_code == 202


@pytest.mark.parametrize("bad_id", [None, 1.5], ids=repr)
def test_http_sse_messages_refuse_a_malformed_id(
    server: Any, http: httpx2.Client, listener: SseListener, key: str, bad_id: Any
) -> None:
    endpoint = endpoint_of(listener)
    r = http.post(
        endpoint,
        content=json.dumps({"jsonrpc": "2.0", "id": bad_id, "method": "ping"}),
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_message"
    deep = b"[" * 100_000 + b"]" * 100_000
    r = http.post(endpoint, content=deep, headers={**bearer(key), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_message"


# --- one message, one stream -------------------------------------------------------------------------------


def test_a_stream_taken_over_by_get_is_not_also_written_by_the_old_connection(
    tool_server: Any, dbrun: Any, make_user: Any, probe: ToolProbe
) -> None:
    """The spec: the server MUST NOT broadcast one message across several streams. A client resuming a
    request's stream with GET + Last-Event-ID while its POST is still (half-)open gets each message once."""
    key = api_key(dbrun, make_user())
    probe.reset()
    version = "2025-11-25"
    with CheckedClient(tool_server.url) as setup:
        headers = session_headers(bearer(key), open_session(setup, bearer(key), version=version), version)
    call = request_body(
        "tools/call",
        {"name": "slow", "arguments": {"steps": 6, "delay": 0.5}, "_meta": {"progressToken": "p"}},
        request_id=11,
    )
    post_events: list[dict[str, str]] = []
    first_progress = threading.Event()

    def read_post() -> None:
        with CheckedClient(tool_server.url) as client:
            with client.stream("POST", "/mcp", json=call, headers=headers) as r:
                buffer = ""
                for chunk in r.iter_text():
                    buffer += chunk
                    complete, _, buffer = buffer.rpartition("\n\n")
                    if complete:
                        post_events.extend(sse_events(complete + "\n\n"))
                    if any("notifications/progress" in e.get("data", "") for e in post_events):
                        first_progress.set()

    poster = threading.Thread(target=read_post, daemon=True)
    poster.start()
    assert first_progress.wait(10)
    last_seen = post_events[-1]["id"]
    with CheckedClient(tool_server.url) as client:
        r = client.get("/mcp", headers={**headers, "Accept": "text/event-stream", "Last-Event-ID": last_seen})
    poster.join(15)
    assert r.status_code == 200
    get_events = sse_events(r.text)
    post_ids = {e["id"] for e in post_events if e.get("data")}
    get_ids = {e["id"] for e in get_events if e.get("data")}
    assert not post_ids & get_ids, "the same event went out on both connections"
    seen = [json.loads(e["data"]) for e in post_events + get_events if e.get("data")]
    progress = [m["params"]["progress"] for m in seen if m.get("method") == "notifications/progress"]
    assert sorted(progress) == list(range(6)), f"each progress once over both streams, got {progress}"
    assert [m["id"] for m in seen if "id" in m] == [11]


# --- slow bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mcp", "/api/tools/server_info"])
def test_a_body_that_trickles_in_too_slowly_loses_its_connection(
    server: Any, key: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "BODY_TIMEOUT", 1.0)
    body = (json.dumps(initialize_body()) if path == "/mcp" else "{ }        ").encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    port = int(server.url.rsplit(":", 1)[1])
    assert trickle_is_cut_off(port, head, body), "the server kept waiting for the body"
    # A body sent at an ordinary pace is unaffected.
    with CheckedClient(server.url, timeout=10) as client:
        r = client.post(
            path,
            content=body,
            headers={
                **bearer(key),
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
        )
        assert r.status_code == 200
        if path == "/mcp":
            client.delete("/mcp", headers={**bearer(key), "Mcp-Session-Id": r.headers["Mcp-Session-Id"]})
