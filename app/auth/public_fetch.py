"""Fetching a client's public JSON (metadata documents, JWK sets) without letting the URL reach inward.

Every fetch has a short timeout, a size limit and no redirects, and connects only to public addresses: the
check runs on the resolved address, so a name that resolves to 10.0.0.1 or a NAT64 form of it cannot steer the
request into the operator's network. CLIENT_METADATA_ALLOW_LOOPBACK relaxes this for tests only.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from app.config import Settings, is_loopback_host

FETCH_TIMEOUT = 5.0
DEFAULT_CACHE_SECONDS = 3600
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 86400
MAX_URL_LENGTH = 2000
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d{1,12})", re.IGNORECASE)


class PublicFetchError(Exception):
    """The URL could not be used or fetched; the message says why, in one line."""


# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it through a translator or tunnel
# (IPv4-compatible, IPv4-translated (RFC 2765 SIIT), NAT64 well-known prefix): 64:ff9b::10.0.0.1 is 10.0.0.1
# on a NAT64 network, ::ffff:0:10.0.0.1 on a SIIT one.
_EMBEDDING_V4 = (
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("::ffff:0:0:0/96"),
    ipaddress.ip_network("64:ff9b::/96"),
)
# Local-use NAT64 (RFC 8215) translates into the operator's own networks: never public.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def address_allowed(address: str, allow_private: bool) -> bool:
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

    def initialize(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self.inner = DefaultLoopResolver()

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        addresses = await self.inner.resolve(host, port, family)
        allowed = [(fam, addr) for fam, addr in addresses if address_allowed(addr[0], self.allow_private)]
        if not allowed:
            raise PublicFetchError(f"{host} resolves only to private or loopback addresses")
        return allowed


def cache_seconds(cache_control: str | None) -> int:
    """How long to keep a fetched document: its max-age within [1 minute, 1 day], 1 hour when unstated."""
    if cache_control:
        lowered = cache_control.lower()
        if "no-store" in lowered or "no-cache" in lowered:
            return MIN_CACHE_SECONDS
        match = _MAX_AGE.search(lowered)
        if match:
            return max(MIN_CACHE_SECONDS, min(MAX_CACHE_SECONDS, int(match.group(1))))
    return DEFAULT_CACHE_SECONDS


def check_public_url(url: Any, what: str, *, allow_loopback: bool, need_path: bool = False) -> None:
    """https (or loopback http when allowed, for tests), a host, no fragment, credentials or dot segments."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise PublicFetchError(f"the {what} URL is missing or too long")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise PublicFetchError(f"the {what} URL is malformed") from None
    loopback_http = parts.scheme == "http" and allow_loopback and is_loopback_host(parts.hostname or "")
    if parts.scheme != "https" and not loopback_http:
        raise PublicFetchError(f"the {what} URL must use https")
    if not parts.hostname or (need_path and parts.path in ("", "/")):
        raise PublicFetchError(f"the {what} URL must have a host{' and a path' if need_path else ''}")
    if parts.fragment or "#" in url or parts.username or parts.password:
        raise PublicFetchError(f"the {what} URL must not have a fragment or credentials")
    if any(seg in (".", "..") for seg in parts.path.split("/")):
        raise PublicFetchError(f"the {what} URL must not contain . or .. path segments")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise PublicFetchError(f"the {what} URL must not contain spaces or control characters")


async def fetch_public_json(url: str, settings: Settings, *, what: str, max_bytes: int) -> tuple[dict[str, Any], int]:
    """The JSON object at `url` and how many seconds to cache it; PublicFetchError on any failure."""
    http = SimpleAsyncHTTPClient(
        force_instance=True,
        max_body_size=max_bytes,
        resolver=PublicAddressResolver(allow_private=settings.client_metadata_allow_loopback),
    )
    try:
        response = await http.fetch(
            HTTPRequest(
                url,
                method="GET",
                headers={"Accept": "application/json"},
                follow_redirects=False,
                connect_timeout=FETCH_TIMEOUT,
                request_timeout=FETCH_TIMEOUT,
                decompress_response=False,
            ),
            raise_error=False,
        )
    except PublicFetchError:
        raise
    except HTTPClientError as exc:  # 599: timed out, too large, or the connection failed
        raise PublicFetchError(
            f"the {what} could not be fetched ({exc}; limits: {FETCH_TIMEOUT:g} s, {max_bytes} bytes)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any transport failure is the same answer: could not fetch
        raise PublicFetchError(f"the {what} could not be fetched ({type(exc).__name__})") from None
    finally:
        http.close()
    if response.code != 200:
        hint = " (redirects are not followed)" if 300 <= response.code < 400 else ""
        raise PublicFetchError(f"the {what} answered HTTP {response.code}, expected 200{hint}")
    body = response.body or b""
    if len(body) > max_bytes:
        raise PublicFetchError(f"the {what} is larger than {max_bytes} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise PublicFetchError(f"the {what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise PublicFetchError(f"the {what} must be a JSON object")
    return document, cache_seconds(response.headers.get("Cache-Control"))
