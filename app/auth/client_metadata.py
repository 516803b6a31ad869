"""Client ID metadata documents: a client_id that is an https URL names a JSON document describing the client.

The document is fetched with a short timeout, a size limit, no redirects, and never from loopback, private or
otherwise non-public addresses (checked on the resolved address, so DNS cannot point us inward) unless
CLIENT_METADATA_ALLOW_LOOPBACK is set for tests. The result is cached in oauth_clients with an expiry.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from app import audit
from app.auth.clients import PUBLIC_METHOD, ClientError, validate_grant_types, validate_name, validate_redirect_uris
from app.auth.rate_limit import registration_allowed
from app.config import Settings, is_loopback_host
from app.db import Database, Row
from app.db.tables import oauth_clients

MAX_DOCUMENT_BYTES = 16 * 1024
FETCH_TIMEOUT = 5.0
DEFAULT_CACHE_SECONDS = 3600
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 86400
MAX_URL_LENGTH = 2000
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


class ClientMetadataError(Exception):
    """The metadata document could not be used; the message says why, in one line."""


def is_metadata_client_id(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def check_client_id_url(client_id: str, settings: Settings) -> None:
    """The URL rules for a metadata-document client_id: https, a path, no fragment, credentials or dot segments."""
    if len(client_id) > MAX_URL_LENGTH:
        raise ClientMetadataError("the client_id URL is too long")
    try:
        parts = urlsplit(client_id)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ClientMetadataError("the client_id URL is malformed") from None
    loopback_http = (parts.scheme == "http" and settings.client_metadata_allow_loopback
                     and is_loopback_host(parts.hostname or ""))
    if parts.scheme != "https" and not loopback_http:
        raise ClientMetadataError("a client_id URL must use https")
    if not parts.hostname or parts.path in ("", "/"):
        raise ClientMetadataError("a client_id URL must have a host and a path")
    if parts.fragment or "#" in client_id or parts.username or parts.password:
        raise ClientMetadataError("a client_id URL must not have a fragment or credentials")
    if any(seg in (".", "..") for seg in parts.path.split("/")):
        raise ClientMetadataError("a client_id URL must not contain . or .. path segments")


# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it through a translator or tunnel
# (IPv4-compatible, NAT64 well-known prefix): 64:ff9b::10.0.0.1 is 10.0.0.1 on a NAT64 network.
_EMBEDDING_V4 = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))
# Local-use NAT64 (RFC 8215) translates into the operator's own networks: never public.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def _address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour  # 6to4 (2002::/16) relays to the IPv4 address it embeds
        elif any(ip in net for net in _EMBEDDING_V4) and int(ip) > 1:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip in _LOCAL_NAT64 and not allow_private:
            return False
    if allow_private:
        return not ip.is_multicast and not ip.is_unspecified
    return ip.is_global and not ip.is_multicast


class PublicAddressResolver(Resolver):
    """Resolves names and keeps only public addresses, so the connection cannot be steered inward."""

    def initialize(self, allow_private: bool = False) -> None:  # type: ignore[override]
        self.allow_private = allow_private
        self.inner = DefaultLoopResolver()

    async def resolve(self, host: str, port: int,  # type: ignore[override]
                      family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        addresses = await self.inner.resolve(host, port, family)
        allowed = [(fam, addr) for fam, addr in addresses if _address_allowed(addr[0], self.allow_private)]
        if not allowed:
            raise ClientMetadataError(f"{host} resolves only to private or loopback addresses")
        return allowed


def _cache_seconds(cache_control: str | None) -> int:
    if cache_control:
        lowered = cache_control.lower()
        if "no-store" in lowered or "no-cache" in lowered:
            return MIN_CACHE_SECONDS
        match = _MAX_AGE.search(lowered)
        if match:
            return max(MIN_CACHE_SECONDS, min(MAX_CACHE_SECONDS, int(match.group(1))))
    return DEFAULT_CACHE_SECONDS


async def fetch_document(client_id: str, settings: Settings) -> tuple[dict[str, Any], int]:
    """The parsed document and how many seconds to cache it; ClientMetadataError on any failure."""
    check_client_id_url(client_id, settings)
    http = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_DOCUMENT_BYTES,
                                 resolver=PublicAddressResolver(allow_private=settings.client_metadata_allow_loopback))
    try:
        response = await http.fetch(HTTPRequest(
            client_id, method="GET", headers={"Accept": "application/json"}, follow_redirects=False,
            connect_timeout=FETCH_TIMEOUT, request_timeout=FETCH_TIMEOUT, decompress_response=False,
        ), raise_error=False)
    except ClientMetadataError:
        raise
    except HTTPClientError as exc:
        raise ClientMetadataError(f"the client metadata document could not be fetched (HTTP {exc.code})") from None
    except Exception as exc:
        raise ClientMetadataError(f"the client metadata document could not be fetched ({type(exc).__name__})"
                                  ) from None
    finally:
        http.close()
    if response.code != 200:
        raise ClientMetadataError(f"the client metadata document answered HTTP {response.code}, expected 200")
    body = response.body or b""
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ClientMetadataError(f"the client metadata document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ClientMetadataError("the client metadata document is not valid JSON") from None
    if not isinstance(document, dict):
        raise ClientMetadataError("the client metadata document must be a JSON object")
    return document, _cache_seconds(response.headers.get("Cache-Control"))


def client_fields(client_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """The oauth_clients columns the document describes; ClientMetadataError when it breaks the rules."""
    if document.get("client_id") != client_id:
        raise ClientMetadataError("the document's client_id does not equal its URL")
    method = document.get("token_endpoint_auth_method", "none")
    if method != "none":
        # The document is public: a shared secret cannot belong to it (draft-ietf-oauth-client-id-metadata-document).
        raise ClientMetadataError("metadata-document clients must use token_endpoint_auth_method none")
    try:
        uris = validate_redirect_uris(document.get("redirect_uris"))
        grant_types = validate_grant_types(document.get("grant_types"))
        name = validate_name(document.get("client_name") or urlsplit(client_id).hostname)
    except ClientError as exc:
        raise ClientMetadataError(f"the client metadata document is not acceptable: {exc}") from None
    kept = {k: document[k] for k in ("client_uri", "logo_uri", "software_id", "software_version")
            if isinstance(document.get(k), str)}
    return {"name": name, "redirect_uris": uris, "grant_types": grant_types, "metadata": kept}


async def resolve_metadata_client(db: Database, settings: Settings, client_id: str, *, fresh: bool,
                                  ip: str | None = None) -> Row:
    """The client row for a URL client_id, fetching the document when missing or (if `fresh`) expired."""
    check_client_id_url(client_id, settings)
    cached = await db.fetch_one(
        sa.select(oauth_clients, (oauth_clients.c.metadata_expires_at > sa.func.now()).label("current"))
        .where(oauth_clients.c.client_id == client_id)
    )
    if cached is not None and cached["registration_source"] != "metadata_document":
        raise ClientMetadataError("this client_id is registered by other means")
    if cached is not None and (cached["current"] or not fresh):
        cached.pop("current", None)
        return cached
    if cached is None:
        # A new URL is a new registration: the same per-IP budget as dynamic registration, or anyone could add
        # clients without limit (and have us fetch any number of URLs) by varying the path.
        wait = await registration_allowed(db, ip, settings.registration_rate_limit)
        if wait:
            raise ClientMetadataError(f"too many new clients from this address; retry in {wait} seconds")
    document, seconds = await fetch_document(client_id, settings)
    fields = client_fields(client_id, document)
    expires = sa.func.now() + sa.text(f"interval '{int(seconds)} seconds'")
    async with db.transaction() as conn:
        stmt = pg_insert(oauth_clients).values(
            client_id=client_id, token_endpoint_auth_method=PUBLIC_METHOD, scope="mcp",
            registration_source="metadata_document", metadata_expires_at=expires, registered_ip=ip, **fields,
        )
        row = await conn.fetch_one(stmt.on_conflict_do_update(
            index_elements=[oauth_clients.c.client_id],
            set_={**fields, "metadata_expires_at": expires, "updated_at": sa.func.now()},
        ).returning(oauth_clients))
        assert row is not None
        if cached is None or cached["redirect_uris"] != row["redirect_uris"]:
            await audit.record(conn, "client.register" if cached is None else "client.update", actor="anonymous",
                               target_type="client", target_id=client_id, ip=ip,
                               details={"name": row["name"], "source": "metadata_document",
                                        "redirect_uris": row["redirect_uris"]})
    return row
