"""The proxy's routing for several server processes: nginx's map from a session id to the process that owns it.

A session id starts with its owner's name (NODE_NAME and port, `a8000.`), so nginx sends every later request of
the session, Streamable HTTP (`Mcp-Session-Id`) or HTTP+SSE (`/messages?session_id=`), to that process; requests
without a session go to any process. deploy/nginx.conf holds this block as rendered for two processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import ConfigError, Settings

STANDBY_OFFSET = 100  # the standby (deploy/secondlayer-restart) listens on PORT+100
BEGIN = "# --- routing: written by `secondlayer deploy-config nginx`; begin ---"
END = "# --- routing: end ---"


@dataclass(frozen=True)
class Process:
    """One server process as the proxy sees it: its name in session ids and its address."""

    name: str
    address: str
    standby: bool = False


def host_processes(settings: Settings, node: str, address: str, *, standby: bool) -> list[Process]:
    """The PROCESSES processes of one host (ports PORT..PORT+N-1), and its standby when asked."""
    ports = [settings.port + k for k in range(settings.processes)]
    found = [Process(f"{node}{port}", f"{address}:{port}") for port in ports]
    if standby:
        port = settings.port + STANDBY_OFFSET
        found.append(Process(f"{node}{port}", f"{address}:{port}", standby=True))
    return found


def parse_hosts(settings: Settings, hosts: list[str]) -> list[Process]:
    """`NAME=ADDRESS` per host (NODE_NAME of that host, its address as nginx reaches it); none: this host alone."""
    if not hosts:
        return host_processes(settings, settings.node_name, "127.0.0.1", standby=True)
    processes: list[Process] = []
    seen: set[str] = set()
    for item in hosts:
        name, sep, address = item.partition("=")
        name = name.strip().lower()
        if not sep or not address.strip() or not (name.isascii() and name.isalnum()) or len(name) > 16:
            raise ConfigError(f"--host must look like NAME=ADDRESS (the host's NODE_NAME and address), got {item!r}")
        if name in seen:
            raise ConfigError(f"--host names {name} twice: every host needs its own NODE_NAME")
        seen.add(name)
        processes += host_processes(settings, name, address.strip(), standby=False)
    return processes


def nginx_routing(processes: list[Process]) -> str:
    """The map and upstreams nginx.conf's `proxy_pass http://$secondlayer_upstream` uses."""
    serving = [p for p in processes if not p.standby]
    spares = [p for p in processes if p.standby]
    lines = [
        BEGIN,
        "# The owner of a session is the start of its id: the Mcp-Session-Id header (Streamable HTTP) or the",
        "# session_id query parameter (POST /messages, HTTP+SSE). No session, or an owner not listed: any process.",
        'map "$http_mcp_session_id$arg_session_id" $secondlayer_upstream {',
        "    default secondlayer;",
    ]
    lines += [f'    "~^{p.name}\\." secondlayer_{p.name};' for p in processes]
    lines += [
        "}",
        "",
        "# Requests without a session: any process. A refused connection (a process restarting) goes to the next",
        "# (proxy_next_upstream's default), so a rolling restart refuses nothing; max_fails=0: retried at once.",
        "upstream secondlayer {",
    ]
    lines += [f"    server {p.address} max_fails=0;" for p in serving]
    lines += [f"    server {p.address} max_fails=0 backup;" for p in spares]
    lines.append("}")
    lines += [
        "",
        "# One upstream per process for its sessions. When it is down the others answer: its sessions are unknown",
        "# there (404), and the client initialises again, as the MCP specification has it do.",
    ]
    for owner in processes:
        lines += [f"upstream secondlayer_{owner.name} {{", f"    server {owner.address} max_fails=0;"]
        lines += [f"    server {p.address} max_fails=0 backup;" for p in processes if p is not owner]
        lines.append("}")
    lines.append(END)
    return "\n".join(lines) + "\n"
