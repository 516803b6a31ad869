"""Throughput of 1 and 2 server processes behind nginx (deploy/nginx.conf, its routing block for each), for stateless
calls: REST tool calls and 2026-07-28 MCP tool calls, driven by wrk. The reference, measured in the same run, is one
process behind the same nginx; the figure to read is the ratio. Also what the metrics cost per request.

    make bench-scale    # or: .venv/bin/python scripts/bench_scale.py [--seconds 10] [--connections 32]

Starts two `secondlayer serve --process-num K` processes (PROCESSES=2) on an embedded PostgreSQL under
$SECONDLAYER_DATA_DIR/bench-http (or DATABASE_URL), migrated, with the demo corpus, a user and an API key, and two
nginx instances on free loopback ports: one routing to process 0 only, one to both. Needs nginx and wrk (Debian).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_http import MODERN, PASSWORD, database, run_cli  # noqa: E402 - the same setup as bench_http
from bench_rada_laws import decision_text  # noqa: E402 - the same 20-page decision as bench_rada_laws

from app.deploy import BEGIN, END, Process, nginx_routing  # noqa: E402

SEARCH = {"query": "позов"}


def adjacent_ports() -> int:
    """A free port P with P+1 free as well (process K listens on PORT+K)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise SystemExit("no two adjacent free ports")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx2.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not become ready")
        time.sleep(0.2)


@contextmanager
def processes(env: dict[str, str], count: int) -> Iterator[list[int]]:
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--process-num", str(k)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        for k in range(count)
    ]
    try:
        for k, proc in enumerate(started):
            wait_ready(f"http://127.0.0.1:{int(env['PORT']) + k}", proc)
        yield [proc.pid for proc in started]
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def nginx(nginx_bin: str, routed: list[Process]) -> Iterator[tuple[str, int]]:
    """deploy/nginx.conf with the routing block for `routed`, on plain http on a free loopback port."""
    root = Path(tempfile.mkdtemp(prefix="bench-scale-nginx-"))
    os.chmod(root, 0o755)  # noqa: S103 - nginx's workers reach their temp directories below it
    listen = free_port()
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text[: text.index(BEGIN)] + nginx_routing(routed) + text[text.index(END) + len(END) + 1 :]
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line and "ssl_certificate" not in line)
    conf = root / "nginx.conf"
    (root / "logs").mkdir()
    conf.write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/logs/error.log;\nworker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n"
        f"{text}\n}}\n"
    )
    subprocess.run([nginx_bin, "-p", str(root), "-c", str(conf)], check=True, timeout=30)
    try:
        url = f"http://127.0.0.1:{listen}"
        wait_ready(url)
        yield url, int((root / "nginx.pid").read_text())
    finally:
        subprocess.run([nginx_bin, "-p", str(root), "-c", str(conf), "-s", "stop"], capture_output=True, timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def lua_string(text: str) -> str:
    """A Lua string literal of `text` (UTF-8 bytes kept as they are; Lua has no \\u escapes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def wrk_script(path: str, headers: dict[str, str], body: str) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body)}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    lines.append(f"wrk.path = {lua_string(path)}")
    return "\n".join(lines) + "\n"


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, str, int]:
    """Requests per second, wrk's latency line (avg, stdev, max) and the count of non-2xx answers."""
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", done.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    errors = re.search(r"Socket errors:.*", done.stdout)
    if rate is None or latency is None or done.stderr.strip():
        # A script wrk cannot load is reported on stderr while it goes on sending GET / (measuring nothing).
        raise SystemExit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    failed = int(bad.group(1)) if bad else 0
    if errors:
        print(f"    (wrk: {errors.group(0)})")
    return float(rate.group(1)), f"avg {latency.group(1)}, max {latency.group(3)}", failed


def answer_summary(url: str, headers: dict[str, str], body: str) -> str:
    """One request of a load, checked: the run stops unless it is a successful answer (not a tool or RPC error)."""
    reply = httpx2.post(url, headers=headers, content=body.encode(), timeout=30)
    data = reply.json() if reply.status_code == 200 else None
    result = data.get("result", data) if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(result, dict) or "error" in data or result.get("isError"):
        raise SystemExit(f"{url} did not answer successfully ({reply.status_code}): {reply.text[:300]}")
    if "structuredContent" in result:
        result = result["structuredContent"]
    return f"HTTP 200, {len(reply.content):,} bytes, top-level fields {', '.join(sorted(result)[:6])}"


def connections(database_url: str) -> int:
    """Connections to the database now (every process's pool and its LISTEN connection)."""
    import psycopg2

    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = current_database()")
        row = cur.fetchone()
    conn.close()
    return int(row[0]) if row else 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used) of a process and of its children that have exited, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by these processes and all their descendants (the living ones, and through their
    parents' counts those that have exited, such as PostgreSQL backends of closed connections)."""
    stats = {int(p.name): _stat(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    total, todo, seen = 0.0, list(roots), set()
    while todo:
        pid = todo.pop()
        stat = stats.get(pid)
        if pid in seen or stat is None:
            continue
        seen.add(pid)
        total += stat[1]
        todo += [child for child, st in stats.items() if st is not None and st[0] == pid]
    return total


def metrics_cost(iterations: int) -> float:
    """Microseconds the per-request metrics take (one HTTP observation and one MCP observation), in multiprocess mode
    on a temporary directory, as `serve` runs them."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-scale-metrics-")
    from app import metrics

    started = time.perf_counter()
    for _ in range(iterations):
        metrics.http_request_duration.labels("/mcp", "POST", 200).observe(0.004)
        metrics.mcp_operation_duration.labels("tools/call", "search_court_cases", "").observe(0.003)
    return (time.perf_counter() - started) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=6, help="length of each wrk run (default: %(default)s)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating 1/2-process rounds (default: %(default)s)")
    parser.add_argument("--only", help="run only the loads whose name contains this text")
    args = parser.parse_args()
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx_bin).exists() or shutil.which("wrk") is None:
        raise SystemExit("needs nginx and wrk: apt-get install nginx wrk")
    cost_us = metrics_cost(20000)
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]  # the servers get their own, under their data dir
    port = adjacent_ports()
    with database() as database_url, ExitStack() as stack:
        data_dir = Path(os.environ.get("SECONDLAYER_DATA_DIR", ROOT / "var")) / "bench-http"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECONDLAYER_DATA_DIR": str(data_dir),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "PORT": str(port),
            "PROCESSES": "2",
            "NODE_NAME": "a",
            "LOG_LEVEL": "warning",
        }
        run_cli(env, "migrate")
        run_cli(env, "bootstrap")
        email = f"bench-{secrets.token_hex(4)}@example.com"
        run_cli(env, "create-user", email, "--password-stdin", stdin=PASSWORD + "\n")
        key = run_cli(env, "create-api-key", "--user", email, "--name", "bench_scale", "--json")["key"]
        server_pids = stack.enter_context(processes(env, 2))
        both = [Process(f"a{port + k}", f"127.0.0.1:{port + k}") for k in range(2)]
        one_url, one_nginx = stack.enter_context(nginx(nginx_bin, both[:1]))
        two_url, two_nginx = stack.enter_context(nginx(nginx_bin, both))
        postmaster = data_dir / "postgres" / "postmaster.pid"  # the embedded database's; none with DATABASE_URL
        pg_pids = [int(postmaster.read_text().split()[0])] if postmaster.exists() else []
        parts = {"servers": server_pids, "nginx": [one_nginx, two_nginx], "postgres": pg_pids}
        scripts = Path(tempfile.mkdtemp(prefix="bench-scale-wrk-"))
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench_scale", "version": "1"},
        }
        mcp_headers = {
            **auth,
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "tools/call",
        }

        def mcp_call(name: str, arguments: Mapping[str, object]) -> tuple[str, dict[str, str], str]:
            params = {"name": name, "arguments": arguments, "_meta": meta}
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
            return "/mcp", {**mcp_headers, "Mcp-Name": name}, json.dumps(body, ensure_ascii=False)

        listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}
        loads = [
            (
                "REST POST /api/tools/search_court_cases",
                ("/api/tools/search_court_cases", auth, json.dumps(SEARCH, ensure_ascii=False)),
            ),
            ("MCP 2026-07-28 tools/call search_court_cases", mcp_call("search_court_cases", SEARCH)),
            (
                "MCP 2026-07-28 tools/list (no database work)",
                ("/mcp", {**mcp_headers, "Mcp-Method": "tools/list"}, json.dumps(listing)),
            ),
            (
                "MCP 2026-07-28 tools/call resolve_citations, 20-page decision (the server's own CPU work)",
                mcp_call("resolve_citations", {"text": decision_text()}),
            ),
        ]
        print(
            f"bench_scale: wrk -t2 -c{args.connections} -d{args.seconds}s through nginx (1 worker), "
            f"{os.cpu_count()} cores, demo corpus, search_court_cases {SEARCH}; "
            f"load average {os.getloadavg()[0]:.1f} at the start"
        )
        loads = [load for load in loads if args.only is None or args.only in load[0]]
        per_request_us: list[float] = []
        for number, (name, (path, headers, body)) in enumerate(loads):
            script = f"load{number}.lua"
            (scripts / script).write_text(wrk_script(path, headers, body))
            print(f"  {name}")
            print(f"    one answer: {answer_summary(two_url + path, headers, body)}")
            run_wrk(one_url, scripts / script, 2, args.connections)  # warm both paths up
            run_wrk(two_url, scripts / script, 2, args.connections)
            ratios = []
            cpu = dict.fromkeys([*parts, "wrk"], 0.0)
            requests = 0.0
            # Alternating rounds, so that other work on the machine weighs on both sides alike.
            for round_no in range(1, args.rounds + 1):
                before = {part: tree_cpu(pids) for part, pids in parts.items()}
                wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                one, one_latency, one_bad = run_wrk(one_url, scripts / script, args.seconds, args.connections)
                two, two_latency, two_bad = run_wrk(two_url, scripts / script, args.seconds, args.connections)
                for part, pids in parts.items():
                    cpu[part] += tree_cpu(pids) - before[part]
                wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu["wrk"] += (wrk_after.ru_utime - wrk_before.ru_utime) + (wrk_after.ru_stime - wrk_before.ru_stime)
                requests += (one + two) * args.seconds
                ratios.append(two / one)
                per_request_us.append(1e6 / one)
                print(
                    f"    round {round_no}: 1 process {one:6.0f} req/s ({one_latency}; non-2xx {one_bad}), "
                    f"2 processes {two:6.0f} req/s ({two_latency}; non-2xx {two_bad}), ratio {two / one:.2f}x"
                )
            print(f"    median ratio 2/1: {statistics.median(ratios):.2f}x")
            shares = ", ".join(f"{part} {seconds / requests * 1000:.3f} ms" for part, seconds in cpu.items())
            print(f"    CPU per request (all rounds): {shares}")
            # Every part shares the same cores: one process is held to one core of server work, two processes to
            # the cores left by nginx, PostgreSQL and wrk. From the CPU each part used per request, the best ratio
            # this box allows for this load (an estimate: it assumes the split is the same at 1 and 2 processes).
            total = sum(cpu.values())
            cores = os.cpu_count() or 1
            server = cpu["servers"]
            ceiling = min(2 / server, cores / total) / min(1 / server, cores / total) if server else float("nan")
            print(
                f"    the ratio this CPU split allows on {cores} cores (an estimate): {ceiling:.2f}x; the server work "
                f"is {cpu['servers'] / total * 100:.0f}% of all the CPU per request"
            )
        print(f"  load average {os.getloadavg()[0]:.1f} at the end")
        print(
            f"  database connections open after the runs (2 processes, pools and LISTEN): {connections(database_url)}"
        )
        fastest = min(per_request_us)
        print(
            f"  metrics: {cost_us:.1f} us per request (one HTTP and one MCP observation, multiprocess mode) "
            f"= {cost_us / fastest * 100:.1f}% of the shortest time per request at 1 process ({fastest:.0f} us)"
        )


if __name__ == "__main__":
    main()
