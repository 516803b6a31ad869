"""The repository's supervisord.conf, as installed into the distribution's supervisord, runs the server with the
env file and stops it gracefully, leaving a log of JSON lines. The whole deployment (service user, wheel, nginx,
restarts under load) is scripts/smoke_deploy.sh, which .ci/run runs as root; here the user= lines are dropped so
that the test runs as whoever runs the suite."""

from __future__ import annotations

import json
import os
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
        .replace("--port 8001", f"--port {standby_port}")
    )
    return "\n".join(line for line in text.splitlines() if not line.startswith("user ="))


def test_supervisord_runs_the_server_from_the_env_file(database_url, tmp_path):
    conf = (ROOT / "supervisord.conf").read_text()
    assert "\nuser = secondlayer\n" in conf and "--env-file /etc/secondlayer/secondlayer.env" in conf
    for name in ("etc", "data", "log", "conf.d"):
        (tmp_path / name).mkdir()
    port, standby_port = free_port(), free_port()
    (tmp_path / "etc" / "secondlayer.env").write_text(
        f"DATABASE_URL={database_url}\nPORT={port}\nPUBLIC_URL=http://127.0.0.1:{port}\n"
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
        wait_ready(f"http://127.0.0.1:{port}", timeout=40)
        with CheckedClient(f"http://127.0.0.1:{port}") as client:
            assert client.get("/readyz").json()["status"] == "ready"
        deadline = time.monotonic() + 15  # RUNNING once it has stayed up for startsecs
        while time.monotonic() < deadline:
            status = subprocess.run([*ctl, "status"], capture_output=True, text=True, timeout=30)
            if "secondlayer                      RUNNING" in status.stdout:
                break
            time.sleep(0.3)
        assert "secondlayer                      RUNNING" in status.stdout
        assert "secondlayer-standby              STOPPED" in status.stdout  # only during a restart
        stopped = subprocess.run([*ctl, "stop", "secondlayer"], capture_output=True, text=True, timeout=60)
        assert "stopped" in stopped.stdout
    finally:
        subprocess.run([*ctl, "shutdown"], capture_output=True, timeout=60)
        deadline = time.monotonic() + 20
        while (tmp_path / "supervisord.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    entries = [json.loads(line) for line in (tmp_path / "log" / "secondlayer.log").read_text().splitlines()]
    assert entries[0]["msg"].startswith(f"serving on http://127.0.0.1:{port}; public URL http://127.0.0.1:{port};")
    assert entries[-1]["msg"] == "stopped"  # our clean shutdown ran, not a SIGKILL
    assert (tmp_path / "log" / "secondlayer.err.log").read_text() == ""
