"""`make bench-http`: our server against the official SDK's own server doing the same work, side by side.

    make bench-http     # or: .venv/bin/python scripts/bench_http.py [--duration S] [--rounds R] [--connections C]

In one run it starts, each in its own process on a free loopback port: our server (`python -m app serve`, on
DATABASE_URL when set, else an embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench-http with the demo corpus,
an API key of a fresh user), the official SDK's lowlevel `Server` on its own Streamable HTTP app under uvicorn
serving our tool definitions and the same `server_info` query through an aiopg pool
(`scripts/bench_peers.py sdk`), and a bare Tornado handler parsing the same JSON-RPC body
(`scripts/bench_peers.py floor`: the ceiling of one Python process). One load generator, Debian's `wrk`
(`-t1 -cC`), drives every line in turn for S seconds, and the lines are interleaved over R rounds so that the
machine's drift hits all of them alike; each line's figures are the median round. Every request is checked
once for the right answer before it is timed, and a line that saw a non-2xx answer says so. It prints req/s,
p50 and p99 per line, each line's ratio against its SDK line (equal work) and against the floor, and the CPU
the load generator itself used on the floor line (if it used a whole core, the floor is its, not the server's).

Then two more figures from the same server:
- the event loop is never blocked: p50/p99/max of GET /healthz, probed every 5 ms from a process of its own,
  while 50 password sign-ins (bcrypt) run at once, and while one client, then four, run broad searches back to
  back;
- long-lived connections: N idle event streams (half legacy `GET /sse`, half Streamable HTTP `GET /mcp` of
  initialized sessions), the server's resident memory per stream, and tools/call p50/p99 while they are open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCEPT_BOTH = "application/json, text/event-stream"
MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
PASSWORD = "bench passphrase " + secrets.token_hex(4)
SEARCH_ARGS = {"query": "позов"}  # a generic query: whatever corpus is loaded answers it
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench_http", "version": "1"},
}


# --- one measured request ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One kind of request to one server: what wrk sends, over and over."""

    url: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    def lua(self) -> str:
        def quote(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

        # Each request gets its own JSON-RPC id (a session refuses an id already in flight): the body is the
        # JSON text split around the id's value.
        if "jsonrpc" in self.body:
            head, _, tail = json.dumps({**self.body, "id": 1}, ensure_ascii=True).partition('"id": 1')
        else:
            head, tail = json.dumps(self.body, ensure_ascii=True), ""
        lines = [
            # Ids must not repeat across runs either: a 2025-11-25 session keeps an abandoned request's id in
            # flight for a while (the client may resume its stream), and a repeated id is refused with 409.
            "local counter = os.time() % 100000 * 100000",
            f"local path, head, tail = {quote(self.path)}, {quote(head)}, {quote(tail)}",
            "local headers = {}",
        ]
        lines += [f"headers[{quote(k)}] = {quote(v)}" for k, v in self.headers.items()]
        lines.append(
            "request = function()\n"
            "  counter = counter + 1\n"
            '  local body = tail == "" and head or (head .. \'"id": \' .. counter .. tail)\n'
            '  return wrk.format("POST", path, headers, body)\n'
            "end"
        )
        lines.append(
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration,\n'
            "    latency:percentile(50), latency:percentile(99), summary.errors.status,\n"
            "    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\n"
            "end"
        )
        return "\n".join(lines) + "\n"

    def check(self) -> None:
        """One request outside the clock: it must succeed with the answer the line claims to measure."""
        r = httpx2.post(self.url + self.path, content=json.dumps(self.body).encode(), headers=self.headers, timeout=30)
        if r.status_code != 200:
            raise SystemExit(f"{self.url}{self.path}: HTTP {r.status_code}: {r.text[:300]}")
        text = r.text
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            found = [
                json.loads(line[5:])
                for line in text.replace("\r\n", "\n").split("\n")
                if line.startswith("data:") and line[5:].strip()
            ]
            answer = found[-1]
        else:
            answer = r.json()
        if isinstance(answer, dict) and ("error" in answer or (answer.get("result") or {}).get("isError")):
            raise SystemExit(f"{self.url}{self.path}: an error answer: {text[:300]}")


@dataclass
class Line:
    name: str
    target: Target
    reference: str | None = None  # the name of the SDK line doing the same work
    rounds: list[tuple[float, float, float, int]] = field(default_factory=list)  # req/s, p50 ms, p99 ms, bad

    def median(self) -> tuple[float, float, float, int]:
        ordered = sorted(self.rounds)
        return ordered[len(ordered) // 2]


def run_wrk(target: Target, script: Path, duration: float, connections: int) -> tuple[float, float, float, int, float]:
    """(req/s, p50 ms, p99 ms, failed requests, CPU seconds wrk itself used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures = [line for line in done.stdout.splitlines() if line.startswith("WRK ")]
    if done.returncode != 0 or not figures:
        raise SystemExit(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    requests, micros, p50, p99, bad_status, bad_socket = (int(x) for x in figures[0].split()[1:])
    return requests / (micros / 1e6), p50 / 1000, p99 / 1000, bad_status + bad_socket, cpu


def jsonrpc(method: str, params: dict[str, Any], modern: bool) -> dict[str, Any]:
    if modern:
        params = {**params, "_meta": ENVELOPE}
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def mcp_headers(modern: bool, method: str, name: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT_BOTH}
    if modern:
        headers.update({"MCP-Protocol-Version": MODERN, "Mcp-Method": method})
        if name is not None:
            headers["Mcp-Name"] = name
    else:
        headers["MCP-Protocol-Version"] = HANDSHAKE
    return headers


def open_session(url: str, key: str) -> str:
    """An initialized 2025-11-25 Streamable HTTP session of ours; its id."""
    auth = {"Authorization": f"Bearer {key}", "Accept": ACCEPT_BOTH, "Content-Type": "application/json"}
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE,
            "capabilities": {},
            "clientInfo": {"name": "bench_http", "version": "1"},
        },
    }
    r = httpx2.post(url + "/mcp", json=init, headers=auth, timeout=30)
    r.raise_for_status()
    session_id = r.headers["Mcp-Session-Id"]
    r = httpx2.post(
        url + "/mcp",
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers={**auth, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": HANDSHAKE},
        timeout=30,
    )
    if r.status_code != 202:
        raise SystemExit(f"initialized: HTTP {r.status_code}")
    return session_id


FLOOR_DB = "floor: bare Tornado + the same aiopg query, no auth/MCP"


def lines_for(ours: str, key: str, sdk: str, floor: str) -> list[Line]:
    auth = {"Authorization": f"Bearer {key}"}
    session = {**auth, "Mcp-Session-Id": open_session(ours, key)}
    info = ("tools/call", {"name": "server_info", "arguments": {}})
    search = ("tools/call", {"name": "search_court_cases", "arguments": SEARCH_ARGS})
    listing: tuple[str, dict[str, Any]] = ("tools/list", {})

    def mcp(url: str, what: tuple[str, dict[str, Any]], modern: bool, extra: dict[str, str]) -> Target:
        method, params = what
        headers = {**mcp_headers(modern, method, params.get("name")), **extra}
        return Target(url, "/mcp", jsonrpc(method, params, modern), headers)

    rest = {**auth, "Content-Type": "application/json"}
    sdk_list, sdk_call, sdk_call_2025, sdk_search = (
        "SDK tools/list (2026-07-28)",
        "SDK tools/call server_info (2026-07-28)",
        "SDK tools/call server_info (2025-11-25, stateless)",
        "SDK tools/call search_court_cases (2026-07-28)",
    )
    return [
        Line("floor: bare Tornado, parse JSON-RPC, no auth/DB", mcp(floor, listing, True, {})),
        Line(FLOOR_DB, Target(floor, "/mcp-db", jsonrpc(*info, True), {"Content-Type": "application/json"})),
        Line(sdk_list, mcp(sdk, listing, True, {})),
        Line("ours tools/list (2026-07-28), API key", mcp(ours, listing, True, auth), sdk_list),
        Line(sdk_call, mcp(sdk, info, True, {})),
        Line("ours tools/call server_info (2026-07-28), API key", mcp(ours, info, True, auth), sdk_call),
        Line(sdk_call_2025, mcp(sdk, info, False, {})),
        Line("ours tools/call server_info (2025-11-25 session)", mcp(ours, info, False, session), sdk_call_2025),
        Line(
            "ours REST POST /api/tools/server_info, API key", Target(ours, "/api/tools/server_info", {}, rest), sdk_call
        ),
        Line(sdk_search, mcp(sdk, search, True, {})),
        Line("ours tools/call search_court_cases (2026-07-28)", mcp(ours, search, True, auth), sdk_search),
    ]


def side_by_side(lines: list[Line], rounds: int, duration: float, connections: int) -> float:
    """Every line once per round, in turn; returns the CPU share of one core wrk used on the floor line."""
    with tempfile.TemporaryDirectory() as tmp:
        scripts = []
        for number, line in enumerate(lines):
            line.target.check()
            script = Path(tmp) / f"line{number}.lua"
            script.write_text(line.target.lua())
            scripts.append(script)
        for line, script in zip(lines, scripts, strict=True):  # warm every server and connection pool
            run_wrk(line.target, script, 1, connections)
        floor_cpu: list[float] = []
        for number in range(rounds):
            print(f"round {number + 1} of {rounds} ...", file=sys.stderr, flush=True)
            for index, (line, script) in enumerate(zip(lines, scripts, strict=True)):
                rate, p50, p99, bad, cpu = run_wrk(line.target, script, duration, connections)
                line.rounds.append((rate, p50, p99, bad))
                if index == 0:
                    floor_cpu.append(cpu / duration)
    return statistics.median(floor_cpu)


def modern_call(lines: list[Line]) -> Line:
    return next(line for line in lines if line.name.startswith("ours tools/call server_info (2026-07-28)"))


def print_side_by_side(lines: list[Line]) -> None:
    by_name = {line.name: line for line in lines}
    floor = lines[0].median()[0]
    floor_db = by_name[FLOOR_DB].median()[0]
    header = f"{'line':<54} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'vs SDK':>7} {'vs floor':>8} {'vs DB floor':>11}"
    print(header)
    print("-" * len(header))
    for line in lines:
        rate, p50, p99, bad = line.median()
        versus = (
            f"{rate / by_name[line.reference].median()[0]:6.2f}x"
            if line.reference
            else f"{'1':>7}"
            if line.name.startswith("SDK")
            else f"{'':>7}"
        )
        # The same server_info query with nothing around it: what Tornado and aiopg allow for that call.
        db = f"{rate / floor_db:10.2f}x" if "server_info" in line.name or line.name == FLOOR_DB else f"{'':>11}"
        note = f"  ({bad} failed)" if bad else ""
        print(f"{line.name:<54} {rate:7.0f} {p50:7.2f} {p99:7.2f} {versus} {rate / floor:7.2f}x {db}{note}")


# --- where the time goes ---------------------------------------------------------------------------------------


def print_ceiling(lines: list[Line]) -> None:
    """What the DB floor allows: no server running the same query on Tornado and aiopg in one process passes its
    rate, so its ratio to the SDK's line is the most any ratio goal of the same call can reach here."""
    by_name = {line.name: line for line in lines}
    floor_db = by_name[FLOOR_DB].median()[0]
    floor = lines[0].median()[0]
    sdk = by_name["SDK tools/call server_info (2026-07-28)"].median()[0]
    ceiling = floor_db / sdk
    print(
        f"Ceiling: the DB floor (the same query on Tornado and aiopg, nothing else) ran at {floor_db:.0f} req/s, "
        f"{ceiling:.2f}x the SDK's tools/call.\n"
        f"  tools/call >= 2x the SDK would need {200 / ceiling:.0f}% of the DB floor's rate; REST >= 2.5x "
        f"{250 / ceiling:.0f}%; 40% of the floor ({0.4 * floor:.0f} req/s) is {40 * floor / floor_db:.0f}% of it."
    )


# Where a request's CPU goes, by part: each py-spy sample is given to the innermost frame of its stack that belongs
# to one of these (by the frame's file), so a write Tornado makes for our handler is Tornado's and a query's wait on
# the loop is the loop's; JSON encoding and other standard-library helpers count for whoever called them.
PARTS = (
    ("database driver and pool (aiopg, psycopg2)", ("aiopg/", "psycopg2/", "app/db/")),
    ("authentication (cached credential lookup)", ("app/auth/", "app/handlers/bearer.py")),
    ("MCP layer: envelope checks, routing, reply", ("app/mcp/", "mcp/", "mcp_types/", "pydantic")),
    ("tool: argument validation, run, result", ("app/tools/",)),
    ("metrics and access log", ("prometheus_client/", "app/metrics.py", "logging/", "app/logs.py")),
    ("handler layer: headers, request id, body limits", ("app/handlers/", "app/forwarded.py", "bench_peers.py")),
    ("HTTP server (Tornado; uvicorn and Starlette for the SDK)", ("tornado/", "uvicorn/", "starlette/", "h11/")),
    ("event loop and tasks (asyncio, anyio)", ("asyncio/", "selectors.py", "anyio/")),
)
OTHER_PART = "other"


def _part_of(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        where = frame.rsplit("(", 1)[-1]
        for part, markers in PARTS:
            if any(marker in where for marker in markers):
                return part
    return OTHER_PART


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ledger(pid: int, target: Target, seconds: int, connections: int) -> dict[str, float] | None:
    """CPU microseconds per request of the server `pid` under `target`'s load, split by PARTS: the process's CPU
    time over the sampling window (/proc) divided by the requests served in it, shared out as py-spy's samples."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        script, raw = Path(tmp) / "load.lua", Path(tmp) / "profile.txt"
        script.write_text(target.lua())
        load = subprocess.Popen(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds + 2}s", "-s", str(script), target.url],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)
        cpu_before = _cpu_seconds(pid)
        done = subprocess.run(
            [spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "200", "-f", "raw", "-o", str(raw)],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        cpu = _cpu_seconds(pid) - cpu_before
        out, _ = load.communicate(timeout=seconds + 30)
        if done.returncode != 0 or not raw.exists():
            print(f"py-spy failed (it needs ptrace rights): {done.stderr.strip()[:300]}")
            return None
        served = int(next(line for line in out.splitlines() if line.startswith("WRK ")).split()[1])
        requests = served * seconds / (seconds + 2)  # wrk ran a second either side of the sampling window
        samples: dict[str, int] = {}
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            part = _part_of(stack)
            samples[part] = samples.get(part, 0) + int(count)
    total = sum(samples.values()) or 1
    per_request = 1e6 * cpu / max(requests, 1)
    return {part: per_request * count / total for part, count in samples.items()}


def print_ledgers(columns: list[tuple[str, dict[str, float]]]) -> None:
    names = [name for name, _ in columns]
    print("Where one request's CPU goes, by part (microseconds; the process's CPU per request shared out as py-spy's")
    print("samples fell; each server under its own line's load):")
    width = max(len(part) for part, _ in PARTS)
    print(f"  {'part':<{width}} " + " ".join(f"{name:>12}" for name in names))
    for part in [part for part, _ in PARTS] + [OTHER_PART]:
        print(f"  {part:<{width}} " + " ".join(f"{spent.get(part, 0.0):12.0f}" for _, spent in columns))
    print(f"  {'total':<{width}} " + " ".join(f"{sum(spent.values()):12.0f}" for _, spent in columns))


def where_the_time_goes(s: Servers, lines: list[Line], seconds: int, connections: int) -> None:
    by_name = {line.name: line for line in lines}
    rest = next(line for line in lines if line.name.startswith("ours REST"))
    session = next(line for line in lines if "2025-11-25 session" in line.name)
    measured = [
        ("DB floor", s.floor_pid, by_name[FLOOR_DB].target),
        ("SDK call", s.sdk_pid, by_name["SDK tools/call server_info (2026-07-28)"].target),
        ("ours call", s.ours_pid, modern_call(lines).target),
        ("ours REST", s.ours_pid, rest.target),
        ("ours session", s.ours_pid, session.target),
    ]
    columns = []
    for name, pid, target in measured:
        spent = ledger(pid, target, seconds, connections)
        if spent is None:
            return
        columns.append((name, spent))
    print_ledgers(columns)


# --- the event loop is never blocked ------------------------------------------------------------------------


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") in ("hidden", "email", "text", "password"):
            self.fields[a["name"] or ""] = a.get("value") or ""


PROBE_FLAG = "--probe-health"  # the prober's own process: bench_http.py --probe-health URL


def probe_until_stdin_closes(url: str, every: float = 0.005) -> None:
    """GET /healthz every `every` seconds until stdin closes, then print the latencies (ms) as JSON. It runs in a
    process of its own so that its figures are the server's: in the load's own event loop, a probe would also
    wait whenever that loop is busy with the load's answers (reading, decompressing)."""
    import threading

    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    times: list[float] = []
    with httpx2.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz").raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
            time.sleep(every)
    print(json.dumps(times))


class HealthProbe:
    """The prober's process, started now; `stop()` ends it and returns its latencies."""

    async def start(self, url: str) -> HealthProbe:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            PROBE_FLAG,
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(0.5)  # its interpreter and first requests, before the load begins
        return self

    async def stop(self) -> list[float]:
        out, _ = await self._process.communicate(b"")
        times: list[float] = json.loads(out)
        return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def latency_text(times: list[float]) -> str:
    return (
        f"p50 {statistics.median(times):.2f} ms, p99 {percentile(times, 0.99):.2f} ms, "
        f"max {max(times):.2f} ms over {len(times)}"
    )


async def never_blocked(url: str, email: str, key: str, signins: int) -> None:
    redirect_uri = "http://127.0.0.1:9/callback"
    async with httpx2.AsyncClient(base_url=url, timeout=60) as http:
        r = await http.post(
            "/oauth/register",
            json={"client_name": "bench_http", "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"},
        )
        r.raise_for_status()
        params = {
            "response_type": "code",
            "client_id": r.json()["client_id"],
            "redirect_uri": redirect_uri,
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGc_iGvRH4",
            "code_challenge_method": "S256",
            "scope": "mcp",
            "resource": url + "/mcp",
        }
        browsers = [httpx2.AsyncClient(base_url=url, timeout=60) for _ in range(signins)]
        forms = []
        for browser in browsers:
            page = await browser.get("/oauth/authorize", params=params)
            page.raise_for_status()
            parsed = _FormFields()
            parsed.feed(page.text)
            forms.append({**parsed.fields, "email": email, "password": PASSWORD, "decision": "allow"})
        probe = await HealthProbe().start(url)
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(b.post("/oauth/authorize", data=f) for b, f in zip(browsers, forms, strict=True))
        )
        elapsed = time.perf_counter() - started
        during_signins = await probe.stop()
        for browser in browsers:
            await browser.aclose()
        signed_in = sum(1 for a in answers if a.status_code == 302)
        refused = sorted({a.status_code for a in answers if a.status_code != 302})

        body = json.dumps({**SEARCH_ARGS, "limit": 50}).encode()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        async def searcher(deadline: float) -> int:
            count = 0
            async with httpx2.AsyncClient(base_url=url, timeout=60) as client:
                while time.perf_counter() < deadline:
                    (
                        await client.post("/api/tools/search_court_cases", content=body, headers=headers)
                    ).raise_for_status()
                    count += 1
            return count

        # The case is one large search running (back to back here, so one always runs); 4 clients at once
        # are a harder case, shown beside it.
        during_search: dict[int, tuple[list[float], int]] = {}
        for clients in (1, 4):
            probe = await HealthProbe().start(url)
            deadline = time.perf_counter() + 3
            searches = sum(await asyncio.gather(*(searcher(deadline) for _ in range(clients))))
            during_search[clients] = (await probe.stop(), searches)
    print(f"GET /healthz while {signins} sign-ins (bcrypt) run at once: {latency_text(during_signins)}")
    print(
        f"  ({signed_in} of {signins} signed in within {elapsed * 1000:.0f} ms"
        f"{f'; others: HTTP {refused}' if refused else ''})"
    )
    for clients, (times, searches) in during_search.items():
        who = "1 client searches" if clients == 1 else f"{clients} clients search"
        print(f"GET /healthz while {who} (limit 50) back to back for 3 s: {latency_text(times)}")
        print(f"  ({searches} searches)")


# --- long-lived connections ----------------------------------------------------------------------------------


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


class IdleStream:
    """One raw HTTP/1.1 event stream, read to the end in the background (keepalives included)."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self.keepalives = 0

    async def open(self, port: int, request: bytes, first: bytes) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.split(b"\r\n")[0].decode())
        seen = b""
        while first not in seen:
            seen += await asyncio.wait_for(reader.read(4096), 120)
        self.reader_task = asyncio.ensure_future(self._drain(reader))

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(4096):
            self.keepalives += chunk.count(b": keepalive")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.reader_task is not None:
            self.reader_task.cancel()


async def open_many(count: int, opener: Any, parallel: int = 100) -> list[IdleStream]:
    streams: list[IdleStream] = []
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with gate:
            streams.append(await opener())

    await asyncio.gather(*(one() for _ in range(count)))
    return streams


async def idle_streams(url: str, pid: int, keys: tuple[str, str], count: int, hold: float, call: Target) -> None:
    port = int(url.rsplit(":", 1)[1])
    host = f"Host: 127.0.0.1:{port}\r\n"

    async def legacy() -> IdleStream:
        stream = IdleStream()
        request = f"GET /sse HTTP/1.1\r\n{host}Authorization: Bearer {keys[0]}\r\nAccept: text/event-stream\r\n\r\n"
        await stream.open(port, request.encode(), b"event: endpoint")
        return stream

    http = httpx2.AsyncClient(base_url=url, timeout=60, limits=httpx2.Limits(max_connections=100))

    async def streamable() -> IdleStream:
        auth = {"Authorization": f"Bearer {keys[1]}", "Accept": ACCEPT_BOTH}
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "b", "version": "1"}},
        }
        r = await http.post("/mcp", json=init, headers=auth)
        r.raise_for_status()
        sid = r.headers["Mcp-Session-Id"]
        headers = {**auth, "Mcp-Session-Id": sid, "MCP-Protocol-Version": HANDSHAKE}
        r = await http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        if r.status_code != 202:
            raise RuntimeError(f"initialized: HTTP {r.status_code}")
        stream = IdleStream()
        request = (
            f"GET /mcp HTTP/1.1\r\n{host}Authorization: Bearer {keys[1]}\r\nAccept: text/event-stream\r\n"
            f"Mcp-Session-Id: {sid}\r\nMCP-Protocol-Version: {HANDSHAKE}\r\n\r\n"
        )
        await stream.open(port, request.encode(), b"retry:")
        return stream

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "call.lua"
        script.write_text(call.lua())
        call.check()
        # The reference, same server and run: the same load before any stream is open.
        alone = await asyncio.to_thread(run_wrk, call, script, hold, 16)
        before = resident_kib(pid)
        started = time.perf_counter()
        streams = await open_many(count // 2, legacy) + await open_many(count - count // 2, streamable)
        opened = time.perf_counter() - started
        await http.aclose()
        after = resident_kib(pid)
        rate, p50, p99, bad, _ = await asyncio.to_thread(run_wrk, call, script, hold, 16)
    await asyncio.sleep(max(0.0, 16 - hold))  # at least one keepalive round on every stream
    alive = sum(1 for s in streams if s.reader_task is not None and not s.reader_task.done())
    keepalives = sum(s.keepalives for s in streams)
    held = resident_kib(pid)
    for stream in streams:
        stream.close()
    print(
        f"{count} idle event streams ({count // 2} GET /sse, {count - count // 2} GET /mcp) opened in {opened:.1f} s; "
        f"{alive} still open after {max(hold, 16):.0f} s, {keepalives} keepalives received"
    )
    print(
        f"  server resident memory {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with them open "
        f"({held / 1024:.1f} MiB after the keepalives): {(held - before) / count:.1f} KiB per stream"
    )
    print(
        f"  meanwhile, tools/call server_info (2026-07-28), 16 connections: {rate:.0f}/s, p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms{f', {bad} failed' if bad else ''}"
    )
    print(
        f"  the same before they opened: {alone[0]:.0f}/s, p50 {alone[1]:.2f} ms, p99 {alone[2]:.2f} ms"
        f"{f', {alone[3]} failed' if alone[3] else ''} (p99 {p99 / alone[2]:.1f}x with the streams open)"
    )


# --- setting up: the three servers, a user and API keys -----------------------------------------------------


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
def process(argv: list[str], env: dict[str, str], ready_url: str, ready: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`argv` running until the block ends; `ready(url)` is polled until it is true (60 s at most)."""
    child = subprocess.Popen(argv, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if ready(ready_url):
                    break
            except httpx2.HTTPError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[1:4]} did not become ready (exit status {child.poll()})")
            time.sleep(0.2)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()


@dataclass
class Servers:
    ours: str
    ours_pid: int
    sdk: str
    floor: str
    email: str
    keys: list[str]
    sdk_pid: int = 0
    floor_pid: int = 0


@contextmanager
def servers(database_url: str, max_sessions: int) -> Iterator[Servers]:
    port, sdk_port, floor_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = Path(os.environ.get("SECONDLAYER_DATA_DIR", ROOT / "var")) / "bench-http"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECONDLAYER_DATA_DIR": str(data_dir),
        "PUBLIC_URL": url,
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "MCP_MAX_SESSIONS": str(max_sessions),
        # 50 sign-ins at once from one address to one account: attempts in flight count against these limits.
        "LOGIN_MAX_FAILURES": "100",
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
        "LOGIN_SLOWDOWN_MS": "0",
    }
    run_cli(env, "migrate")
    run_cli(env, "bootstrap")  # the demo corpus, when the corpus is empty
    email = f"bench-{secrets.token_hex(4)}@example.com"
    run_cli(env, "create-user", email, "--password-stdin", stdin=PASSWORD + "\n")
    keys = [
        run_cli(env, "create-api-key", "--user", email, "--name", f"bench_http {n}", "--json")["key"] for n in range(3)
    ]
    serve = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    peers = [sys.executable, str(ROOT / "scripts" / "bench_peers.py")]
    sdk = [*peers, "sdk", "--port", str(sdk_port), "--database-url", database_url]
    floor = [*peers, "floor", "--port", str(floor_port), "--database-url", database_url]

    def answers(target: str) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", int(target.rsplit(":", 1)[1])), timeout=2):
                return True
        except OSError:
            return False

    with (
        process(serve, env, url + "/readyz", lambda u: httpx2.get(u, timeout=2).status_code == 200) as ours,
        process(sdk, env, f"http://127.0.0.1:{sdk_port}", answers) as sdk_process,
        process(floor, env, f"http://127.0.0.1:{floor_port}", answers) as floor_process,
    ):
        yield Servers(
            url,
            ours.pid,
            f"http://127.0.0.1:{sdk_port}",
            f"http://127.0.0.1:{floor_port}",
            email,
            keys,
            sdk_process.pid,
            floor_process.pid,
        )


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    raise SystemExit("wrk is not installed: `make bench-http` installs it as root (apt-get install wrk)")


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu or platform.processor()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main() -> None:
    if sys.argv[1:2] == [PROBE_FLAG]:
        probe_until_stdin_closes(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per line per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is shown (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--signins", type=int, default=50, help="sign-ins at once for the event-loop line")
    parser.add_argument("--streams", type=int, default=10000, help="idle event streams to hold (0 skips the line)")
    parser.add_argument(
        "--streams-only", action="store_true", help="print only the idle streams line (no throughput, no event loop)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="split each server's CPU per request by part with py-spy, this many seconds per line (default 0: no)",
    )
    args = parser.parse_args()
    ensure_wrk()
    if not 1 <= args.rounds <= 15 or not 1 <= args.duration <= 120 or not 1 <= args.connections <= 512:
        parser.error("--rounds 1..15, --duration 1..120, --connections 1..512")
    if not 0 <= args.streams <= 18000:
        parser.error("--streams 0..18000")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with database() as database_url, servers(database_url, max(32, args.streams // 2 + 1)) as s:
        lines = lines_for(s.ours, s.keys[0], s.sdk, s.floor)
        if not args.streams_only:
            wrk_cpu = side_by_side(lines, args.rounds, args.duration, args.connections)
            print(
                f"\nSecondLayer against the official SDK's server, {stamp}: {machine()}\n"
                f"wrk -t1 -c{args.connections}, {args.duration:g} s per line, {args.rounds} interleaved rounds "
                f"(median round shown); wrk used {wrk_cpu * 100:.0f}% of one core on the floor line\n"
            )
            print_side_by_side(lines)
            print()
            print_ceiling(lines)
            print()
            if args.profile:
                where_the_time_goes(s, lines, args.profile, args.connections)
                print()
            asyncio.run(never_blocked(s.ours, s.email, s.keys[0], args.signins))
        else:
            print(f"\nSecondLayer, idle streams only, {stamp}: {machine()}")
        if args.streams:
            print()
            call = modern_call(lines).target
            asyncio.run(idle_streams(s.ours, s.ours_pid, (s.keys[1], s.keys[2]), args.streams, 10, call))


if __name__ == "__main__":
    main()
