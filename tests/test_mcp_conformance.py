"""MCP conformance and robustness at the edges: malformed JSON-RPC, takeover of a stream by a second
connection, and request bodies that arrive too slowly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from helpers_mcp import initialize_body, messages, open_session, request_body, session_headers
from helpers_tokens import api_key, bearer
from test_mcp_sse import SseListener, endpoint_of


@pytest.fixture
def user(make_user: Any) -> dict[str, Any]:
    return make_user()  # type: ignore[no-any-return]


@pytest.fixture
def key(dbrun: Any, user: dict[str, Any]) -> str:
    return api_key(dbrun, user)


@pytest.fixture
def listener(server: Any, key: str) -> Iterator[SseListener]:
    sse = SseListener(server.url, bearer(key))
    yield sse
    sse.close()


# A request whose id is malformed is not a notification (JSON-RPC 2.0 §4.1: only an object *without* an
# "id" member is); MCP ids are strings or integers and never null.
MALFORMED_IDS = [None, 1.5, True, {"n": 1}, [1]]


@pytest.mark.parametrize("bad_id", MALFORMED_IDS, ids=repr)
def test_a_request_with_a_malformed_id_is_an_invalid_request_not_a_202(server: Any, http: httpx2.Client, key: str,
                                                                        bad_id: Any) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    r = http.post("/mcp", json={"jsonrpc": "2.0", "id": bad_id, "method": "ping"},
                  headers=session_headers(headers, sid))
    assert r.status_code == 400, r.text
    assert r.json() == {"jsonrpc": "2.0", "id": None,
                        "error": {"code": -32600,
                                  "message": "The body must be one JSON-RPC request, notification or response"}}
    # The session is untouched and a well-formed request still gets its answer.
    r = http.post("/mcp", json=request_body("ping", request_id=3), headers=session_headers(headers, sid))
    assert messages(r.text) == [{"jsonrpc": "2.0", "id": 3, "result": {}}]


def test_initialize_with_a_null_id_opens_no_session(server: Any, http: httpx2.Client, key: str) -> None:
    body = {**initialize_body(), "id": None}
    r = http.post("/mcp", json=body, headers={**bearer(key), "Accept": "application/json, text/event-stream"})
    assert r.status_code == 400 and r.json()["error"]["code"] == -32600
    assert "Mcp-Session-Id" not in r.headers


def test_a_client_error_response_with_a_null_id_is_still_accepted(server: Any, http: httpx2.Client,
                                                                    key: str) -> None:
    # JSON-RPC lets an error answer carry id null (the client could not read the id it answers).
    headers = bearer(key)
    sid = open_session(http, headers)
    reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    assert http.post("/mcp", json=reply, headers=session_headers(headers, sid)).status_code == 202


@pytest.mark.parametrize("bad_id", [None, 1.5], ids=repr)
def test_http_sse_messages_refuse_a_malformed_id(server: Any, http: httpx2.Client, listener: SseListener, key: str,
                                                 bad_id: Any) -> None:
    endpoint = endpoint_of(listener)
    r = http.post(endpoint, content=json.dumps({"jsonrpc": "2.0", "id": bad_id, "method": "ping"}),
                  headers={**bearer(key), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_message"
    deep = b"[" * 100_000 + b"]" * 100_000
    r = http.post(endpoint, content=deep, headers={**bearer(key), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_message"
