"""Several processes behind the real nginx with deploy/nginx.conf: every message of an MCP session reaches the process
that owns it (Streamable HTTP and HTTP+SSE), a killed process ends only its own sessions, a revocation made through
one process is refused by all within a second, and /metrics sums the host's processes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from app.deploy import BEGIN, END, Process, nginx_routing
from tests.helpers_http import CheckedAsyncClient, CheckedClient
from tests.helpers_mcp import sdk_client, sdk_sse_client
from tests.helpers_oauth import SDK_CALLBACK, ConsentBrowser, MemoryStorage
from tests.helpers_server import ROOT, free_port, wait_ready

pytestmark = pytest.mark.usefixtures("fresh_registration_budget")

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
METRICS_TOKEN = "metrics-" + "m" * 40
LOG_FORMAT = "$http_mcp_session_id|$arg_session_id|$upstream_addr|$status|$request_method|$uri"


@dataclass
class Cluster:
    url: str
    processes: dict[str, subprocess.Popen[str]]  # by address, 127.0.0.1:port
    access_log: Path

    def owner_address(self, session_id: str) -> str:
        return "127.0.0.1:" + session_id.split(".", 1)[0].removeprefix("a")


def _nginx_conf(root: Path, listen: int, processes: list[Process]) -> Path:
    """deploy/nginx.conf as shipped, with the routing block for these processes, plain http on a loopback port."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text[: text.index(BEGIN)] + nginx_routing(processes) + text[text.index(END) + len(END) + 1 :]
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};").replace(
        "listen 80;", f"listen 127.0.0.1:{free_port()};"
    )
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line and "ssl_certificate" not in line)
    (root / "logs").mkdir()
    main = root / "nginx.conf"
    main.write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/logs/error.log;\nworker_processes 1;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n  log_format routing '{LOG_FORMAT}';\n  access_log {root}/logs/access.log routing;\n"
        f"  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n{text}\n}}\n"
    )
    return main


@pytest.fixture(scope="module")
def cluster(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; `make test` installs it when run as root)")
    root = tmp_path_factory.mktemp("cluster")
    os.chmod(root, 0o755)  # noqa: S103 - nginx's workers (nobody) reach its temp directories below it
    listen = free_port()
    ports = [free_port() for _ in range(3)]
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": database_url,
        "SECONDLAYER_DATA_DIR": str(root / "data"),
        "PUBLIC_URL": f"http://127.0.0.1:{listen}",
        "COOKIE_SECRET": "test-cookie-secret-" + "x" * 32,
        "BCRYPT_ROUNDS": "4",
        "CLIENT_METADATA_ALLOW_LOOPBACK": "true",
        "LOG_LEVEL": "warning",
        "NODE_NAME": "a",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    processes = {}
    for port in ports:
        processes[f"127.0.0.1:{port}"] = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    conf = _nginx_conf(root, listen, [Process(f"a{port}", f"127.0.0.1:{port}") for port in ports])
    try:
        for address, proc in processes.items():
            wait_ready(f"http://{address}", proc, timeout=60, path="/readyz")
        subprocess.run([NGINX, "-p", str(root), "-c", str(conf)], check=True, timeout=30)
        wait_ready(f"http://127.0.0.1:{listen}", timeout=20)
        yield Cluster(f"http://127.0.0.1:{listen}", processes, root / "logs" / "access.log")
    finally:
        subprocess.run([NGINX, "-p", str(root), "-c", str(conf), "-s", "stop"], capture_output=True, timeout=30)
        for proc in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _oauth_token(url: str, email: str) -> tuple[str, MemoryStorage]:
    """The SDK's whole OAuth flow through the proxy: discovery, registration, sign-in, code exchange, a call."""
    storage = MemoryStorage()
    browser = ConsentBrowser(email)
    provider = OAuthClientProvider(
        server_url=f"{url}/mcp",
        client_metadata=OAuthClientMetadata.model_validate(
            {"client_name": "cluster", "redirect_uris": [SDK_CALLBACK], "grant_types": ["authorization_code"]}
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    async with CheckedAsyncClient(auth=provider) as http_client:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http_client), mode="legacy") as client:
            assert (await client.list_tools()).tools
    assert storage.tokens is not None
    return storage.tokens.access_token, storage


async def _session_work(client: Client) -> None:
    await client.list_tools()
    result = await client.call_tool("search_court_cases", {"query": "позов"})
    assert not result.is_error


def _routed(cluster: Cluster) -> list[tuple[str, str, str]]:
    """(session id, the upstreams nginx tried, status) for each request that carried a session."""
    rows = []
    for line in cluster.access_log.read_text().splitlines():
        header, arg, upstream, status, _method, _uri = line.split("|")
        session = header if header != "-" else arg
        if session and session != "-":
            rows.append((session, upstream, status))
    return rows


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def _tool_calls_counted(text: str) -> float:
    pattern = re.compile(r"^mcp_server_operation_duration_seconds_count\{([^}]*)\} (\S+)$", re.M)
    return sum(float(v) for labels, v in pattern.findall(text) if 'mcp_method_name="tools/call"' in labels)


def test_sessions_reach_their_owner_a_dead_process_ends_only_its_own_and_revocation_is_shared(
    cluster: Cluster, make_user: Any, demo_corpus: Any
) -> None:
    user = make_user()
    token, storage = asyncio.run(_oauth_token(cluster.url, user["email"]))

    async def sessions() -> dict[str, Any]:
        async with AsyncExitStack() as stack:
            streamable = [await stack.enter_async_context(sdk_client(f"{cluster.url}/mcp", token)) for _ in range(6)]
            sse = [await stack.enter_async_context(sdk_sse_client(f"{cluster.url}/sse", token)) for _ in range(3)]
            for client in (*streamable, *sse):
                await _session_work(client)
            calls = len(streamable) + len(sse)
            # Each session's every message went to the process its id names (the first upstream nginx tried).
            routed = _routed(cluster)
            owners = {cluster.owner_address(session) for session, _, _ in routed}
            assert owners == set(cluster.processes), owners  # sessions landed on all three processes
            for session, upstream, status in routed:
                assert upstream == cluster.owner_address(session), (session, upstream, status)
                assert status in ("200", "202", "204"), (session, status)
            # Kill one process without warning.
            victim = cluster.owner_address(routed[0][0])
            cluster.processes[victim].kill()
            cluster.processes[victim].wait(10)
            before = len(cluster.access_log.read_text().splitlines())
            survivors, lost = 0, 0
            for client in (*streamable, *sse):
                try:
                    await asyncio.wait_for(_session_work(client), 15)
                    survivors += 1
                    calls += 1
                except Exception:  # noqa: BLE001 - the victim's sessions end; which error the SDK raises is its own
                    lost += 1
            assert survivors and lost
            after = [line.split("|") for line in cluster.access_log.read_text().splitlines()[before:]]
            victim_rows = [
                r for r in after if (r[0] if r[0] != "-" else r[1]).split(".")[0] == "a" + victim.split(":")[1]
            ]
            # The victim's streams open at the kill are logged as they close, maybe only now: a GET that only the
            # victim served. Every request sent after the kill found it gone, and a live process answered 404
            # (the session is unknown there).
            closed = [r for r in victim_rows if r[4] == "GET" and r[2] == victim and r[3] == "200"]
            retried = [r for r in victim_rows if r not in closed]
            assert retried and all(r[3] == "404" and victim in r[2] and r[2] != victim for r in retried), victim_rows
            # Its clients recover by initialising again, on a live process.
            async with sdk_client(f"{cluster.url}/mcp", token) as again:
                await _session_work(again)
                calls += 1
            async with sdk_sse_client(f"{cluster.url}/sse", token) as again_sse:
                await _session_work(again_sse)
                calls += 1
            return {"victim": victim, "calls": calls, "lost": lost}

    try:
        out = asyncio.run(sessions())
    except BaseExceptionGroup as group:  # the SDK's task groups nest the cause deep; show it
        raise _first_leaf(group) from group
    live = [address for address in cluster.processes if address != out["victim"]]

    # Metrics: any one process answers for the host, the killed one's counts included; never through the proxy.
    # Not CheckedClient: this answer is nginx's own (deploy/nginx.conf keeps /metrics off the public side).
    outside = httpx2.get(f"{cluster.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert outside.status_code == 404 and "mcp_server" not in outside.text
    with CheckedClient(f"http://{live[0]}") as direct:
        assert direct.get("/metrics").status_code == 401
        text = direct.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    # Every tools/call that reached a process is counted once, the killed process's included (its file stays).
    assert _tool_calls_counted(text) == out["calls"], (_tool_calls_counted(text), out)
    assert 'gen_ai_tool_name="search_court_cases"' in text
    assert "secondlayer_oauth_tokens_total" in text and 'http_route="/oauth/token"' in text

    # Revocation through one process is refused by every process within a second.
    body = {"query": "позов"}
    bearer = {"Authorization": f"Bearer {token}"}
    for address in live:  # each process has the token in its cache
        with CheckedClient(f"http://{address}") as direct:
            assert direct.post("/api/tools/search_court_cases", json=body, headers=bearer).status_code == 200
    info = storage.client_info
    assert info is not None
    with CheckedClient(f"http://{live[0]}") as direct:
        answer = direct.post("/oauth/revoke", data={"token": token}, auth=(info.client_id, info.client_secret or ""))
        assert answer.status_code == 200, answer.text
    revoked_at = time.monotonic()
    refused: dict[str, float] = {}
    while len(refused) < len(live) and time.monotonic() - revoked_at < 1.0:
        for address in live:
            if address in refused:
                continue
            with CheckedClient(f"http://{address}") as direct:
                if direct.post("/api/tools/search_court_cases", json=body, headers=bearer).status_code == 401:
                    refused[address] = time.monotonic() - revoked_at
    assert set(refused) == set(live), refused
