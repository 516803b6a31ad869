"""Prometheus metrics, summed over the host's processes (prometheus_client's multiprocess mode) when `serve` set it up.

`serve` names the directory in PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client: the library
picks its storage then (a memory-mapped file per process in the directory, instead of memory). The MCP series follow
the OpenTelemetry MCP semantic conventions (`mcp.server.operation.duration` with `mcp.method.name`,
`gen_ai.tool.name`, `error.type`), written as Prometheus writes them: dots become underscores, the unit ends the
name.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # the library's own switch, read when it is imported

# Request latencies, in seconds: from a cached lookup (milliseconds) to a slow full-text search.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

mcp_operation_duration = Histogram(
    "mcp_server_operation_duration",
    "MCP request duration as the server saw it (OpenTelemetry mcp.server.operation.duration)",
    ["mcp_method_name", "gen_ai_tool_name", "error_type"],
    unit="seconds",
    buckets=LATENCY_BUCKETS,
)
http_request_duration = Histogram(
    "http_server_request_duration",
    "HTTP request duration by route, method and status (OpenTelemetry http.server.request.duration)",
    ["http_route", "http_request_method", "http_response_status_code"],
    unit="seconds",
    buckets=LATENCY_BUCKETS,
)
sign_ins = Counter("secondlayer_sign_ins", "password sign-ins by outcome", ["outcome"])
oauth_tokens = Counter("secondlayer_oauth_tokens", "OAuth tokens by event (issued, refreshed, revoked)", ["event"])
cleanup_runs = Counter("secondlayer_cleanup_runs", "expired-data cleanup runs by status", ["status"])
mcp_sessions = Gauge(
    "secondlayer_mcp_sessions", "open MCP sessions by transport", ["transport"], multiprocess_mode="livesum"
)
mcp_streams = Gauge("secondlayer_mcp_streams", "open long-lived MCP event streams", multiprocess_mode="livesum")
db_pool = Gauge(
    "secondlayer_db_pool_connections",
    "database connections of the pools by state (in_use, idle) and the pools' limit (max)",
    ["state"],
    multiprocess_mode="livesum",
)
processes = Gauge("secondlayer_processes", "server processes running", multiprocess_mode="livesum")


def multiprocess_directory() -> str | None:
    """The shared directory, when this process counts in multiprocess mode."""
    return os.environ.get(MULTIPROCESS_ENV)


def forget_dead_processes(directory: Path) -> None:
    """At start: drop the live gauges of processes that ended without saying so (killed), so sums stay true."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                    int(pid), str(directory)
                )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def render() -> bytes:
    """The text exposition of the host (multiprocess mode) or of this process."""
    directory = multiprocess_directory()
    if directory is None:
        from prometheus_client import REGISTRY

        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def process_exited() -> None:
    """Drop this process's live gauges from the host's sums (its counters stay: they count what happened)."""
    directory = multiprocess_directory()
    if directory is not None:
        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                os.getpid(), directory
            )
