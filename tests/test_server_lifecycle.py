"""`serve` as an operator runs it: schema check, readiness across a database outage, structured logs,
and a clean SIGTERM shutdown that lets in-flight requests finish."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import psycopg2
import pytest

from app.db import Database
from app.db.schema import downgrade, head_revision, upgrade
from app.server import Runtime
from app.services import Services
from tests.helpers_http import CheckedClient, trickle_is_cut_off
from tests.helpers_server import ROOT, ServerThread, free_port, server_settings, wait_ready


def _start_serve(database_url: str, data_dir: Path, port: int, public_url: str = "") -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECONDLAYER_DATA_DIR": str(data_dir),
        "PUBLIC_URL": public_url or f"http://127.0.0.1:{port}",
        "COOKIE_SECRET": "s" * 40,
        "LOG_LEVEL": "info",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_refuses_an_old_schema_and_names_the_fix(make_database, tmp_path):
    url = make_database("sl_old")
    upgrade(url)
    script_head = head_revision()
    downgrade(url, "-1")  # one revision behind head (or empty, when there is only one)
    proc = _start_serve(url, tmp_path, free_port())
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "secondlayer migrate" in err
    assert script_head in err or "no schema yet" in err
    assert len(err.strip().splitlines()) == 1


def test_sigterm_finishes_in_flight_requests_then_exits(make_database, tmp_path):
    url = make_database("sl_sigterm")
    upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    in_flight, late = CheckedClient(base), CheckedClient(base, timeout=2)
    proc = _start_serve(url, tmp_path, port)
    try:
        wait_ready(base, proc)
        # Hold a lock so /readyz blocks inside the database: a real request in flight when SIGTERM arrives.
        locker = psycopg2.connect(url)
        cur = locker.cursor()
        cur.execute("BEGIN; LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
        result: dict[str, httpx2.Response] = {}
        slow = threading.Thread(target=lambda: result.setdefault("r", in_flight.get("/readyz")))
        slow.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx2.TransportError):
            late.get("/healthz")  # no longer accepting
        assert proc.poll() is None, "exited before the in-flight request finished"
        locker.rollback()
        locker.close()
        slow.join(30)
        assert result["r"].status_code == 200
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        in_flight.close()
        late.close()
    out = proc.stdout.read() if proc.stdout else ""
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(e["msg"] == "stopped" for e in lines)
    access = [e for e in lines if e["logger"] == "secondlayer.access"]
    assert access and all(e["request_id"] != "-" and "?" not in e["path"] for e in access)


def test_public_url_follows_the_port_and_every_stdout_line_is_json(make_database, tmp_path):
    # PORT without PUBLIC_URL: the server advertises the address it listens on, not the default :8000.
    url = make_database("sl_port")
    upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECONDLAYER_DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "COOKIE_SECRET": "s" * 40,
        "LOG_LEVEL": "info",
    }
    env.pop("PUBLIC_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(base, proc)
        with CheckedClient(base) as client:
            assert client.get("/.well-known/oauth-authorization-server").json()["issuer"] == base
            assert client.get("/.well-known/oauth-protected-resource/mcp").json()["resource"] == f"{base}/mcp"
            home = client.get("/", headers={"Accept": "text/html"}).text.replace("<wbr>", "")
            assert f"<code>{base}/mcp</code>" in home
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # The whole of stdout, as supervisord writes it to the log file: one JSON object a line, nothing else.
    entries = [json.loads(line) for line in out.splitlines()]
    assert entries[-1]["msg"] == "stopped"
    serving = next(e for e in entries if e["msg"].startswith("serving on"))
    assert f"public URL {base} (PUBLIC_URL unset: follows the address)" in serving["msg"]
    assert "; database postgresql://postgres:***@/" in serving["msg"]  # the password never


def test_a_loopback_public_url_on_another_port_is_named_at_start(make_database, tmp_path):
    url = make_database("sl_mismatch")
    upgrade(url)
    port = free_port()
    proc = _start_serve(url, tmp_path, port, public_url="http://127.0.0.1:8000")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    warnings = [e for e in map(json.loads, out.splitlines()) if e["level"] == "warning"]
    assert [e["msg"] for e in warnings] == [
        f"PUBLIC_URL http://127.0.0.1:8000 names port 8000 but the server listens on port {port}: clients given "
        "PUBLIC_URL will not reach it unless a proxy forwards that port here"
    ]


def test_logs_carry_request_ids_and_never_query_strings(make_database, tmp_path):
    url = make_database("sl_logs")
    upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start_serve(url, tmp_path, port)
    try:
        wait_ready(base, proc)
        secret = "mcp_token_" + "A" * 43
        with CheckedClient(base) as client:
            client.get(
                f"/healthz?access_token={secret}",
                headers={"X-Request-Id": "trace-12345678", "X-Forwarded-For": "203.0.113.9"},
            )
            client.get("/api/tools", headers={"Authorization": f"Bearer {secret}"})
            marker = "querymarker7f3a"
            for path in (
                f"/messages?session_id={marker}",
                f"/oauth/authorize?client_id={marker}&state={marker}",
                f"/mcp?x={marker}",
                f"/admin/users?q={marker}",
                f"/nowhere?{marker}",
            ):
                client.get(path, headers={"Authorization": f"Bearer {secret}", "Accept": "text/html"})
                client.post(path, content=b"{", headers={"Content-Type": "application/json"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    assert secret not in out + err
    assert marker not in out + err, "a query string reached the logs"
    entries = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    # Refusals Tornado raises (here: a form POST without its XSRF token) are still logged, with the path only.
    assert any(e["logger"] == "tornado.general" and e["msg"].startswith("403 POST /admin/users (") for e in entries)
    hit = [e for e in entries if e.get("path") == "/healthz" and e["request_id"] == "trace-12345678"]
    assert hit and hit[0]["status"] == 200 and "duration_ms" in hit[0]
    assert hit[0]["ip"] == "203.0.113.9"  # xheaders: the TLS proxy's X-Forwarded-For is the client address


def test_readyz_follows_the_database_down_and_back(pg_server_url, pg_tmp_dir, tmp_path):
    """A separate embedded PostgreSQL that the test stops and starts under a running server."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import pg_ctl  # type: ignore[attr-defined]  # pgserver makes its command wrappers at import
        from pgserver.postgres_server import get_server
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs the embedded PostgreSQL to stop and start it")
    pg = get_server(pg_tmp_dir / "pg", cleanup_mode="delete")
    url = pg.get_uri("postgres")
    upgrade(url)
    port = free_port()
    thread = ServerThread(server_settings(url, tmp_path, port), url).start()
    pgdata = pg_tmp_dir / "pg"
    client = CheckedClient(thread.url, timeout=15)
    try:
        assert client.get("/readyz").status_code == 200
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=pg.system_user)
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert "database unreachable" in down.json()["reason"]
        assert client.get("/healthz").status_code == 200  # still serving
        pg_ctl(
            ["-w", "-o", '-h ""', "-o", f"-k {pgdata}", "-l", str(pgdata / "log"), "start"],
            pgdata=pgdata,
            user=pg.system_user,
        )
        deadline = time.monotonic() + 15
        status = 0
        while time.monotonic() < deadline:
            status = client.get("/readyz").status_code
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200
    finally:
        client.close()
        thread.stop()
        pg.cleanup()


def test_slow_bodies_are_cut_off_on_every_endpoint(database_url, tmp_path, monkeypatch):
    """Not only the API: the OAuth endpoints and forms also stop waiting for a body that trickles in."""
    from app.handlers import bodies

    monkeypatch.setattr(bodies, "BODY_TIMEOUT", 1.0)
    thread = ServerThread(server_settings(database_url, tmp_path, free_port()), database_url).start()
    try:
        body = b"grant_type=authorization_code&code=x&code_verifier=y"
        head = (
            f"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded"
            f"\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        assert trickle_is_cut_off(thread.runtime.port, head, body), "the server kept waiting for the body"
        with CheckedClient(thread.url) as client:
            ok = client.post(
                "/oauth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        assert ok.status_code in (400, 401)  # an ordinary pace gets its (OAuth) answer
    finally:
        thread.stop()


def test_a_service_failing_to_start_stops_those_started_before_it(database_url, tmp_path):
    """The cleanup schedule starts last; one that cannot be parsed (a CLEANUP_CRON that bypassed load_settings)
    fails it, and the revocation listener and MCP session store already started are stopped: nothing keeps running."""
    settings = server_settings(database_url, tmp_path, free_port()).replace(cleanup_cron="every night")

    async def start_then_look() -> list[asyncio.Task[object]]:
        db = Database(database_url, maxsize=2)
        services = Services(settings, db)
        try:
            with pytest.raises(ValueError, match="fields"):
                await services.start()
            assert not services.scheduler.running
            await services.stop()  # what Runtime.stop does next: nothing is left to stop
            me = asyncio.current_task()
            for _ in range(50):  # a cancelled task ends on its next turn of the loop
                left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
                if not left:
                    break
                await asyncio.sleep(0.02)
            return left
        finally:
            await db.close()

    assert asyncio.run(start_then_look()) == []


def test_a_request_arriving_as_the_server_stops_is_answered(database_url, tmp_path):
    # A proxy's request that reached the server in the instant it stopped (its connection completed by the kernel
    # but not yet accepted) is served, not reset: a reset POST comes back from nginx as a 502 it cannot retry.
    # The loop is held while the request goes out, then runs Runtime.stop before it polls again, as `serve` does
    # after SIGTERM. A raw socket rather than CheckedClient: the request must be on the wire while the loop is held.
    port = free_port()
    runtime = Runtime(server_settings(database_url, tmp_path, port), database_url)
    loop = asyncio.new_event_loop()
    started, held = threading.Event(), threading.Event()
    stopping: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runtime.start("127.0.0.1", port))
        started.set()
        loop.run_forever()
        loop.run_until_complete(stopping[0])
        loop.close()

    def hold_then_stop() -> None:
        held.set()
        time.sleep(1)
        stopping.append(loop.create_task(runtime.stop()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)
    loop.call_soon_threadsafe(hold_then_stop)
    assert held.wait(5)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert answer.endswith(b'{"status": "ok"}')
