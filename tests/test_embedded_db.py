"""Embedded PostgreSQL: started on demand, reused across restarts, shared by two processes, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from app.db.embedded import HOLDERS_FILE
from tests.helpers_http import CheckedClient
from tests.helpers_server import ROOT, free_port, wait_ready

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="exercises the embedded server")


def _postmasters(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(proc)
    return found


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"SECONDLAYER_DATA_DIR": str(data_dir), "BCRYPT_ROUNDS": "4", "COOKIE_SECRET": "c" * 40})
    env.update(extra)
    return env


def _cli(data_dir: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=_env(data_dir),
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_embedded_database_lifecycle(pg_tmp_dir):
    data_dir = pg_tmp_dir / "var"
    pgdata = data_dir / "postgres"

    first = _cli(data_dir, "migrate", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["from"] is None
    assert not _postmasters(pgdata), "a one-shot command must stop the server it started"

    # pgserver's holders' list, which EmbeddedPostgres repairs, is still the file and format it expects.
    holders = pgdata / HOLDERS_FILE
    assert json.loads(holders.read_text()) == []
    # A process killed without cleanup leaves its pid there; it must not keep the server running for ever.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holders.write_text(json.dumps([gone.pid]))

    again = _cli(data_dir, "migrate", "--json")  # reused across restarts: the schema is still there
    assert json.loads(again.stdout)["from"] == json.loads(again.stdout)["to"]
    assert not _postmasters(pgdata), "a dead holder kept the server running"

    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=_env(data_dir, PUBLIC_URL=f"http://127.0.0.1:{port}"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", serve)
        assert len(_postmasters(pgdata)) >= 1
        # A second process on the same data dir joins the running server and, leaving, does not stop it.
        made = _cli(data_dir, "create-user", "shared@example.com", "--password-stdin", input="long enough 1\n")
        assert made.returncode == 0, made.stderr
        with CheckedClient(f"http://127.0.0.1:{port}") as client:
            assert client.get("/readyz").status_code == 200
        assert _postmasters(pgdata)
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
    deadline = time.monotonic() + 10
    while _postmasters(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _postmasters(pgdata), "serve must stop the embedded server it started"

    # The data survived: the user made while serve ran is there after a fresh start.
    dup = _cli(data_dir, "create-user", "shared@example.com", "--password-stdin", input="long enough 1\n")
    assert dup.returncode == 1 and "already exists" in dup.stderr
