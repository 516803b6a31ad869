"""Embedded PostgreSQL (the `pgserver` package) for machines with no DATABASE_URL configured."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE_NAME = "secondlayer"


class EmbeddedPostgres:
    """A handle on the database server under `<data_dir>/postgres`, shared by every process using that dir.

    pgserver keeps a list of the processes holding the server and stops it when the last one lets go,
    under an inter-process lock, so `make run` and a CLI command in another shell share one server.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return the URL of the product's database."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver
            from pgserver.postgres_server import PostgresServer

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with PostgresServer._lock:
            # A process killed without cleanup leaves its pid in the holders' list, and then the server
            # would never be stopped; drop holders that no longer exist before joining.
            holders = self.pgdata / ".handle_pids.json"
            if holders.exists():
                import json

                alive = [pid for pid in json.loads(holders.read_text() or "[]") if _pid_alive(pid)]
                holders.write_text(json.dumps(alive))
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
        )
        if "(1 row)" not in exists:
            self._server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return str(self._server.get_uri(DATABASE_NAME))

    def stop(self) -> None:
        """Let go of the server; it stops if this was the last process holding it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
