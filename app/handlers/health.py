"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import hmac

from app import metrics
from app.db import UNAVAILABLE
from app.db.schema import schema_problem
from app.handlers.base import ApiError, APIHandler


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


class MetricsHandler(APIHandler):
    """GET /metrics: Prometheus text for every process of this host, to the bearer of METRICS_TOKEN only."""

    async def get(self) -> None:
        expected = self.config.metrics_token
        if not expected:
            raise ApiError(404, "not_found", "Metrics are off: set METRICS_TOKEN to scrape them")
        offered = self.request.headers.get("Authorization", "")
        # Constant-time, so the token cannot be guessed a character at a time from response times.
        if not hmac.compare_digest(offered.encode(), f"Bearer {expected}".encode()):
            raise ApiError(
                401, "invalid_token", "Send Authorization: Bearer with METRICS_TOKEN", {"WWW-Authenticate": "Bearer"}
            )
        # Reading every process's file is work proportional to their number: off the event loop.
        self.services.publish_gauges()
        body = await asyncio.get_running_loop().run_in_executor(None, metrics.render)
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(body)


routes = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
    (r"/metrics", MetricsHandler),
]
