"""tools/call served by FastToolCalls is byte for byte what the SDK kernel answers: 2026-07-28 requests, and (at the
end of this file) plain calls on 2025-era sessions, whose logs and cancellations are compared too.

Every case is posted twice with the same X-Request-Id (so request ids in answers agree): once with the fast path
on and once with it off (every call to the kernel), and the status, content type and raw body must be equal.
The cases are generated from the registry of a server that carries the product's tools plus the test tools
(`slow` reports progress and logs, `boom` fails inside, `request_context` echoes the request id): for every tool,
arguments empty, absent and null, one value per property of the input schema, each property given a wrong
type, an unknown extra field, and a non-object; then the envelope and protocol cases (unknown tool, missing or
non-string name, extra params, progress token, log level, client info and capabilities in every shape,
notifications, batches, header mismatches). The fast path must have served the calls it is meant for, and
nothing it is not sure about.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import Any

import httpx2
import pytest

from app.handlers import mcp as mcp_handlers
from app.mcp.wire import MODERN_VERSIONS
from app.tools.registry import Tool, ToolContext
from tests.helpers_http import CheckedClient
from tests.helpers_mcp import ACCEPT_BOTH, SseListener, messages, open_session, session_headers
from tests.helpers_server import ServerThread

pytestmark = pytest.mark.usefixtures("demo_corpus")

VERSION = sorted(MODERN_VERSIONS)[-1]
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
}


def _tools(server: ServerThread) -> dict[str, dict[str, Any]]:
    async def schemas() -> dict[str, dict[str, Any]]:
        return {tool.name: tool.input_schema for tool in server.runtime.services.tools}

    return dict(server.call(schemas()))


def _served(server: ServerThread) -> int:
    async def count() -> int:
        fast = server.runtime.services.mcp_sessions.fast_calls
        return fast.served if fast is not None else -1

    return int(server.call(count()))


def _set_fast(server: ServerThread, on: bool, saved: list[Any]) -> None:
    async def switch() -> None:
        sessions = server.runtime.services.mcp_sessions
        if on:
            sessions.fast_calls = saved[0]
        else:
            saved[:] = [sessions.fast_calls]
            sessions.fast_calls = None

    server.call(switch())


def _sample(schema: dict[str, Any]) -> Any:
    """One plausible value for a property schema (valid or not: both sides must answer it the same)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return schema.get("minimum", 1.5)
    if kind == "boolean":
        return True
    if kind == "array":
        return [_sample(schema.get("items", {}))] if schema.get("items") else []
    if kind == "object":
        return {}
    if kind == "null":
        return None
    if schema.get("format") == "date":
        return "2023-01-01"
    return "суд"


def _wrong(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    return "not a number" if kind in ("integer", "number") or (isinstance(kind, list) and "integer" in kind) else 12


def argument_cases(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, arguments) for one tool; `...` means no `arguments` key at all."""
    properties: dict[str, Any] = schema.get("properties", {})
    required = schema.get("required", [])
    base = {name: _sample(properties[name]) for name in required if name in properties}
    cases: list[tuple[str, Any]] = [("empty", {}), ("absent", ...), ("null", None), ("required", base)]
    cases.append(("every property", {name: _sample(prop) for name, prop in properties.items()}))
    for name, prop in properties.items():
        cases.append((f"{name}=sample", {**base, name: _sample(prop)}))
        cases.append((f"{name}=wrong type", {**base, name: _wrong(prop)}))
    cases += [("extra field", {**base, "zz_unknown": 1}), ("a list", []), ("a string", "x")]
    return cases


def _post(
    http: CheckedClient,
    auth: dict[str, str],
    body: Any,
    *,
    request_id: str,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    repeat: tuple[tuple[str, str], ...] = (),
) -> tuple[int, str, bytes]:
    """POST `body` with the routing headers it calls for, `headers` over them, `drop` left out, and `repeat`
    sent as additional header lines (a header given twice)."""
    name = (
        body.get("params", {}).get("name") if isinstance(body, dict) and isinstance(body.get("params"), dict) else None
    )
    sent = {
        **auth,
        "Accept": ACCEPT_BOTH,
        "Content-Type": "application/json",
        "MCP-Protocol-Version": VERSION,
        "Mcp-Method": body.get("method", "") if isinstance(body, dict) else "tools/call",
        "X-Request-Id": request_id,
    }
    if isinstance(name, str):
        sent["Mcp-Name"] = name
    sent.update(headers or {})
    lines = [(name, value) for name, value in sent.items() if name not in drop] + list(repeat)
    r = http.post("/mcp", content=json.dumps(body, ensure_ascii=False).encode(), headers=lines)
    return r.status_code, r.headers.get("Content-Type", ""), r.content


def _compare(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], body: Any, **kw: Any
) -> tuple[tuple[int, str, bytes], int]:
    """Both answers (equal, or the assertion says which case differs) and how many the fast path served."""
    request_id = secrets.token_hex(8)
    before = _served(tool_server)
    fast = _post(tool_http, auth, body, request_id=request_id, **kw)
    served = _served(tool_server) - before
    saved: list[Any] = []
    _set_fast(tool_server, False, saved)
    try:
        kernel = _post(tool_http, auth, body, request_id=request_id, **kw)
    finally:
        _set_fast(tool_server, True, saved)
    assert fast == kernel, f"fast path and kernel differ on {json.dumps(body, ensure_ascii=False)[:300]}"
    return fast, served


def _call(name: Any, arguments: Any = ..., meta: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"_meta": dict(ENVELOPE) if meta is None else meta, **extra}
    if name is not ...:
        params["name"] = name
    if arguments is not ...:
        params["arguments"] = arguments
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}


def test_every_tool_and_argument_case(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    tools = _tools(tool_server)
    assert {"server_info", "boom", "slow", "request_context"} <= tools.keys()
    outcomes: set[str] = set()
    fast_served = 0
    for name, schema in sorted(tools.items()):
        for label, arguments in argument_cases(schema):
            if name == "slow" and isinstance(arguments, dict):
                arguments = {**arguments, "delay": 0}  # the same answer, without the wait
            (status, _, body), served = _compare(tool_server, tool_http, auth, _call(name, arguments))
            reply = json.loads(body)
            fast_served += served
            if isinstance(arguments, list | str):
                assert served == 0, f"{name} {label}: a non-object went the fast way"
            else:
                assert served == 1, f"{name} {label}: the fast path did not serve it"
            result = reply.get("result", {})
            if "error" in reply:
                outcomes.add(f"protocol {reply['error']['code']}")
            elif result.get("isError"):
                outcomes.add(result["structuredContent"]["error"]["code"])
            else:
                outcomes.add("success")
            assert status in (200, 400), (name, label, status)
    assert fast_served > 0
    # Every way a call ends was met: a result, bad arguments, a missing record, a tool failure, a protocol error.
    assert {"success", "invalid_arguments", "tool_failed"} <= outcomes, outcomes
    assert any(o.startswith("protocol") for o in outcomes), outcomes


def test_not_found_and_results_of_the_corpus(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    tools = _tools(tool_server)
    cases = [
        ("search_court_cases", {"query": "договір поставки"}),
        ("search_court_cases", {"query": "суд", "limit": 50}),
        ("fetch", {"id": "court:0"}),
        ("fetch", {"id": "no-such-kind:1"}),
        ("search", {"query": "закон"}),
        ("sources", {}),
    ]
    served = 0
    for name, arguments in cases:
        if name in tools:
            served += _compare(tool_server, tool_http, auth, _call(name, arguments))[1]
    assert served > 0


@pytest.mark.parametrize(
    "case",
    [
        "unknown tool",
        "missing name",
        "name not a string",
        "name null",
        "extra param",
        "task param",
        "progress token",
        "progress token bool",
        "log level",
        "client info",
        "client info not an object",
        "client info incomplete",
        "capabilities full",
        "capabilities not an object",
        "meta extra key",
        "params null",
        "params a list",
        "no params",
        "string id",
        "unicode id",
        "big id",
        "id null",
        "notification",
        "batch",
        "wrong jsonrpc",
        "version header mismatch",
        "name header mismatch",
        "old version in envelope",
        "param header",
        "name header repeated",
        "method header repeated",
        "version header repeated",
        "no name header",
        "no method header",
        "no version header",
        "name header base64",
        "name header bad base64",
        "float id",
        "bool id",
        "extra top-level key",
        "meta without capabilities",
        "meta without version",
        "meta version not a string",
        "client info with title",
        "client info version a number",
        "client info null",
        "capabilities roots",
        "arguments a number",
    ],
)
def test_envelope_and_protocol_cases(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], case: str
) -> None:
    headers: dict[str, str] = {}
    drop: tuple[str, ...] = ()
    repeat: tuple[tuple[str, str], ...] = ()
    body: Any = _call("server_info", {})
    fast_expected = False
    if case == "unknown tool":
        body = _call("no_such_tool", {})
    elif case == "missing name":
        body = _call(..., {})
    elif case == "name not a string":
        body = _call(12, {})
    elif case == "name null":
        body = _call(None, {})
    elif case == "extra param":
        body = _call("server_info", {}, zz=1)
    elif case == "task param":
        body = _call("server_info", {}, task={"ttl": 1000})
    elif case == "progress token":
        body = _call("slow", {"steps": 2, "delay": 0}, meta={**ENVELOPE, "progressToken": "p1"})
    elif case == "progress token bool":
        body = _call("server_info", {}, meta={**ENVELOPE, "progressToken": True})
    elif case == "log level":
        body = _call("slow", {"steps": 2, "delay": 0}, meta={**ENVELOPE, "io.modelcontextprotocol/logLevel": "info"})
    elif case == "client info":
        body = _call(
            "server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientInfo": {"name": "c ✓", "version": "1"}}
        )
        fast_expected = True
    elif case == "client info not an object":
        body = _call("server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientInfo": "c"})
    elif case == "client info incomplete":
        body = _call("server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientInfo": {"name": "c"}})
    elif case == "capabilities full":
        capabilities = {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {}, "experimental": {"x": {}}}
        body = _call("server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientCapabilities": capabilities})
        fast_expected = True
    elif case == "capabilities not an object":
        body = _call("server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientCapabilities": []})
    elif case == "meta extra key":
        body = _call("server_info", {}, meta={**ENVELOPE, "vendor/x": 1})
    elif case == "params null":
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": None}
    elif case == "params a list":
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": ["server_info"]}
    elif case == "no params":
        body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call"}
    elif case in ("string id", "unicode id", "big id", "id null"):
        body["id"] = {"string id": "abc", "unicode id": 'ід"\\', "big id": 2**53 + 1, "id null": None}[case]
        fast_expected = case != "id null"
    elif case == "notification":
        del body["id"]
    elif case == "batch":
        body = [body, _call("server_info", {})]
    elif case == "wrong jsonrpc":
        body["jsonrpc"] = "1.0"
    elif case == "version header mismatch":
        headers = {"MCP-Protocol-Version": "2025-11-25"}
    elif case == "name header mismatch":
        headers = {"Mcp-Name": "fetch"}
    elif case == "old version in envelope":
        body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2025-11-25"
        headers = {"MCP-Protocol-Version": "2025-11-25"}
    elif case == "param header":
        body = _call("search_court_cases", {"query": "суд"})
        headers = {"Mcp-Param-Query": "other"}  # no tool declares parameter headers: ignored by both
        fast_expected = True
    elif case.endswith("header repeated"):
        header = {"name": "Mcp-Name", "method": "Mcp-Method", "version": "MCP-Protocol-Version"}[case.split()[0]]
        value = {"Mcp-Name": "server_info", "Mcp-Method": "tools/call", "MCP-Protocol-Version": VERSION}[header]
        repeat = ((header, value),)  # the same value twice: still refused, first- and last-copy readers may differ
    elif case.startswith("no ") and case.endswith(" header"):
        drop = ({"name": "Mcp-Name", "method": "Mcp-Method", "version": "MCP-Protocol-Version"}[case.split()[1]],)
    elif case == "name header base64":
        headers = {"Mcp-Name": "=?base64?" + base64.b64encode(b"server_info").decode() + "?="}
        fast_expected = True  # the SDK's ladder decodes it; FastToolCalls still serves the call, after the ladder
    elif case == "name header bad base64":
        headers = {"Mcp-Name": "=?base64?c2VydmVyX2luZm8?="}
    elif case == "float id":
        body["id"] = 7.0  # not a JSON-RPC id to the SDK's model
    elif case == "bool id":
        body["id"] = True
    elif case == "extra top-level key":
        body["zz"] = {"ignored": True}
        fast_expected = True
    elif case == "meta without capabilities":
        del body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]
    elif case == "meta without version":
        del body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"]
    elif case == "meta version not a string":
        body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = 20260728
    elif case.startswith("client info"):
        info = {
            "client info with title": {"name": "c", "version": "1", "title": "C"},
            "client info version a number": {"name": "c", "version": 1},
            "client info null": None,
        }[case]
        body = _call("server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientInfo": info})
        fast_expected = case != "client info version a number"
    elif case == "capabilities roots":
        body = _call("server_info", {}, meta={**ENVELOPE, "io.modelcontextprotocol/clientCapabilities": {"roots": {}}})
        fast_expected = True
    elif case == "arguments a number":
        body = _call("server_info", 12)
    _, served = _compare(tool_server, tool_http, auth, body, headers=headers, drop=drop, repeat=repeat)
    assert served == (1 if fast_expected else 0), case


def test_every_modern_version_and_id_kind(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    for version in sorted(MODERN_VERSIONS):
        meta = {**ENVELOPE, "io.modelcontextprotocol/protocolVersion": version}
        for request_id in (0, -3, 2**40, "x", "ідентифікатор"):
            body = _call("server_info", {}, meta=meta)
            body["id"] = request_id
            _, served = _compare(tool_server, tool_http, auth, body, headers={"MCP-Protocol-Version": version})
            assert served == 1


def _add_tool(server: ServerThread, tool: Tool) -> None:
    """`tool` in the module server's registry (once: the server is this module's own)."""

    async def add() -> None:
        registry = server.runtime.services.tools
        if tool.name not in {known.name for known in registry}:
            registry.add(tool)

    server.call(add())


async def _echo(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"region": args.get("region"), "limit": args.get("limit")}


async def _not_plain(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    # A tuple and a non-str key: what json.loads never makes, so the answer goes through the kernel's dump.
    return {"pair": (1, 2), "keyed": {3: "three"}, "text": "ґ"}


def test_mcp_param_headers_of_an_annotated_tool(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    """A tool declaring x-mcp-header parameters: FastToolCalls.route leaves it to the SDK's Mcp-Param-* check
    (matching headers are still served by FastToolCalls, after the ladder; mismatches are the ladder's)."""
    schema = {
        "type": "object",
        "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "limit": {"type": "integer", "x-mcp-header": "Limit"},
        },
        "additionalProperties": False,
    }
    _add_tool(tool_server, Tool("region_echo", "Region echo", "Echoes.", schema, {"type": "object"}, _echo))
    cases: list[tuple[dict[str, Any], dict[str, str], int]] = [
        ({"region": "kyiv", "limit": 3}, {"Mcp-Param-Region": "kyiv", "Mcp-Param-Limit": "3"}, 1),
        ({"region": "київ"}, {"Mcp-Param-Region": "=?base64?" + base64.b64encode("київ".encode()).decode() + "?="}, 1),
        ({}, {}, 1),
        ({"region": "kyiv"}, {"Mcp-Param-Region": "lviv"}, 0),
        ({"region": "kyiv"}, {}, 0),
        ({}, {"Mcp-Param-Region": "kyiv"}, 0),
        ({"limit": 3}, {"Mcp-Param-Limit": "4"}, 0),
    ]
    for arguments, headers, expected in cases:
        (status, _, body), served = _compare(
            tool_server, tool_http, auth, _call("region_echo", arguments), headers=headers
        )
        assert served == expected, (arguments, headers, status, body[:200])
        assert status == (200 if expected else 400), (arguments, headers)
    # The same header given twice is refused whatever its value.
    (status, _, _), served = _compare(
        tool_server,
        tool_http,
        auth,
        _call("region_echo", {"region": "kyiv"}),
        headers={"Mcp-Param-Region": "kyiv"},
        repeat=(("Mcp-Param-Region", "kyiv"),),
    )
    assert (status, served) == (400, 0)


def test_a_result_that_is_not_plain_json(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    """A tool result json.loads could not have made is written by the kernel's own dump, on both paths."""
    schema = {"type": "object", "properties": {}}
    _add_tool(tool_server, Tool("not_plain", "Not plain", "Odd types.", schema, {"type": "object"}, _not_plain))
    (status, _, body), served = _compare(tool_server, tool_http, auth, _call("not_plain", {}))
    assert (status, served) == (200, 1)
    assert json.loads(body)["result"]["structuredContent"]["pair"] == [1, 2]


def _events(body: bytes) -> tuple[int, list[str]]:
    """(keepalive comments, data of each event) of an event stream."""
    text = body.decode()
    keepalives = text.count(": keepalive\n\n")
    data = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    return keepalives, data


def test_a_long_call_turns_into_an_event_stream_of_keepalives(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call still running after KEEPALIVE_SECONDS: both paths answer an event stream, keepalives, then the reply."""
    monkeypatch.setattr(mcp_handlers, "KEEPALIVE_SECONDS", 0.2)  # the server runs in this process
    body = _call("slow", {"steps": 3, "delay": 0.25})
    answers = []
    for fast_on in (True, False):
        saved: list[Any] = []
        if not fast_on:
            _set_fast(tool_server, False, saved)
        try:
            before = _served(tool_server) if fast_on else 0
            started = time.monotonic()
            status, ctype, raw = _post(tool_http, auth, body, request_id="long-call")
            answers.append((status, ctype, *_events(raw)))
            assert time.monotonic() - started >= 0.7
            if fast_on:
                assert _served(tool_server) - before == 1
        finally:
            if not fast_on:
                _set_fast(tool_server, True, saved)
    (fast_status, fast_type, fast_keepalives, fast_data), (status, ctype, keepalives, data) = answers
    assert (fast_status, fast_type) == (status, ctype) == (200, "text/event-stream; charset=utf-8")
    assert fast_keepalives >= 1 and keepalives >= 1
    assert fast_data == data and json.loads(data[-1])["result"]["structuredContent"] == {"steps": 3}


# --- handshake-era sessions: tools/call served beside the kernel (FastToolCalls.session_call) -------------------

SESSION_VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25")


def _session_post(
    http: CheckedClient, auth: dict[str, str], version: str, body: Any, *, request_id: str, accept: str
) -> tuple[tuple[int, str, bytes], str]:
    """The answer to `body` posted on a fresh session of `version` (so stream numbers, and the event ids made of
    them, are the same on both sides), and that session's id."""
    session_id = open_session(http, auth, version=version)
    headers = {
        **session_headers(auth, session_id, version),
        "Accept": accept,
        "Content-Type": "application/json",
        "X-Request-Id": request_id,
    }
    r = http.post("/mcp", content=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
    return (r.status_code, r.headers.get("Content-Type", ""), r.content), session_id


def _compare_session(
    tool_server: ServerThread,
    tool_http: CheckedClient,
    auth: dict[str, str],
    body: Any,
    version: str,
    accept: str = ACCEPT_BOTH,
) -> tuple[tuple[int, str, bytes], int]:
    request_id = secrets.token_hex(8)
    before = _served(tool_server)
    fast, _ = _session_post(tool_http, auth, version, body, request_id=request_id, accept=accept)
    served = _served(tool_server) - before
    saved: list[Any] = []
    _set_fast(tool_server, False, saved)
    try:
        kernel, _ = _session_post(tool_http, auth, version, body, request_id=request_id, accept=accept)
    finally:
        _set_fast(tool_server, True, saved)
    assert fast == kernel, f"{version}: fast path and kernel differ on {json.dumps(body, ensure_ascii=False)[:300]}"
    return fast, served


def _session_call(name: Any, arguments: Any = ..., **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {**extra}
    if name is not ...:
        params["name"] = name
    if arguments is not ...:
        params["arguments"] = arguments
    return {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}


@pytest.mark.parametrize("version", SESSION_VERSIONS)
def test_every_tool_and_argument_case_in_a_session(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], version: str
) -> None:
    tools = _tools(tool_server)
    outcomes: set[str] = set()
    for name, schema in sorted(tools.items()):
        for label, arguments in argument_cases(schema):
            if name == "slow" and isinstance(arguments, dict):
                arguments = {**arguments, "delay": 0}
            (status, ctype, raw), served = _compare_session(
                tool_server, tool_http, auth, _session_call(name, arguments), version
            )
            if isinstance(arguments, list | str):
                assert served == 0, f"{name} {label}: a non-object went the fast way"
            else:
                assert served == 1, f"{name} {label}: the fast path did not serve it"
            assert (status, ctype) == (200, "text/event-stream; charset=utf-8"), (name, label)
            reply = messages(raw.decode())[-1]
            result = reply.get("result", {})
            if "error" in reply:
                outcomes.add("protocol")
            elif result.get("isError"):
                outcomes.add(result["structuredContent"]["error"]["code"])
            else:
                outcomes.add("success")
    assert {"success", "invalid_arguments", "tool_failed"} <= outcomes, outcomes


@pytest.mark.parametrize(
    "case",
    [
        "unknown tool",
        "missing name",
        "name not a string",
        "extra param",
        "progress token",
        "meta",
        "string id",
        "big id",
        "json only",
        "corpus search",
        "corpus fetch missing",
    ],
)
def test_session_envelope_cases(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], case: str
) -> None:
    body: Any = _session_call("server_info", {})
    accept = ACCEPT_BOTH
    fast_expected = case in ("string id", "big id", "json only", "corpus search", "corpus fetch missing")
    if case == "unknown tool":
        body = _session_call("no_such_tool", {})
    elif case == "missing name":
        body = _session_call(..., {})
    elif case == "name not a string":
        body = _session_call(12, {})
    elif case == "extra param":
        body = _session_call("server_info", {}, zz=1)
    elif case == "progress token":
        body = _session_call("slow", {"steps": 2, "delay": 0}, _meta={"progressToken": "p1"})
    elif case == "meta":
        body = _session_call("server_info", {}, _meta={"vendor/x": 1})
    elif case in ("string id", "big id"):
        body["id"] = {"string id": 'ід"\\', "big id": 2**53 + 1}[case]
    elif case == "json only":
        accept = "application/json"
    elif case == "corpus search":
        body = _session_call("search_court_cases", {"query": "договір поставки"})
    elif case == "corpus fetch missing":
        body = _session_call("fetch", {"id": "court:0"})
    for version in SESSION_VERSIONS:
        _, served = _compare_session(tool_server, tool_http, auth, body, version, accept)
        assert served == (1 if fast_expected else 0), (case, version, served)


def test_a_session_call_logs_on_the_standalone_stream_as_the_kernel_does(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    """Handshake versions send a tool's logs unasked, on the session's standalone (GET) stream: the same
    notifications, in the same order, from the fast path and from the kernel."""
    version = "2025-11-25"
    seen = []
    for fast_on in (True, False):
        saved: list[Any] = []
        if not fast_on:
            _set_fast(tool_server, False, saved)
        try:
            session_id = open_session(tool_http, auth, version=version)
            listener = SseListener(tool_server.url, session_headers(auth, session_id, version), path="/mcp")
            try:
                body = _session_call("slow", {"steps": 3, "delay": 0})
                r = tool_http.post("/mcp", json=body, headers=session_headers(auth, session_id, version))
                assert r.status_code == 200
                events: list[dict[str, str]] = []
                while len(events) < 3:  # past the priming event (an id and no data)
                    event = listener.next_event()
                    if event.get("data"):
                        events.append(event)
            finally:
                tool_http.delete("/mcp", headers=session_headers(auth, session_id, version))
            seen.append(([e["data"] for e in events], messages(r.text)))
        finally:
            if not fast_on:
                _set_fast(tool_server, True, saved)
    assert seen[0] == seen[1]
    assert [json.loads(data)["params"]["data"] for data in seen[0][0]] == ["step 0", "step 1", "step 2"]


def test_a_session_call_cancelled_by_the_client_is_answered_as_the_kernel_answers(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    """notifications/cancelled for a call in flight: the kernel ends its stream with "Request cancelled", and so
    does the fast path, which the kernel never heard of (the session stays parked)."""
    version = "2025-11-25"
    answers = []
    for fast_on in (True, False):
        saved: list[Any] = []
        if not fast_on:
            _set_fast(tool_server, False, saved)
        try:
            before = _served(tool_server)
            session_id = open_session(tool_http, auth, version=version)
            headers = session_headers(auth, session_id, version)
            body = {**_session_call("slow", {"steps": 40, "delay": 0.25}), "id": "long"}
            with CheckedClient(tool_server.url, timeout=30) as caller:
                holder: list[Any] = []

                def call(
                    into: list[Any] = holder, sent: dict[str, Any] = body, lines: dict[str, str] = headers
                ) -> None:
                    into.append(caller.post("/mcp", json=sent, headers=lines))

                thread = threading.Thread(target=call)
                thread.start()
                time.sleep(0.6)
                cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "long"}}
                assert tool_http.post("/mcp", json=cancel, headers=headers).status_code == 202
                thread.join(20)
            assert holder and holder[0].status_code == 200
            answers.append(messages(holder[0].text)[-1])
            assert (_served(tool_server) - before) == (1 if fast_on else 0)
        finally:
            if not fast_on:
                _set_fast(tool_server, True, saved)
    assert (
        answers[0]
        == answers[1]
        == {
            "jsonrpc": "2.0",
            "id": "long",
            "error": {"code": -32800, "message": "Request cancelled"},
        }
    )


# --- a session call's reply, whole or streamed (StreamableHTTPHandler._stream_response) ----------------------


def _timed_stream(
    http: CheckedClient, headers: dict[str, str], body: dict[str, Any]
) -> tuple[httpx2.Response, list[tuple[float, bytes]]]:
    """POST `body` and read the answer as it arrives: the response and (seconds since the POST, bytes) per read."""
    started = time.monotonic()
    reads: list[tuple[float, bytes]] = []
    with http.stream("POST", "/mcp", json=body, headers=headers) as r:
        for chunk in r.iter_raw():
            reads.append((time.monotonic() - started, chunk))
    return r, reads


def test_a_quick_session_reply_goes_out_whole_and_a_slow_one_streams_its_priming_event_first(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    version = "2025-11-25"
    session_id = open_session(tool_http, auth, version=version)
    headers = session_headers(auth, session_id, version)
    try:
        # Quick: one response of known length (no chunks): the priming event, then the reply. (The server runs in
        # this process: a longer wait here keeps a loaded machine from making the quick call a slow one.)
        monkeypatch.setattr(mcp_handlers, "WHOLE_WITHIN", 5.0)
        r, reads = _timed_stream(tool_http, headers, _session_call("server_info", {}))
        monkeypatch.undo()
        raw = b"".join(chunk for _, chunk in reads)
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert r.headers.get("Transfer-Encoding") is None and int(r.headers["Content-Length"]) == len(raw)
        assert r.headers["Mcp-Session-Id"] == session_id
        events = [block for block in raw.decode().split("\n\n") if block]
        assert events[0].startswith("id: ") and "data: \n" in events[0] + "\n" and "retry: " in events[0]
        assert len(events) == 2 and messages(raw.decode())[-1]["result"]["isError"] is False
        # Slow (1 s, past WHOLE_WITHIN): the priming event comes first, the reply when ready, in chunks.
        delay = 0.5
        assert 2 * delay > mcp_handlers.WHOLE_WITHIN + 0.5
        r, reads = _timed_stream(tool_http, headers, _session_call("slow", {"steps": 2, "delay": delay}))
        assert r.status_code == 200 and r.headers.get("Transfer-Encoding") == "chunked"
        first_at, first = reads[0]
        assert first.startswith(b"id: ") and b"data: \n" in first and b"structuredContent" not in first
        replied_at = next(at for at, chunk in reads if b"structuredContent" in chunk)
        assert first_at < 2 * delay <= replied_at, (first_at, replied_at)
        assert messages(b"".join(chunk for _, chunk in reads).decode())[-1]["result"]["structuredContent"] == {
            "steps": 2
        }
    finally:
        tool_http.delete("/mcp", headers=headers)


def test_a_client_that_leaves_before_a_session_reply_starts_cancels_the_call_at_once(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str], probe: Any
) -> None:
    """It never saw the stream's priming event, so it cannot resume: the call is not kept for a resumption
    (RESUME_GRACE) but cancelled as soon as the client is gone."""
    version = "2025-11-25"
    session_id = open_session(tool_http, auth, version=version)
    headers = session_headers(auth, session_id, version)
    probe.reset()
    try:
        served = _served(tool_server)
        # It hangs up 0.1 s in, before WHOLE_WITHIN: no headers yet, so no priming event either.
        with CheckedClient(tool_server.url, timeout=httpx2.Timeout(5, read=0.1)) as leaver:
            with pytest.raises(httpx2.ReadTimeout):
                leaver.post("/mcp", json=_session_call("slow", {"steps": 100, "delay": 0.05}), headers=headers)
        assert probe.started.wait(5)
        assert probe.cancelled.wait(3), "the call ran on after its client left"
        assert not probe.finished.is_set()
        assert _served(tool_server) == served + 1  # the fast path served it
    finally:
        tool_http.delete("/mcp", headers=headers)


async def _awkward(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    # Floats either side of where Python's and pydantic's float text part, escapes, non-BMP text, a non-str key.
    values: dict[str, Any] = {
        "floats": [0.5, 1e-4, 123456.789, 9.99e14, 1e15, 1e-5, 1e20, 0.0, -0.0, 5e-324],
        "text": '\u0000\u001f"\\/\u007f\u2028ї😀\n\t',
        "nested": {"deep": [[{"ok": True, "none": None, "big": 2**70}]]},
    }
    pick = args.get("pick")
    if pick == "odd key":
        return {"keyed": {1: "one"}}
    if isinstance(pick, str):
        return {pick: values[pick]}
    return values


def test_session_replies_of_awkward_values_are_the_kernels(
    tool_server: ServerThread, tool_http: CheckedClient, auth: dict[str, str]
) -> None:
    """A session reply written directly (modern._compact_json) or through pydantic: the same bytes as the kernel's,
    whichever way each value goes."""
    schema = {"type": "object", "properties": {"pick": {"type": "string"}}}
    _add_tool(tool_server, Tool("awkward", "Awkward", "Odd values.", schema, {"type": "object"}, _awkward))
    for pick in (None, "floats", "text", "nested", "odd key"):
        arguments = {} if pick is None else {"pick": pick}
        for version in SESSION_VERSIONS:
            (status, _, raw), served = _compare_session(
                tool_server, tool_http, auth, _session_call("awkward", arguments), version
            )
            assert (status, served) == (200, 1), (pick, version)
            assert messages(raw.decode())[-1]["result"]["isError"] is False


def test_compact_json_is_what_pydantic_writes() -> None:
    """Wherever `_compact_json` accepts a value, `_compact` writes pydantic's `model_dump_json` text of it."""
    import random

    import mcp_types as types

    from app.mcp import modern

    rng = random.Random(20261130)

    def pydantic_text(value: Any) -> str:
        return types.JSONRPCResponse(jsonrpc="2.0", id=1, result={"v": value}).model_dump_json()[38:-2]

    assert pydantic_text("x") == '"x"'  # the slice above cuts out exactly the value
    samples: list[Any] = ["".join(chr(c) for c in range(0x800)), "\u2028\u2029\ufeff😀", 2**70, -(2**63), True, None]
    samples += [rng.choice((-1, 1)) * rng.random() * 10 ** rng.uniform(-7, 17) for _ in range(20000)]
    samples += [0.0, -0.0, 1e-4, 1e15, 5e-324, 1.7976931348623157e308, float("nan"), float("inf")]
    accepted = 0
    for value in samples:
        if modern._compact_json(value):
            accepted += 1
            assert modern._compact(value) == pydantic_text(value), value
    assert accepted > 10000
    assert not modern._compact_json({"k": float("nan")}) and not modern._compact_json({1: "x"})
    assert not modern._compact_json((1, 2)) and modern._compact_json({"a": [1, "b", {"c": 0.5}]})


def test_client_message_reads_a_request_as_the_sdks_union_does() -> None:
    """`client_message` validates a request's usual shape with the request model alone; for every body, its answer
    (or refusal) is the SDK's message union's."""
    import mcp_types as types
    from pydantic import ValidationError

    from app.mcp.wire import client_message

    bodies: list[Any] = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "arguments": {}}},
        {"jsonrpc": "2.0", "id": "a", "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2**53 + 1, "method": "ping", "params": {"_meta": {"progressToken": 1}}},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": None, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": []},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": None},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 1, "result": {}},
        {"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m"}},
        {"jsonrpc": "2.0", "id": 1, "method": "ping", "result": {}},
        {"id": 1, "method": "ping"},
        [],
        "text",
    ]
    for body in bodies:
        try:
            union: Any = types.jsonrpc_message_adapter.validate_python(body, by_name=False)
            if isinstance(union, types.JSONRPCNotification) and isinstance(body, dict) and "id" in body:
                union = "refused"
        except ValidationError:
            union = "refused"
        try:
            ours: Any = client_message(body)
        except ValueError:
            ours = "refused"
        assert type(ours) is type(union) and ours == union, body
