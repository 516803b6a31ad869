"""RFC 8707 resource indicators: which URLs name this server's MCP endpoints."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def canonical_resource(uri: str) -> str | None:
    """Scheme and host lower-cased, default port dropped, no trailing slash, no fragment; None if not a URL."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.fragment:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))


def is_our_resource(uri: str, public_url: str) -> bool:
    """True for PUBLIC_URL itself and its MCP endpoints (/mcp, /sse), as clients send any of these."""
    candidate = canonical_resource(uri)
    base = canonical_resource(public_url)
    if candidate is None or base is None:
        return False
    return candidate in {base, f"{base}/mcp", f"{base}/sse"}
