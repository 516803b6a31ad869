"""MCP over Streamable HTTP at /mcp (and /mcp/, POST /sse): the official SDK client end to end, the session
rules (binding, DELETE, expiry, caps), both response modes, resumable streams, cancellation and progress."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.audit import Actor
from tests.helpers_http import CheckedAsyncClient, CheckedClient
from tests.helpers_mcp import (
    ACCEPT_BOTH,
    ToolProbe,
    initialize_body,
    messages,
    open_session,
    request_body,
    sdk_client,
    session_headers,
    sse_events,
    start_server_with_extra_tools,
    text_of,
)
from tests.helpers_tokens import access_token, api_key, bearer, oauth_flow_token

# --- the official SDK client ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("path", ["/mcp", "/mcp/", "/sse"])
def test_sdk_client_lists_and_calls_tools_with_an_api_key(
    server: Any, key: str, user: dict[str, Any], mode: str, path: str
) -> None:
    async def go() -> None:
        async with sdk_client(server.url + path, key, mode=mode) as client:
            assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            listed = await client.list_tools()
            tool = next(t for t in listed.tools if t.name == "server_info")
            assert tool.title == "Server information"
            assert tool.input_schema["type"] == "object" and tool.output_schema is not None
            assert tool.annotations is not None and tool.annotations.read_only_hint is True
            result = await client.call_tool("server_info", {})
            assert result.is_error is False
            assert result.structured_content is not None
            assert result.structured_content["caller"] == {"email": user["email"], "auth": "api_key"}
            assert result.structured_content["mcp_url"] == server.url + "/mcp"
            # ...and the same JSON as one text item, for clients that only read text.
            assert json.loads(text_of(result)) == result.structured_content

    asyncio.run(go())


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_sdk_client_with_an_access_token_from_our_oauth_flow(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], mode: str
) -> None:
    token = oauth_flow_token(http, dbrun, user, resource=server.url + "/mcp")

    async def go() -> None:
        async with sdk_client(server.url + "/mcp", token, mode=mode) as client:
            result = await client.call_tool("server_info", {})
            assert result.structured_content["caller"] == {"email": user["email"], "auth": "oauth"}

    asyncio.run(go())


def test_sdk_client_with_an_inserted_access_token(server: Any, dbrun: Any, user: dict[str, Any]) -> None:
    token = access_token(dbrun, user, audience=server.url + "/mcp")

    async def go() -> None:
        async with sdk_client(server.url + "/mcp", token) as client:
            assert "server_info" in [t.name for t in (await client.list_tools()).tools]

    asyncio.run(go())


def test_invalid_arguments_are_a_tool_error_naming_the_field_and_the_session_goes_on(server: Any, key: str) -> None:
    async def go() -> None:
        async with sdk_client(server.url + "/mcp", key) as client:
            bad = await client.call_tool("server_info", {"surprise": 1})
            assert bad.is_error is True
            assert "surprise" in text_of(bad)
            assert bad.structured_content == {
                "error": {"code": "invalid_arguments", "field": "surprise", "message": text_of(bad)}
            }
            assert (await client.call_tool("server_info", {})).is_error is False

    asyncio.run(go())


def test_unknown_tool_is_a_protocol_error(server: Any, key: str, http: httpx2.Client) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    r = http.post(
        "/mcp",
        json=request_body("tools/call", {"name": "nope", "arguments": {}}),
        headers=session_headers(headers, sid),
    )
    (reply,) = messages(r.text)
    assert reply["error"]["code"] == -32602 and "nope" in reply["error"]["message"]


# --- sessions --------------------------------------------------------------------------------------


def test_session_is_bound_to_the_principal_that_opened_it(
    server: Any, http: httpx2.Client, dbrun: Any, make_user: Any, key: str
) -> None:
    sid = open_session(http, bearer(key))
    other_key = api_key(dbrun, make_user())
    for method in ("POST", "GET", "DELETE"):
        r = http.request(
            method,
            "/mcp",
            json=request_body("tools/list") if method == "POST" else None,
            headers=session_headers(bearer(other_key), sid),
        )
        assert r.status_code == 404, (method, r.text)
        assert r.json()["error"]["code"] == "session_not_found"
    # Still alive for its owner.
    r = http.post("/mcp", json=request_body("tools/list"), headers=session_headers(bearer(key), sid))
    assert r.status_code == 200 and messages(r.text)[0]["result"]["tools"]


def test_the_same_user_through_another_credential_is_another_principal(
    server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any], key: str
) -> None:
    sid = open_session(http, bearer(key))
    second_key = api_key(dbrun, user, name="second")
    r = http.post("/mcp", json=request_body("tools/list"), headers=session_headers(bearer(second_key), sid))
    assert r.status_code == 404


def test_delete_ends_the_session_then_its_id_is_404(server: Any, http: httpx2.Client, key: str) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    r = http.delete("/mcp", headers=session_headers(headers, sid))
    assert r.status_code == 204
    for method in ("POST", "GET", "DELETE"):
        r = http.request(
            method,
            "/mcp",
            json=request_body("ping") if method == "POST" else None,
            headers=session_headers(headers, sid),
        )
        assert r.status_code == 404, method


def test_sdk_client_deletes_its_session_on_exit(server: Any, http: httpx2.Client, key: str) -> None:
    seen: dict[str, str] = {}

    async def go() -> None:
        async with CheckedAsyncClient(
            headers=bearer(key), event_hooks={"response": [_remember_session(seen)]}
        ) as http_client:
            from mcp import Client
            from mcp.client.streamable_http import streamable_http_client

            async with Client(
                streamable_http_client(server.url + "/mcp", http_client=http_client), mode="legacy"
            ) as client:
                await client.list_tools()

    asyncio.run(go())
    r = http.post("/mcp", json=request_body("ping"), headers=session_headers(bearer(key), seen["sid"]))
    assert r.status_code == 404


def _remember_session(seen: dict[str, str]) -> Any:
    async def hook(response: httpx2.Response) -> None:
        if "Mcp-Session-Id" in response.headers:
            seen["sid"] = response.headers["Mcp-Session-Id"]

    return hook


def test_idle_sessions_expire(server: Any, http: httpx2.Client, key: str) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    store = server.runtime.services.mcp_sessions

    async def age_and_reap() -> int:
        store._sessions[sid].last_active -= server.settings.mcp_session_idle_timeout + 1
        return await store.expire_idle()  # what the reaper runs periodically

    assert server.call(age_and_reap()) >= 1
    r = http.post("/mcp", json=request_body("ping"), headers=session_headers(headers, sid))
    assert r.status_code == 404


def test_requests_without_a_session_and_with_unknown_ones(server: Any, http: httpx2.Client, key: str) -> None:
    headers = {**bearer(key), "Accept": ACCEPT_BOTH}
    r = http.post("/mcp", json=request_body("tools/list"), headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_session"
    r = http.post("/mcp", json=request_body("tools/list"), headers={**headers, "Mcp-Session-Id": "f" * 32})
    assert r.status_code == 404


def test_at_the_cap_the_least_recently_used_idle_session_makes_room(
    tool_server: Any, tool_http: httpx2.Client, dbrun: Any, make_user: Any
) -> None:
    """Clients that leave without DELETE (the TypeScript SDK, MCP Inspector) once locked their key out with 429s."""
    key = api_key(dbrun, make_user())
    sids = [open_session(tool_http, bearer(key)) for _ in range(3)]
    ping = request_body("ping")
    assert tool_http.post("/mcp", json=ping, headers=session_headers(bearer(key), sids[0])).status_code == 200
    newest = open_session(tool_http, bearer(key))  # the 4th: sids[1] is the least recently used, so it goes
    assert tool_http.post("/mcp", json=ping, headers=session_headers(bearer(key), sids[1])).status_code == 404
    for sid in (sids[0], sids[2], newest):
        assert tool_http.post("/mcp", json=ping, headers=session_headers(bearer(key), sid)).status_code == 200
    # Another principal's sessions are never taken.
    other = api_key(dbrun, make_user())
    theirs = open_session(tool_http, bearer(other))
    for _ in range(3):
        open_session(tool_http, bearer(key))
    assert tool_http.post("/mcp", json=ping, headers=session_headers(bearer(other), theirs)).status_code == 200
    assert tool_http.delete("/mcp", headers=session_headers(bearer(other), theirs)).status_code == 204

    # The store counts each principal's sessions as they open, end and make room (under the cap an open does not
    # walk every session of the process): the counts equal the sessions it holds.
    async def counts() -> tuple[dict[str, int], dict[str, int]]:
        store = tool_server.runtime.services.mcp_sessions
        held = collections.Counter(session.identity for session in store._sessions.values())
        return dict(store._per_identity), dict(held)

    counted, held = tool_server.call(counts())
    assert counted == held and len(held) >= 1


def test_when_every_session_is_busy_a_new_one_is_refused_with_retry_after(
    tool_server: Any, dbrun: Any, make_user: Any
) -> None:
    key = api_key(dbrun, make_user())
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(CheckedClient(tool_server.url))
        sids = [open_session(client, bearer(key)) for _ in range(3)]
        for sid in sids:  # a standalone GET stream keeps each session busy
            stream_client = stack.enter_context(CheckedClient(tool_server.url))
            response = stack.enter_context(
                stream_client.stream(
                    "GET", "/mcp", headers={**session_headers(bearer(key), sid), "Accept": "text/event-stream"}
                )
            )
            assert response.status_code == 200
        r = client.post("/mcp", json=initialize_body(request_id=7), headers={**bearer(key), "Accept": ACCEPT_BOTH})
        assert r.status_code == 429 and r.headers["Retry-After"] == "5"
        body = r.json()
        assert body["jsonrpc"] == "2.0" and body["id"] == 7 and "busy" in body["error"]["message"]
    # The streams are gone: the sessions are idle again and make room.
    with CheckedClient(tool_server.url) as client:
        open_session(client, bearer(key))


def test_a_hundred_clients_that_leave_without_delete_all_connect(
    server: Any, http: httpx2.Client, dbrun: Any, make_user: Any
) -> None:
    from app.auth.api_keys import create_api_key

    email = make_user()["email"]
    row, key = dbrun(lambda db: create_api_key(db, email, "inspector", actor=Actor("test")))
    for _ in range(100):
        sid = open_session(http, bearer(key))
        r = http.post("/mcp", json=request_body("tools/list"), headers=session_headers(bearer(key), sid))
        assert r.status_code == 200, r.text
    open_now = server.call(_sessions_of(server, f"api_key:{row['id']}"))
    assert open_now == server.settings.mcp_max_sessions


async def _sessions_of(server: Any, identity: str) -> int:
    return server.runtime.services.mcp_sessions.count(identity)


# --- HTTP details ----------------------------------------------------------------------------------


def test_post_answers_json_or_sse_according_to_accept(server: Any, http: httpx2.Client, key: str) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    call = request_body("tools/call", {"name": "server_info", "arguments": {}})
    r = http.post("/mcp", json=call, headers={**session_headers(headers, sid), "Accept": "application/json"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["result"]["structuredContent"]["name"] == "SecondLayer"
    r = http.post("/mcp", json=call, headers=session_headers(headers, sid))
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert messages(r.text)[-1]["result"]["structuredContent"]["name"] == "SecondLayer"
    r = http.post("/mcp", json=call, headers={**session_headers(headers, sid), "Accept": "image/png"})
    assert r.status_code == 406


def test_event_streams_are_never_compressed_json_is(server: Any, http: httpx2.Client, key: str) -> None:
    headers = {**bearer(key), "Accept-Encoding": "gzip"}
    sid = open_session(http, headers)
    listing = request_body("tools/list")
    r = http.post("/mcp", json=listing, headers={**session_headers(headers, sid), "Accept": "application/json"})
    assert len(r.content) > 1024 and r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    r = http.post("/mcp", json=listing, headers=session_headers(headers, sid))
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert "Content-Encoding" not in r.headers and "Vary" not in r.headers  # held back in a gzip buffer otherwise
    assert messages(r.text)[-1]["result"]["tools"]


def test_notifications_and_responses_get_202(server: Any, http: httpx2.Client, key: str) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}
    assert http.post("/mcp", json=note, headers=session_headers(headers, sid)).status_code == 202
    response = {"jsonrpc": "2.0", "id": 5, "result": {}}
    assert http.post("/mcp", json=response, headers=session_headers(headers, sid)).status_code == 202
    # ...while a request (here the kernel's ping) gets its answer.
    r = http.post("/mcp", json=request_body("ping", request_id="p-1"), headers=session_headers(headers, sid))
    assert messages(r.text) == [{"jsonrpc": "2.0", "id": "p-1", "result": {}}]


def test_protocol_version_header_is_checked(server: Any, http: httpx2.Client, key: str) -> None:
    headers = bearer(key)
    sid = open_session(http, headers)
    r = http.post("/mcp", json=request_body("tools/list"), headers=session_headers(headers, sid, "1999-01-01"))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["data"]["requested"] == "1999-01-01" and "2025-06-18" in error["data"]["supported"]
    # Every version the SDK negotiates by handshake works, each in its own session.
    for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"):
        sid = open_session(http, headers, version=version)
        r = http.post("/mcp", json=request_body("tools/list"), headers=session_headers(headers, sid, version))
        assert messages(r.text)[-1]["result"]["tools"], version


def test_bad_bodies(server: Any, http: httpx2.Client, key: str) -> None:
    headers = {**bearer(key), "Accept": ACCEPT_BOTH}
    r = http.post("/mcp", content=b"{not json", headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == -32700
    r = http.post("/mcp", content=b"[1, 2]", headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == -32600
    r = http.post("/mcp", content=json.dumps(initialize_body()), headers={**headers, "Content-Type": "text/plain"})
    assert r.status_code == 415


def test_oversized_body_gets_413(server: Any, http: httpx2.Client, key: str) -> None:
    body = json.dumps({**initialize_body(), "padding": "x" * (server.settings.max_body_bytes + 10)})
    r = http.post(
        "/mcp", content=body, headers={**bearer(key), "Accept": ACCEPT_BOTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_get_without_session_is_405_never_400(server: Any, http: httpx2.Client, key: str) -> None:
    r = http.get("/mcp", headers={**bearer(key), "Accept": "text/event-stream"})
    assert r.status_code == 405 and "Allow" in r.headers


def test_get_reconnects_to_the_server_stream(server: Any, key: str, http: httpx2.Client) -> None:
    headers = bearer(key)
    sid = open_session(http, headers, version="2025-11-25")
    get_headers = {**session_headers(headers, sid, "2025-11-25"), "Accept": "text/event-stream"}
    with CheckedClient(server.url) as streaming:
        with streaming.stream("GET", "/mcp", headers=get_headers) as r:
            assert r.status_code == 200
            assert r.headers["Content-Type"].startswith("text/event-stream")
            assert r.headers["Mcp-Session-Id"] == sid
            assert r.headers["X-Content-Type-Options"] == "nosniff" and "X-Request-Id" in r.headers
            first = _read_event(r)
            assert first.get("id") and first.get("data", "") == "" and first.get("retry") == "1000"
        # The client coming back (after a drop, or a long idle) gets the stream again.
        with streaming.stream("GET", "/mcp", headers=get_headers) as r:
            assert r.status_code == 200 and _read_event(r).get("id")


def _read_event(response: httpx2.Response) -> dict[str, str]:
    buffer = ""
    for chunk in response.iter_text():
        buffer += chunk
        if "\n\n" in buffer:
            return sse_events(buffer.split("\n\n")[0] + "\n\n")[0]
    raise AssertionError("stream ended without an event")


def test_trailing_slash_is_the_same_endpoint(server: Any, http: httpx2.Client, key: str) -> None:
    headers = bearer(key)
    sid = open_session(http, headers, path="/mcp/")
    r = http.post("/mcp", json=request_body("tools/list"), headers=session_headers(headers, sid))
    assert messages(r.text)[-1]["result"]["tools"]


# --- long calls: progress, exceptions, cancellation, resumption ------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_progress_and_log_notifications_reach_the_sdk_client(
    tool_server: Any, dbrun: Any, make_user: Any, mode: str
) -> None:
    # At 2026-07-28 they ride the call's own event stream (log delivery is the request's opt-in);
    # before, progress rides the call's stream and logs the session's GET stream.
    key = api_key(dbrun, make_user())
    reported: list[tuple[float, float | None]] = []
    logs: list[Any] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, total))

    async def on_log(params: Any) -> None:
        logs.append(params.data)

    async def go() -> None:
        async with sdk_client(
            tool_server.url + "/mcp", key, mode=mode, logging_callback=on_log, log_level="info"
        ) as client:
            result = await client.call_tool("slow", {"steps": 3, "delay": 0.05}, progress_callback=on_progress)
            assert result.structured_content == {"steps": 3}

    asyncio.run(go())
    assert reported == [(0, 3), (1, 3), (2, 3)]
    assert logs == ["step 0", "step 1", "step 2"]


def test_a_failing_tool_is_an_error_result_and_the_session_survives(
    tool_server: Any, dbrun: Any, make_user: Any, caplog: Any
) -> None:
    key = api_key(dbrun, make_user())

    async def go() -> None:
        async with sdk_client(tool_server.url + "/mcp", key) as client:
            result = await client.call_tool("boom", {})
            assert result.is_error is True
            text = text_of(result)
            assert "secret internal detail" not in text and "request id" in text
            assert (await client.call_tool("server_info", {})).is_error is False

    caplog.set_level("ERROR", logger="secondlayer.mcp")
    asyncio.run(go())
    failures = [r for r in caplog.records if "tool boom failed" in r.getMessage()]
    assert failures and failures[0].exc_info is not None


def test_a_failing_tool_over_rest_is_a_500_quoting_the_request_id(
    tool_http: httpx2.Client, dbrun: Any, make_user: Any, caplog: Any
) -> None:
    # The same call path as MCP's: the traceback is logged once, the caller sees only the request id.
    caplog.set_level("ERROR", logger="secondlayer.tools")
    r = tool_http.post("/api/tools/boom", json={}, headers=bearer(api_key(dbrun, make_user())))
    assert r.status_code == 500 and "secret internal detail" not in r.text
    assert r.json()["error"] == {
        "code": "internal_error",
        "message": f"Internal error; quote request id {r.headers['X-Request-Id']} when reporting it",
    }
    failures = [rec for rec in caplog.records if "tool boom failed" in rec.getMessage()]
    assert failures and failures[0].exc_info is not None


def test_a_call_runs_in_the_context_of_the_request_that_sent_it(
    tool_server: Any, tool_http: httpx2.Client, dbrun: Any, make_user: Any
) -> None:
    """The request id our logs carry travels with each message into the session's kernel, whose task was started
    by initialize. It rides the SDK's context-carrying streams (a private SDK module, imported only in
    app/mcp/sessions.py): this fails if the SDK changes how they carry it."""
    headers = bearer(api_key(dbrun, make_user()))
    sid = open_session(tool_http, {**headers, "X-Request-Id": "ctx-initialize-1"})
    call = request_body("tools/call", {"name": "request_context", "arguments": {}})
    r = tool_http.post("/mcp", json=call, headers={**session_headers(headers, sid), "X-Request-Id": "ctx-call-2"})
    assert r.headers["X-Request-Id"] == "ctx-call-2"
    assert messages(r.text)[-1]["result"]["structuredContent"] == {"request_id": "ctx-call-2"}


@pytest.mark.parametrize("version", ["2025-06-18", "2026-07-28"])
def test_client_disconnect_mid_call_cancels_the_call(
    tool_server: Any, tool_http: httpx2.Client, dbrun: Any, make_user: Any, probe: ToolProbe, version: str
) -> None:
    key = api_key(dbrun, make_user())
    probe.reset()
    call = request_body("tools/call", {"name": "slow", "arguments": {"steps": 40, "delay": 0.25}})
    if version == "2026-07-28":
        headers = {
            **bearer(key),
            "Accept": ACCEPT_BOTH,
            "MCP-Protocol-Version": version,
            "Mcp-Method": "tools/call",
            "Mcp-Name": "slow",
        }
        call["params"]["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    else:
        headers = session_headers(bearer(key), open_session(tool_http, bearer(key), version=version), version)
    # The client gives up after a second, before any byte of the answer (a 2026 call that sends no
    # notification answers only at the end), and closes the connection.
    with CheckedClient(tool_server.url, timeout=httpx2.Timeout(30, read=1.0)) as client:
        with pytest.raises(httpx2.ReadTimeout):
            client.post("/mcp", json=call, headers=headers)
    assert probe.started.is_set()
    assert probe.cancelled.wait(10), "the tool call was not cancelled"
    assert not probe.finished.is_set()


def test_resumable_stream_replays_after_last_event_id(
    tool_server: Any, tool_http: httpx2.Client, dbrun: Any, make_user: Any, probe: ToolProbe
) -> None:
    key = api_key(dbrun, make_user())
    probe.reset()
    version = "2025-11-25"
    headers = session_headers(bearer(key), open_session(tool_http, bearer(key), version=version), version)
    call = request_body("tools/call", {"name": "slow", "arguments": {"steps": 4, "delay": 0.3}}, request_id=7)
    client = CheckedClient(tool_server.url)
    with client.stream("POST", "/mcp", json=call, headers=headers) as r:
        priming = _read_event(r)
    client.close()  # dropped before the response
    assert priming["id"] and priming.get("retry") == "1000"
    r = tool_http.get("/mcp", headers={**headers, "Accept": "text/event-stream", "Last-Event-ID": priming["id"]})
    assert r.status_code == 200
    replies = [m for m in messages(r.text) if m.get("id") == 7]
    assert replies and replies[0]["result"]["structuredContent"] == {"steps": 4}
    assert all("id" in e for e in sse_events(r.text))
    assert probe.finished.is_set() and not probe.cancelled.is_set()


def test_shutdown_ends_open_streams(database_url: str, data_dir: Path, dbrun: Any, make_user: Any) -> None:
    probe = ToolProbe()
    thread = start_server_with_extra_tools(database_url, data_dir, probe)
    key = api_key(dbrun, make_user())
    ended = threading.Event()
    try:
        with CheckedClient(thread.url) as client:
            sid = open_session(client, bearer(key))

            def listen() -> None:
                with client.stream(
                    "GET", "/mcp", headers={**session_headers(bearer(key), sid), "Accept": "text/event-stream"}
                ) as r:
                    for _ in r.iter_bytes():
                        pass
                ended.set()

            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            time.sleep(0.5)
            started = time.monotonic()
            thread.stop()
            assert ended.wait(15) and time.monotonic() - started < 15
    finally:
        if not ended.is_set():
            thread.stop()


def _loop_started(server: Any, session_id: str) -> bool:
    async def look() -> bool:
        return bool(server.runtime.services.mcp_sessions._sessions[session_id].loop_started)

    return bool(server.call(look()))


def _wait_parked(server: Any, session_id: str) -> None:
    deadline = time.monotonic() + 10
    while _loop_started(server, session_id):
        assert time.monotonic() < deadline, "the session's loop did not park after its handshake"
        time.sleep(0.02)


def test_a_session_parks_after_its_handshake_and_wakes_on_the_next_message(
    server: Any, http: httpx2.Client, auth: dict[str, str]
) -> None:
    version = "2025-11-25"
    session_id = open_session(http, auth, version=version)
    _wait_parked(server, session_id)
    headers = session_headers(auth, session_id, version)
    # A tools/call FastToolCalls serves beside the kernel leaves the loop parked.
    r = http.post("/mcp", json=request_body("tools/call", {"name": "server_info", "arguments": {}}, 1), headers=headers)
    assert r.status_code == 200, r.text
    (reply,) = messages(r.text)
    assert reply["id"] == 1 and reply["result"]["structuredContent"]["name"] == "SecondLayer"
    assert not _loop_started(server, session_id)
    # The first request the kernel sees after the park may reuse the handshake's id: the replayed handshake cannot
    # answer it.
    r = http.post("/mcp", json=request_body("ping", {}, 1), headers=headers)
    assert messages(r.text) == [{"jsonrpc": "2.0", "id": 1, "result": {}}]
    assert _loop_started(server, session_id)
    r = http.post("/mcp", json=request_body("ping", {}, 2), headers=headers)
    assert messages(r.text) == [{"jsonrpc": "2.0", "id": 2, "result": {}}]
    time.sleep(0.3)
    assert _loop_started(server, session_id)  # it has done more than its handshake: it keeps its loop
    assert http.delete("/mcp", headers=headers).status_code in (200, 204)


def test_a_parked_session_still_refuses_a_second_initialize(
    server: Any, http: httpx2.Client, auth: dict[str, str]
) -> None:
    version = "2025-11-25"
    session_id = open_session(http, auth, version=version)
    _wait_parked(server, session_id)
    headers = session_headers(auth, session_id, version)
    parked = http.post("/mcp", json=initialize_body(version, 5), headers=headers)
    other = open_session(http, auth, version=version)
    r = http.post("/mcp", json=request_body("ping", {}, 9), headers=session_headers(auth, other, version))
    assert r.status_code == 200  # woken by a ping
    live = http.post("/mcp", json=initialize_body(version, 5), headers=session_headers(auth, other, version))
    assert (parked.status_code, messages(parked.text)) == (live.status_code, messages(live.text))


def test_a_client_that_leaves_before_its_event_stream_starts_is_no_error(
    server: Any, http: httpx2.Client, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    import socket
    import struct

    session_id = open_session(http, bearer(key))
    headers = session_headers(bearer(key), session_id)
    host, port = server.url.removeprefix("http://").split(":")
    caplog.set_level(logging.INFO)
    for n in range(30):
        body = json.dumps(request_body("tools/call", {"name": "server_info", "arguments": {}}, 100 + n)).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Type": "application/json"}.items())
        request = f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(request.encode() + body)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # leave with a reset

    def answered() -> int:
        return sum(1 for r in caplog.records if r.name == "secondlayer.access" and "POST /mcp" in r.getMessage())

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and answered() < 30:
        time.sleep(0.05)
    assert answered() >= 30  # every request was taken, its client gone by the time the stream began ...
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []  # ... and that is not an error ("Cannot send error response after headers written")
    # The session goes on: a call on a connection that stays gets its answer.
    reply = http.post("/mcp", json=request_body("tools/call", {"name": "server_info"}, 500), headers=headers)
    assert reply.status_code == 200 and messages(reply.text)[-1]["id"] == 500
