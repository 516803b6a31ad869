"""Helpers for the MCP tests: raw JSON-RPC over HTTP, SSE parsing, a GET /sse listener, the official SDK clients
(on checked clients), and a server with extra tools (a slow one that reports progress and notices cancellation,
one that raises, and one that answers the request id it runs under)."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from app.logs import request_id_var
from app.tools.registry import Tool, ToolContext
from tests.helpers_http import CheckedAsyncClient, CheckedClient
from tests.helpers_server import ServerThread, free_port, server_settings

ACCEPT_BOTH = "application/json, text/event-stream"


def initialize_body(version: str = "2025-06-18", request_id: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "1"}},
    }


def request_body(method: str, params: dict[str, Any] | None = None, request_id: int | str = 2) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    return body


def sse_events(text: str) -> list[dict[str, str]]:
    """Parse an event stream into dicts with event/id/data/retry (comments dropped)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            event[name] = event[name] + "\n" + value if name == "data" and name in event else value
        if event:
            events.append(event)
    return events


def messages(text: str) -> list[dict[str, Any]]:
    """The JSON-RPC messages carried by `message` events."""
    return [json.loads(e["data"]) for e in sse_events(text) if e.get("data") and e.get("event", "message") == "message"]


def open_session(
    http: httpx2.Client, headers: dict[str, str], *, version: str = "2025-06-18", path: str = "/mcp"
) -> str:
    """initialize + notifications/initialized over raw HTTP; returns the Mcp-Session-Id."""
    r = http.post(path, json=initialize_body(version), headers={**headers, "Accept": ACCEPT_BOTH})
    assert r.status_code == 200, r.text
    session_id = r.headers["Mcp-Session-Id"]
    (reply,) = [m for m in messages(r.text) if m.get("id") == 1]
    assert reply["result"]["protocolVersion"] == version
    r = http.post(
        path,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={**headers, "Accept": ACCEPT_BOTH, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": version},
    )
    assert r.status_code == 202, r.text
    return session_id


def session_headers(headers: dict[str, str], session_id: str, version: str = "2025-06-18") -> dict[str, str]:
    return {**headers, "Accept": ACCEPT_BOTH, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": version}


class SseListener:
    """Holds GET /sse (or `path`) open in a thread and hands out its events (and comment lines) in order."""

    def __init__(self, base_url: str, headers: dict[str, str], path: str = "/sse") -> None:
        self.events: queue.Queue[dict[str, str]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        self.status: int | None = None
        self.headers = httpx2.Headers()
        self.ended = threading.Event()
        self._ready = threading.Event()
        self._client = CheckedClient(base_url)
        self._path = path
        self._thread = threading.Thread(target=self._run, args=(headers,), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", self._path, headers={**headers, "Accept": "text/event-stream"}) as r:
                self.status = r.status_code
                self.headers = r.headers
                self._ready.set()
                event: dict[str, str] = {}
                for line in r.iter_lines():
                    if line.startswith(":"):
                        self.comments.put(line)
                    elif not line:
                        if event:
                            self.events.put(event)
                        event = {}
                    else:
                        name, _, value = line.partition(":")
                        event[name] = value[1:] if value.startswith(" ") else value
        except httpx2.HTTPError:
            pass
        finally:
            self._ready.set()
            self.ended.set()

    def next_event(self, timeout: float = 10) -> dict[str, str]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._client.close()


def endpoint_of(listener: SseListener) -> str:
    """The first event of an HTTP+SSE session: where to POST its messages."""
    first = listener.next_event()
    assert first["event"] == "endpoint"
    return first["data"]


def checked_mcp_http_client(
    headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None, auth: httpx2.Auth | None = None
) -> httpx2.AsyncClient:
    """The SDK's `create_mcp_http_client` (same default timeouts: a long read for held-open streams), checked."""
    return CheckedAsyncClient(headers=headers, auth=auth, timeout=timeout or httpx2.Timeout(30, read=300))


def text_of(result: CallToolResult) -> str:
    """The text of a tool result's first content item, which our tools always make a text item."""
    item = result.content[0]
    assert isinstance(item, TextContent), item
    return item.text


@asynccontextmanager
async def sdk_client(url: str, token: str, mode: str = "legacy", **kwargs: Any) -> AsyncIterator[Client]:
    """The official SDK's high-level Client over Streamable HTTP with a bearer credential."""
    async with CheckedAsyncClient(headers={"Authorization": f"Bearer {token}"}) as http_client:
        transport = streamable_http_client(url, http_client=http_client)
        async with Client(transport, mode=mode, **kwargs) as client:
            yield client


@asynccontextmanager
async def sdk_sse_client(url: str, token: str, **kwargs: Any) -> AsyncIterator[Client]:
    """The official SDK's HTTP+SSE client (2024-11-05 transport), handshake era."""
    transport = sse_client(
        url, headers={"Authorization": f"Bearer {token}"}, httpx_client_factory=checked_mcp_http_client
    )
    async with Client(transport, mode="legacy", **kwargs) as client:
        yield client


class ToolProbe:
    """What the extra tools saw, readable from the test thread."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.finished = threading.Event()

    def reset(self) -> None:
        for event in (self.started, self.cancelled, self.finished):
            event.clear()


def extra_tools(probe: ToolProbe) -> list[Tool]:
    async def slow(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        probe.started.set()
        steps = int(args.get("steps", 3))
        try:
            for step in range(steps):
                await ctx.report_progress(step, steps, f"step {step}")
                await ctx.notify_log("info", f"step {step}")
                await asyncio.sleep(float(args.get("delay", 0.5)))
        except asyncio.CancelledError:
            probe.cancelled.set()
            raise
        probe.finished.set()
        return {"steps": steps}

    async def boom(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("secret internal detail")

    async def request_context(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        return {"request_id": request_id_var.get()}  # what our log lines written here would carry

    object_schema = {
        "type": "object",
        "properties": {"steps": {"type": "integer", "minimum": 0}, "delay": {"type": "number", "minimum": 0}},
        "additionalProperties": False,
    }
    return [
        Tool(
            "slow",
            "Slow",
            "Counts slowly, reporting progress.",
            object_schema,
            {"type": "object", "properties": {"steps": {"type": "integer"}}, "required": ["steps"]},
            slow,
        ),
        Tool("boom", "Boom", "Always fails.", {"type": "object", "properties": {}}, {"type": "object"}, boom),
        Tool(
            "request_context",
            "Request context",
            "The request id the call runs under.",
            {"type": "object", "properties": {}},
            {"type": "object"},
            request_context,
        ),
    ]


def start_server_with_extra_tools(database_url: str, data_dir: Path, probe: ToolProbe, **env: str) -> ServerThread:
    """Our own server (so the session server's tool list stays the product's), plus the extra tools."""
    port = free_port()
    thread = ServerThread(server_settings(database_url, data_dir, port, **env), database_url).start()
    registry = thread.runtime.services.tools
    for tool in extra_tools(probe):
        registry.add(tool)
    return thread
