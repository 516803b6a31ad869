"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from app.db import UNAVAILABLE
from app.db.schema import schema_problem
from app.handlers.base import APIHandler


class HealthHandler(APIHandler):
    """Liveness: the process answers. Says nothing about the database on purpose."""

    def get(self) -> None:
        self.write_json({"status": "ok"})


class ReadyHandler(APIHandler):
    """Readiness: the database answers and its schema is the one this code needs."""

    async def get(self) -> None:
        try:
            problem = await asyncio.wait_for(schema_problem(self.db), timeout=5)
        except (TimeoutError, *UNAVAILABLE):
            problem = f"database unreachable at {self.db.safe_url}"
        if problem:
            self.write_json({"status": "unavailable", "reason": problem}, status=503)
        else:
            self.write_json({"status": "ready"})


routes = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
]
