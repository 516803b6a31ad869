"""HTTP-level facts of the MCP transports, kept free of any web framework: origins, Accept, versions, SSE frames."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import urlsplit

import mcp_types
from mcp_types import UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, KNOWN_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from app.config import Settings

# Every revision the installed SDK speaks: the handshake ones through initialize, the modern ones per request.
SUPPORTED_VERSIONS: tuple[str, ...] = tuple(
    v for v in KNOWN_PROTOCOL_VERSIONS if v in HANDSHAKE_PROTOCOL_VERSIONS or v in MODERN_PROTOCOL_VERSIONS
)
MODERN_VERSIONS: tuple[str, ...] = tuple(MODERN_PROTOCOL_VERSIONS)
# The spec: a request without MCP-Protocol-Version is taken as 2025-03-26.
DEFAULT_VERSION = "2025-03-26"
# Resumable streams (priming event with an id, then Last-Event-ID) arrived in 2025-11-25.
RESUMABLE_FROM = "2025-11-25"

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 1000  # how soon a client should reconnect to a resumable stream


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def origin_allowed(origin: str | None, settings: Settings) -> bool:
    """Requests without Origin (not from a browser) pass; browsers only from our origin or the allow-list.

    This is the MCP spec's DNS-rebinding defence: a page on another site must not drive a local session.
    """
    if origin is None:
        return True
    value = origin.strip().rstrip("/").lower()
    if value == origin_of(settings.public_url):
        return True
    return "*" in settings.allowed_origins or value in settings.allowed_origins


_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_allowed(host: str | None, settings: Settings) -> bool:
    """The Host a request names must be this server: PUBLIC_URL's host and port, or a loopback name (how a
    local client or a proxy on this machine reaches us). A page whose domain was re-pointed at our address
    (DNS rebinding) sends its own name here and is refused, with or without an Origin header."""
    if not host:
        return False
    return _host_allowed(host, settings.public_url)


@functools.lru_cache(maxsize=256)  # every request names a Host: the few a server sees are judged once each
def _host_allowed(host: str, public_url: str) -> bool:
    try:
        parts = urlsplit("//" + host.strip())
        name, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return False
    if name in ("localhost", "127.0.0.1", "::1"):
        return True
    public = urlsplit(public_url)
    default = _DEFAULT_PORTS.get(public.scheme)
    return name == (public.hostname or "") and (port or default) == (public.port or default)


def accepts(accept_header: str | None) -> tuple[bool, bool]:
    """(JSON acceptable, SSE acceptable) from an Accept header, with the RFC 9110 wildcards."""
    types = {part.split(";")[0].strip().lower() for part in (accept_header or "").split(",")}
    anything = "*/*" in types
    return (
        anything or "application/json" in types or "application/*" in types,
        anything or "text/event-stream" in types or "text/*" in types,
    )


def is_version_at_least(version: str | None, minimum: str) -> bool:
    if version not in KNOWN_PROTOCOL_VERSIONS:
        return False
    return KNOWN_PROTOCOL_VERSIONS.index(version) >= KNOWN_PROTOCOL_VERSIONS.index(minimum)


def unsupported_version_error(requested: str) -> dict[str, Any]:
    """The JSON-RPC error body for a MCP-Protocol-Version this server does not speak."""
    return jsonrpc_error(
        None,
        UNSUPPORTED_PROTOCOL_VERSION,
        f"Unsupported MCP-Protocol-Version {requested!r}; supported: {', '.join(SUPPORTED_VERSIONS)}",
        {"supported": list(SUPPORTED_VERSIONS), "requested": requested},
    )


_REQUEST_KEYS = frozenset({"jsonrpc", "id", "method", "params"})


def client_message(decoded: Any) -> mcp_types.JSONRPCMessage:
    """The one JSON-RPC message a client POSTed (already JSON-decoded); ValueError when it is not one.

    JSON-RPC 2.0 makes only an object without an "id" member a notification. The SDK's message adapter
    ignores unknown keys, so a request whose id is malformed (null, 1.5, true, an object) would pass as a
    notification and get a silent 202 where it is owed an error: MCP ids are strings or integers, never null.
    """
    if type(decoded) is dict and decoded.keys() <= _REQUEST_KEYS and "id" in decoded and "method" in decoded:
        # A request's usual shape: the union's answer is this model, without trying its other members first.
        try:
            return mcp_types.JSONRPCRequest.model_validate(decoded, by_name=False)
        except ValueError:
            pass  # the union below says what it is, or refuses it as it always has
    message = mcp_types.jsonrpc_message_adapter.validate_python(decoded, by_name=False)
    if isinstance(message, mcp_types.JSONRPCNotification) and isinstance(decoded, dict) and "id" in decoded:
        raise ValueError("a request id must be a string or an integer")
    return message


def jsonrpc_error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def sse_event(
    data: str, *, event: str | None = "message", event_id: str | None = None, retry_ms: int | None = None
) -> bytes:
    """One Server-Sent Event; multi-line data is split as the format requires."""
    lines = []
    if event:
        lines.append(f"event: {event}")
    if event_id:
        lines.append(f"id: {event_id}")
    if retry_ms is not None:
        lines.append(f"retry: {retry_ms}")
    lines.extend(f"data: {line}" for line in (data.split("\n") if data else [""]))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


SSE_KEEPALIVE = b": keepalive\n\n"


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
