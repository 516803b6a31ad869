"""GET /metrics: Prometheus text for the bearer of METRICS_TOKEN only, with the OpenTelemetry MCP names, label values
from closed sets (a client cannot grow the series), HTTP requests by route. Several processes summed: test_scale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers_http import CheckedClient
from tests.helpers_mcp import ACCEPT_BOTH, open_session, request_body, session_headers
from tests.helpers_oauth import PASSWORD
from tests.helpers_server import ServerThread, free_port, server_settings
from tests.helpers_tokens import bearer

TOKEN = "metrics-token-" + "t" * 32


@pytest.fixture(scope="module")
def metered(database_url: str, data_dir: Path) -> Iterator[ServerThread]:
    thread = ServerThread(
        server_settings(database_url, data_dir, free_port(), METRICS_TOKEN=TOKEN), database_url
    ).start()
    yield thread
    thread.stop()


def _scrape(url: str) -> str:
    with CheckedClient(url) as client:
        r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


def _count(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for found, value in re.findall(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M):
        if all(f'{k}="{v}"' in found for k, v in labels.items()):
            total += float(value)
    return total


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(server, metered):
    with CheckedClient(server.url) as client:
        off = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert off.status_code == 404 and "METRICS_TOKEN" in off.json()["error"]["message"]
    with CheckedClient(metered.url) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = client.get("/metrics", headers=headers)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


def test_mcp_requests_are_timed_with_the_opentelemetry_names_and_bounded_labels(metered, key):
    before = _scrape(metered.url)
    with CheckedClient(metered.url) as client:
        sid = open_session(client, bearer(key))
        assert sid.startswith(f"a{metered.runtime.port}.")  # the owner's name leads the session id
        headers = session_headers(bearer(key), sid)
        call = request_body("tools/call", {"name": "search_court_cases", "arguments": {"query": "позов"}})
        assert client.post("/mcp", json=call, headers=headers).status_code == 200
        made_up = request_body("tools/call", {"name": "no-such-tool-" + "x" * 40, "arguments": {}}, request_id=3)
        assert client.post("/mcp", json=made_up, headers=headers).status_code == 200
        odd = request_body("made/up-" + "y" * 40, {}, request_id=4)
        assert client.post("/mcp", json=odd, headers=headers).status_code == 200
        assert client.get("/no/such/page/" + "z" * 20, headers={"Accept": ACCEPT_BOTH}).status_code == 404
    after = _scrape(metered.url)
    name = "mcp_server_operation_duration_seconds_count"
    for labels in (
        {"mcp_method_name": "initialize", "error_type": ""},
        {"mcp_method_name": "tools/call", "gen_ai_tool_name": "search_court_cases", "error_type": ""},
        {"mcp_method_name": "tools/call", "gen_ai_tool_name": "unknown", "error_type": "-32602"},
        {"mcp_method_name": "other", "error_type": "-32601"},
    ):
        assert _count(after, name, **labels) == _count(before, name, **labels) + 1, labels
    # What a client typed never becomes a label value.
    assert "no-such-tool" not in after and "made/up" not in after and "/no/such/page" not in after
    http = "http_server_request_duration_seconds_count"
    assert _count(after, http, http_route="/mcp", http_request_method="POST", http_response_status_code="200") >= 4
    assert _count(after, http, http_route="unmatched", http_response_status_code="404") >= 1
    assert _count(after, "secondlayer_mcp_sessions", transport="streamable") >= 1
    assert 'secondlayer_db_pool_connections{state="max"} 10.0' in after


def test_a_fast_2026_tools_call_is_timed_like_the_kernels(metered, key):
    """The 2026-07-28 fast path (FastToolCalls) records the same series, with the same labels, as the kernel's
    middleware records for a 2025 session's call: a result, a tool error, an unknown tool."""
    version = "2026-07-28"
    meta = {"io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {}}
    calls = [("server_info", {}, ""), ("server_info", {"zz": 1}, "tool_error"), ("nope", {}, "-32602")]
    name = "mcp_server_operation_duration_seconds_count"
    with CheckedClient(metered.url) as client:
        session = session_headers(bearer(key), open_session(client, bearer(key)))
        for tool, arguments, error in calls:
            label = tool if tool != "nope" else "unknown"
            labels = {"mcp_method_name": "tools/call", "gen_ai_tool_name": label, "error_type": error}
            before = _count(_scrape(metered.url), name, **labels)
            body = request_body("tools/call", {"name": tool, "arguments": arguments, "_meta": meta})
            modern = {
                **bearer(key),
                "Accept": ACCEPT_BOTH,
                "MCP-Protocol-Version": version,
                "Mcp-Method": "tools/call",
                "Mcp-Name": tool,
            }
            client.post("/mcp", json=body, headers=modern)
            assert _count(_scrape(metered.url), name, **labels) == before + 1, (tool, "2026-07-28")
            client.post(
                "/mcp", json=request_body("tools/call", {"name": tool, "arguments": arguments}), headers=session
            )
            assert _count(_scrape(metered.url), name, **labels) == before + 2, (tool, "2025 session")


def test_sign_ins_are_counted_by_outcome(metered, make_user):
    user = make_user()
    before = _scrape(metered.url)
    with CheckedClient(metered.url) as client:
        page = client.get("/admin/login")
        xsrf = page.cookies.get("_xsrf") or client.cookies.get("_xsrf")
        for password in ("wrong password here", PASSWORD):
            client.post("/admin/login", data={"email": user["email"], "password": password, "_xsrf": xsrf})
    after = _scrape(metered.url)
    name = "secondlayer_sign_ins_total"
    assert _count(after, name, outcome="invalid_credentials") == _count(before, name, outcome="invalid_credentials") + 1
    # Not an operator: the right password, refused by the console.
    assert _count(after, name, outcome="not_operator") == _count(before, name, outcome="not_operator") + 1
