"""Measure the HTTP surface of a running SecondLayer server over loopback: REST tool calls, MCP over Streamable
HTTP, and what bearer validation costs. Prints a table of medians, p95s and throughputs.

    make bench-http     # or: .venv/bin/python scripts/bench_http.py [--requests N] [--concurrency 1,8,32]

Without --url it starts the real server (`python -m app serve`, a separate process) on a free loopback port,
on DATABASE_URL when set, else on an embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench-http (./var/...),
migrated and loaded with the demo corpus; it creates a user, an API key and (through the real
/oauth/register, /oauth/authorize, /oauth/token flow) an OAuth access token. With --url it measures that
server instead and needs --key (an API key); it then skips the OAuth figures. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCEPT_BOTH = "application/json, text/event-stream"
MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
PASSWORD = "bench passphrase " + secrets.token_hex(4)
SEARCH_ARGS = {"query": "позов"}


# --- figures --------------------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    median_ms: float
    p95_ms: float
    count: int
    per_second: float | None = None
    note: str = ""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def row(what: str, times: list[float], per_second: float | None = None, note: str = "") -> Row:
    return Row(what, statistics.median(times), percentile(times, 0.95), len(times), per_second, note)


def print_table(rows: list[Row]) -> None:
    header = f"{'measurement':<58} {'median ms':>10} {'p95 ms':>9} {'n':>6} {'req/s':>8}  note"
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = f"{r.per_second:8.0f}" if r.per_second is not None else f"{'':>8}"
        print(f"{r.what:<58} {r.median_ms:10.2f} {r.p95_ms:9.2f} {r.count:6d} {rate}  {r.note}")


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await fn()
    return (time.perf_counter() - started) * 1000


async def sequential(fn: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    for _ in range(min(10, n)):  # warm connections and caches
        await fn()
    return [await timed(fn) for _ in range(n)]


async def concurrent(
    make_fn: Callable[[httpx2.AsyncClient], Callable[[], Awaitable[Any]]], url: str, clients: int, n: int
) -> tuple[list[float], float]:
    """`clients` workers, each on its own connection, share `n` calls; returns (latencies, calls per second)."""
    remaining = n
    times: list[float] = []

    async def worker() -> None:
        nonlocal remaining
        async with httpx2.AsyncClient(base_url=url, timeout=60) as client:
            fn = make_fn(client)
            await fn()  # connect outside the clock
            while remaining > 0:
                remaining -= 1
                times.append(await timed(fn))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return times, len(times) / elapsed


# --- the calls ------------------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rest_call(client: httpx2.AsyncClient, token: str, tool: str, args: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    body = json.dumps(args).encode()
    headers = {**bearer(token), "Content-Type": "application/json"}

    async def call() -> None:
        r = await client.post(f"/api/tools/{tool}", content=body, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"{tool}: HTTP {r.status_code}: {r.text[:200]}")

    return call


def sse_messages(text: str) -> list[dict[str, Any]]:
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if data and data[0]:
            found.append(json.loads("\n".join(data)))
    return found


def reply_of(r: httpx2.Response, request_id: Any) -> dict[str, Any]:
    if r.status_code != 200:
        raise RuntimeError(f"MCP: HTTP {r.status_code}: {r.text[:200]}")
    found = sse_messages(r.text) if r.headers.get("content-type", "").startswith("text/event-stream") else [r.json()]
    for message in found:
        if message.get("id") == request_id:
            if "error" in message or message.get("result", {}).get("isError"):
                raise RuntimeError(f"MCP error: {message}")
            return message
    raise RuntimeError(f"MCP: no reply to {request_id} in {r.text[:200]}")


class McpSession:
    """A Streamable HTTP session over raw HTTP, speaking as the SDK client does (Accept: JSON and SSE)."""

    def __init__(self, client: httpx2.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token
        self.session_id = ""
        self.next_id = 1

    def headers(self) -> dict[str, str]:
        return {
            **bearer(self.token),
            "Accept": ACCEPT_BOTH,
            "Content-Type": "application/json",
            "Mcp-Session-Id": self.session_id,
            "MCP-Protocol-Version": HANDSHAKE,
        }

    async def open(self) -> None:
        body = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": HANDSHAKE,
                "capabilities": {},
                "clientInfo": {"name": "bench_http", "version": "1"},
            },
        }
        r = await self.client.post("/mcp", json=body, headers={**bearer(self.token), "Accept": ACCEPT_BOTH})
        reply_of(r, 0)
        self.session_id = r.headers["Mcp-Session-Id"]
        r = await self.client.post(
            "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers()
        )
        if r.status_code != 202:
            raise RuntimeError(f"initialized: HTTP {r.status_code}")

    async def call(self, tool: str, args: dict[str, Any]) -> None:
        self.next_id += 1
        body = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": "tools/call",
            "params": {"name": tool, "arguments": args},
        }
        reply_of(await self.client.post("/mcp", json=body, headers=self.headers()), self.next_id)

    async def close(self) -> None:
        r = await self.client.delete("/mcp", headers=self.headers())
        if r.status_code != 204:
            raise RuntimeError(f"DELETE: HTTP {r.status_code}")


def modern_call(
    client: httpx2.AsyncClient, token: str, tool: str, args: dict[str, Any]
) -> Callable[[], Awaitable[Any]]:
    """One self-contained 2026-07-28 request: no session, the envelope in _meta, routing headers."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "bench_http", "version": "1"},
    }
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args, "_meta": meta}}
    ).encode()
    headers = {
        **bearer(token),
        "Accept": ACCEPT_BOTH,
        "Content-Type": "application/json",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }

    async def call() -> None:
        reply_of(await client.post("/mcp", content=body, headers=headers), 1)

    return call


# --- the measurements -----------------------------------------------------------------------------------


async def measure(
    url: str, key: str, access_token: str | None, oauth: OAuthClient | None, n: int, concurrency: list[int]
) -> list[Row]:
    rows: list[Row] = []
    async with httpx2.AsyncClient(base_url=url, timeout=60) as client:

        async def health() -> None:
            (await client.get("/healthz")).raise_for_status()

        rows.append(row("GET /healthz (no auth: the HTTP floor)", await sequential(health, n)))

        for tool, args in (("server_info", {}), ("search_court_cases", SEARCH_ARGS)):
            rows.append(
                row(f"REST POST /api/tools/{tool}, 1 client", await sequential(rest_call(client, key, tool, args), n))
            )
            for clients in concurrency:
                times, rate = await concurrent(
                    functools.partial(rest_call, token=key, tool=tool, args=args), url, clients, max(n, clients * 10)
                )
                rows.append(row(f"REST POST /api/tools/{tool}, {clients} concurrent", times, rate))

        session = McpSession(client, key)
        await session.open()
        for tool, args in (("server_info", {}), ("search_court_cases", SEARCH_ARGS)):
            rows.append(
                row(
                    f"MCP tools/call {tool}, one session",
                    await sequential(functools.partial(session.call, tool, args), n),
                )
            )
        await session.close()

        async def cycle() -> None:
            fresh = McpSession(client, key)
            await fresh.open()
            await fresh.call("server_info", {})
            await fresh.close()

        rows.append(row("MCP initialize+initialized+call+DELETE (4 requests)", await sequential(cycle, n // 2)))
        rows.append(
            row(
                f"MCP {MODERN} tools/call server_info, no session",
                await sequential(modern_call(client, key, "server_info", {}), n),
            )
        )
        for clients in concurrency:
            times, rate = await concurrent(
                lambda c: modern_call(c, key, "server_info", {}), url, clients, max(n, clients * 10)
            )
            rows.append(row(f"MCP {MODERN} tools/call server_info, {clients} concurrent", times, rate))

        # Bearer validation: the first request with a credential looks it up in the database; later ones
        # within the cache TTL are answered from the process's cache.
        rows.append(
            row(
                "bearer: API key, cached (REST server_info)",
                await sequential(rest_call(client, key, "server_info", {}), n),
            )
        )
        if access_token is not None and oauth is not None:
            rows.append(
                row(
                    "bearer: OAuth access token, cached (REST server_info)",
                    await sequential(rest_call(client, access_token, "server_info", {}), n),
                )
            )
            fresh_tokens = [await oauth.refresh(client) for _ in range(min(n, 100))]
            first = [await timed(rest_call(client, t, "server_info", {})) for t in fresh_tokens]
            rows.append(
                row("bearer: OAuth access token, first use (REST server_info)", first, note="a new token each call")
            )
    return rows


# --- setting up: server, user, API key, OAuth token ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"secondlayer {args[0]} failed: {done.stderr.strip()}")
    return json.loads(done.stdout) if "--json" in args else {}


@contextmanager
def database() -> Iterator[str]:
    """DATABASE_URL, else the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench-http, for the run."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    from app.db.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(Path(os.environ.get("SECONDLAYER_DATA_DIR", ROOT / "var")) / "bench-http")
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


@contextmanager
def running_server(database_url: str) -> Iterator[tuple[str, str, str]]:
    """The real server in its own process, plus (url, email, API key) for a fresh user."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = Path(os.environ.get("SECONDLAYER_DATA_DIR", ROOT / "var")) / "bench-http"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECONDLAYER_DATA_DIR": str(data_dir),
        "PUBLIC_URL": url,
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "CLIENT_METADATA_ALLOW_LOOPBACK": "true",
    }
    run_cli(env, "migrate")
    run_cli(env, "bootstrap")  # the demo corpus, when the corpus is empty
    email = f"bench-{secrets.token_hex(4)}@example.com"
    run_cli(env, "create-user", email, "--password-stdin", stdin=PASSWORD + "\n")
    key = run_cli(env, "create-api-key", "--user", email, "--name", "bench_http", "--json")["key"]
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not become ready")
            time.sleep(0.2)
        yield url, email, key
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") in ("hidden", "email", "text", "password"):
            self.fields[a["name"] or ""] = a.get("value") or ""


class OAuthClient:
    """A public client registered through /oauth/register that signs in through the consent page."""

    redirect_uri = "http://127.0.0.1:9/callback"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client_id = ""
        self.refresh_token = ""

    def access_token(self, email: str) -> str:
        with httpx2.Client(base_url=self.url, timeout=30) as http:
            r = http.post(
                "/oauth/register",
                json={
                    "client_name": "bench_http",
                    "redirect_uris": [self.redirect_uri],
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                },
            )
            r.raise_for_status()
            self.client_id = r.json()["client_id"]
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            params = {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "state": secrets.token_hex(4),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "scope": "mcp",
                "resource": self.url + "/mcp",
            }
            page = http.get("/oauth/authorize", params=params)
            page.raise_for_status()
            form = _FormFields()
            form.feed(page.text)
            fields = {**form.fields, "email": email, "password": PASSWORD, "decision": "allow"}
            answer = http.post("/oauth/authorize", data=fields)
            if answer.status_code != 302:
                raise SystemExit(f"OAuth sign-in failed: HTTP {answer.status_code}")
            code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
            r = http.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "client_id": self.client_id,
                    "code_verifier": verifier,
                    "resource": self.url + "/mcp",
                },
            )
            r.raise_for_status()
            self.refresh_token = r.json()["refresh_token"]
            return str(r.json()["access_token"])

    async def refresh(self, client: httpx2.AsyncClient) -> str:
        """A brand-new access token (the refresh grant), never seen by the server's bearer cache."""
        r = await client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "client_id": self.client_id, "refresh_token": self.refresh_token},
        )
        r.raise_for_status()
        self.refresh_token = r.json()["refresh_token"]
        return str(r.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="measure this running server instead of starting one (needs --key)")
    parser.add_argument("--key", help="an API key (sl_...) for --url")
    parser.add_argument("--requests", type=int, default=300, help="calls per measurement (default 300)")
    parser.add_argument(
        "--concurrency", default="1,8,32", help="concurrent clients (one connection each) to try (default 1,8,32)"
    )
    args = parser.parse_args()
    concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    n = max(20, args.requests)

    if args.url:
        if not args.key:
            parser.error("--url needs --key")
        url = args.url.rstrip("/")
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("the benchmark runs over loopback only")
        rows = asyncio.run(measure(url, args.key, None, None, n, concurrency))
    else:
        with database() as database_url, running_server(database_url) as (url, email, key):
            oauth = OAuthClient(url)
            token = oauth.access_token(email)
            rows = asyncio.run(measure(url, key, token, oauth, n, concurrency))
    print(
        f"\nSecondLayer HTTP benchmark: {url}, {n} calls per line, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
