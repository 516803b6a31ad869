"""Embedded PostgreSQL (the `pgserver` package) for machines with no DATABASE_URL configured."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)

DATABASE_NAME = "secondlayer"


class EmbeddedPostgres:
    """A handle on the database server under `<data_dir>/postgres`, shared by every process using that dir.

    pgserver keeps a list of the processes holding the server and stops it when the last one lets go,
    under an inter-process lock, so `make run` and a CLI command in another shell share one server.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: PostgresServer | None = None

    def exists(self) -> bool:
        """True once a database cluster was made here (by `migrate` or `make run`)."""
        return (self.pgdata / "PG_VERSION").is_file()

    def start(self) -> str:
        """Start (or join) the server and return the URL of the product's database."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from pgserver.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        drop_dead_holders(self.pgdata)
        self._server = server = get_server(self.pgdata, cleanup_mode="stop")
        exists = server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608 - a constant name
        )
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return server.get_uri(DATABASE_NAME)

    def stop(self) -> None:
        """Let go of the server; it stops if this was the last process holding it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


# Holders' list: pgserver's own file, a JSON list of pids (pgserver.utils.DiskList).
HOLDERS_FILE = ".handle_pids.json"


def drop_dead_holders(pgdata: Path) -> None:
    """Forget processes that hold the server at `pgdata` but no longer exist.

    A process killed without cleanup stays in pgserver's holders' list, and the server would then never be
    stopped. pgserver has no public API for this: the list's file and the class-level inter-process lock it is
    kept under are its internals, used here and nowhere else; tests/test_embedded_db.py fails if they change.
    """
    from pgserver.postgres_server import PostgresServer

    holders = pgdata / HOLDERS_FILE
    with PostgresServer._lock:
        if holders.exists():
            alive = [pid for pid in json.loads(holders.read_text() or "[]") if _pid_alive(pid)]
            holders.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
