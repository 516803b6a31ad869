"""The repository's supervisord.conf runs the server as on the stage host, and stops it gracefully."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers_http import CheckedClient
from tests.helpers_server import ROOT, free_port, wait_ready

BIN = Path(sys.executable).parent


def test_supervisord_starts_and_stops_the_server(database_url, tmp_path):
    # The deployment layout: supervisord.conf beside deploy/ and .venv/ (%(here)s), logs under var/log.
    home = tmp_path / "srv"
    home.mkdir()
    shutil.copy(ROOT / "supervisord.conf", home / "supervisord.conf")
    (home / "deploy").symlink_to(ROOT / "deploy")
    (home / ".venv").symlink_to(BIN.parent)
    (home / "var" / "log").mkdir(parents=True)
    port = free_port()
    env_file = tmp_path / "secondlayer.env"
    env_file.write_text(
        f"DATABASE_URL={database_url}\nPORT={port}\nHOST=127.0.0.1\nPUBLIC_URL=http://127.0.0.1:{port}\n"
        f"SECONDLAYER_DATA_DIR={home / 'var'}\nCOOKIE_SECRET={'k' * 40}\n# a comment\n"
    )
    env = {**os.environ, "SECONDLAYER_ENV_FILE": str(env_file)}
    env.pop("DATABASE_URL", None)
    conf = str(home / "supervisord.conf")
    ctl = [str(BIN / "supervisorctl"), "-c", conf]
    subprocess.run([str(BIN / "supervisord"), "-c", conf], env=env, check=True, timeout=30)
    try:
        wait_ready(f"http://127.0.0.1:{port}", timeout=40)
        with CheckedClient(f"http://127.0.0.1:{port}") as client:
            assert client.get("/readyz").json()["status"] == "ready"
        deadline = time.monotonic() + 15  # RUNNING once it has stayed up for startsecs
        while time.monotonic() < deadline:
            status = subprocess.run([*ctl, "status", "secondlayer"], capture_output=True, text=True, timeout=30)
            if "RUNNING" in status.stdout:
                break
            time.sleep(0.3)
        assert "RUNNING" in status.stdout
        stopped = subprocess.run([*ctl, "stop", "secondlayer"], capture_output=True, text=True, timeout=60)
        assert "stopped" in stopped.stdout
        log = (home / "var" / "log" / "secondlayer.log").read_text()
        assert '"msg": "stopped"' in log  # our clean shutdown ran, not a SIGKILL
        status = subprocess.run([*ctl, "status", "secondlayer"], capture_output=True, text=True, timeout=30)
        assert "STOPPED" in status.stdout
    finally:
        subprocess.run([*ctl, "shutdown"], capture_output=True, timeout=60)
        deadline = time.monotonic() + 20
        while (home / "var" / "supervisord.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
