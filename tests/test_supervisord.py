"""The repository's supervisord.conf, as installed into the distribution's supervisord, runs the server with the
env file and stops it gracefully, leaving a log of JSON lines. The whole deployment (service user, wheel, nginx,
restarts under load) is scripts/smoke_deploy.sh, which .ci/run runs as root; here the user= lines are dropped so
that the test runs as whoever runs the suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers_http import CheckedClient
from tests.helpers_server import ROOT, free_port, wait_ready

BIN = Path(sys.executable).parent


def _installed(conf: str, root: Path, port: int, standby_port: int) -> str:
    """supervisord.conf with the README's paths under `root`, this venv's `secondlayer` and free ports."""
    text = (
        conf.replace("/opt/secondlayer/venv/bin/secondlayer", str(BIN / "secondlayer"))
        .replace("/etc/secondlayer", str(root / "etc"))
        .replace("/var/lib/secondlayer", str(root / "data"))
        .replace("/var/log/secondlayer", str(root / "log"))
        .replace("--port 8100", f"--port {standby_port}")
    )
    return "\n".join(line for line in text.splitlines() if not line.startswith("user ="))


def test_supervisord_runs_the_server_from_the_env_file(database_url, tmp_path):
    conf = (ROOT / "supervisord.conf").read_text()
    assert "\nuser = secondlayer\n" in conf and "--env-file /etc/secondlayer/secondlayer.env" in conf
    for name in ("etc", "data", "log", "conf.d"):
        (tmp_path / name).mkdir()
    port, standby_port = _two_free_ports(), free_port()
    (tmp_path / "etc" / "secondlayer.env").write_text(
        f"DATABASE_URL={database_url}\nPORT={port}\nPROCESSES=2\nPUBLIC_URL=http://127.0.0.1:{port}\n"
        f"SECONDLAYER_DATA_DIR={tmp_path / 'data'}\n# a comment\nLOG_LEVEL=info\n"
    )
    (tmp_path / "conf.d" / "secondlayer.conf").write_text(_installed(conf, tmp_path, port, standby_port))
    main = tmp_path / "supervisord.conf"  # the shape of Debian's /etc/supervisor/supervisord.conf
    main.write_text(
        f"[unix_http_server]\nfile={tmp_path / 'supervisor.sock'}\nchmod=0700\n"
        f"[supervisord]\nlogfile={tmp_path / 'log' / 'supervisord.log'}\npidfile={tmp_path / 'supervisord.pid'}\n"
        f"childlogdir={tmp_path / 'log'}\n[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        f"[supervisorctl]\nserverurl=unix://{tmp_path / 'supervisor.sock'}\n"
        f"[include]\nfiles = {tmp_path / 'conf.d'}/*.conf\n"
    )
    ctl = [str(BIN / "supervisorctl"), "-c", str(main)]
    # As at boot: nothing from the test's environment reaches the server, only the env file does.
    subprocess.run(
        [str(BIN / "supervisord"), "-c", str(main)], env={"PATH": os.environ["PATH"]}, check=True, timeout=30
    )
    try:
        for k in (0, 1):  # numprocs = 2 processes, process K on PORT+K
            wait_ready(f"http://127.0.0.1:{port + k}", timeout=40)
            with CheckedClient(f"http://127.0.0.1:{port + k}") as client:
                assert client.get("/readyz").json()["status"] == "ready"
        running = ["secondlayer:secondlayer-0 RUNNING", "secondlayer:secondlayer-1 RUNNING"]
        deadline = time.monotonic() + 15  # RUNNING once it has stayed up for startsecs
        while time.monotonic() < deadline:
            status = subprocess.run([*ctl, "status"], capture_output=True, text=True, timeout=30)
            states = [" ".join(line.split()[:2]) for line in status.stdout.splitlines()]
            if all(line in states for line in running):
                break
            time.sleep(0.3)
        assert all(line in states for line in running), status.stdout
        assert "secondlayer-standby              STOPPED" in status.stdout  # only during a restart
        stopped = subprocess.run([*ctl, "stop", "secondlayer:*"], capture_output=True, text=True, timeout=60)
        assert stopped.stdout.count("stopped") == 2, stopped.stdout
    finally:
        subprocess.run([*ctl, "shutdown"], capture_output=True, timeout=60)
        deadline = time.monotonic() + 20
        while (tmp_path / "supervisord.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    for k in (0, 1):
        log = (tmp_path / "log" / f"secondlayer-{k}.log").read_text().splitlines()
        entries = [json.loads(line) for line in log]
        serving = [e["msg"] for e in entries if e["msg"].startswith("serving on")]
        # (process 1 also warns first that PUBLIC_URL, a loopback URL here, names process 0's port)
        expected = f"serving on http://127.0.0.1:{port + k}; public URL http://127.0.0.1:{port};"
        assert len(serving) == 1 and serving[0].startswith(expected), serving
        assert entries[-1]["msg"] == "stopped"  # our clean shutdown ran, not a SIGKILL
        assert (tmp_path / "log" / f"secondlayer-{k}.err.log").read_text() == ""


def _two_free_ports() -> int:
    """A port P with P+1 free too (process K listens on PORT+K)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports")
