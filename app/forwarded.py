"""Who the client is behind the TLS proxy: forwarded headers are believed only from proxies we trust.

Sign-in throttling, the registration rate limit and the audit log key on the client's address, so a client
that could name its own address could guess passwords without limit and write any address into the log.
X-Forwarded-For and X-Forwarded-Proto are therefore read only when the TCP peer is in TRUSTED_PROXIES
(loopback by default: the proxy runs on the same machine), and the client is the right-most address in
X-Forwarded-For that is not itself a trusted proxy (the one our proxy appended). X-Real-Ip and X-Scheme are
never read: the documented proxy setup does not overwrite them, so they would come from the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Iterable
from functools import partial
from typing import Any

import tornado.httpserver
from tornado import httputil

from app.handlers.deadlines import Deadlines

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNTRUSTED_ALWAYS = ("X-Real-Ip", "X-Scheme")
FROM_TRUSTED_ONLY = ("X-Forwarded-For", "X-Forwarded-Proto")
_FORWARDED_NAMES = UNTRUSTED_ALWAYS + FROM_TRUSTED_ONLY


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """IP addresses or CIDR networks; ValueError names the first one that is neither."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return ip


def is_trusted(value: str | None, networks: tuple[Network, ...]) -> bool:
    ip = _address(value) if value else None
    return ip is not None and any(ip in network for network in networks)


def client_address(forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """The right-most X-Forwarded-For entry that is not a trusted proxy: the address our proxy saw."""
    entries = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
    for entry in reversed(entries):
        if _address(entry) is None:
            return None  # a garbled chain: believe none of it
        if not is_trusted(entry, networks):
            return entry
    return entries[0] if entries else None


def sanitize(headers: httputil.HTTPHeaders, peer: str | None, networks: tuple[Network, ...]) -> None:
    """Leave in `headers` only the forwarded information this peer may give, reduced to the client address."""
    if not any(name in headers for name in _FORWARDED_NAMES):
        return  # nothing forwarded, nothing to remove (a direct client): no address parsing on this request
    for name in UNTRUSTED_ALWAYS:
        if name in headers:
            del headers[name]
    forwarded_for = ",".join(headers.get_list("X-Forwarded-For"))
    protos = ",".join(headers.get_list("X-Forwarded-Proto")).split(",")
    for name in FROM_TRUSTED_ONLY:
        if name in headers:
            del headers[name]
    if not is_trusted(peer, networks):
        return
    client = client_address(forwarded_for, networks)
    if client is not None:
        headers["X-Forwarded-For"] = client
    if protos[-1].strip():
        headers["X-Forwarded-Proto"] = protos[-1].strip()  # the last hop's, as Tornado reads it


class _ForwardedHeaderFilter(httputil.HTTPMessageDelegate):
    """Runs before Tornado's xheaders step, which then applies what is left."""

    # One per request, held as long as the request (an idle event stream for hours): no instance dict.
    __slots__ = ("connection", "delegate", "idle", "networks")

    def __init__(
        self,
        delegate: httputil.HTTPMessageDelegate,
        request_conn: httputil.HTTPConnection,
        networks: tuple[Network, ...],
        idle: tuple[Deadlines, object] | None = None,
    ) -> None:
        self.delegate = delegate
        self.connection = request_conn
        self.networks = networks
        self.idle = idle

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Awaitable[None] | None:
        if self.idle is not None:
            self.idle[0].discard(self.idle[1])  # the request's headers are in: the connection is not idle
            self.idle = None  # a stream open for hours keeps this filter: not the pair too
        # The context's remote_ip is still the TCP peer here: xheaders are applied after this, per request.
        peer = getattr(getattr(self.connection, "context", None), "remote_ip", None)
        sanitize(headers, peer, self.networks)
        if not any(name in headers for name in FROM_TRUSTED_ONLY):
            # Nothing forwarded is left to apply: the request goes straight to the application, past Tornado's
            # xheaders step, which would only validate the peer's own address again (a getaddrinfo per request).
            self.delegate = getattr(self.delegate, "delegate", self.delegate)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()

    def on_connection_close(self) -> None:
        self.delegate.on_connection_close()


class ProxyAwareHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTPServer with xheaders, believing forwarded headers only from `trusted_proxies`.

    `idle_connection_timeout` closes a connection that has not sent a request's full headers within that many
    seconds of being ready for one (a kept-alive connection left idle, a client trickling its headers), as in
    Tornado; but kept in `Deadlines` (one timer for every connection) instead of Tornado's timeout and future
    chain per request."""

    def initialize(
        self,
        *args: Any,
        trusted_proxies: Iterable[str] = (),
        idle_connection_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.trusted_networks = parse_networks(trusted_proxies)
        self.idle_timeout = idle_connection_timeout
        self._idle_deadlines: Deadlines | None = None
        kwargs["xheaders"] = True
        super().initialize(*args, **kwargs)
        self.conn_params.header_timeout = None  # ours: start_request

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        idle = None
        if self.idle_timeout is not None:
            deadlines = self._idle_deadlines
            if deadlines is None:  # a server listens on one loop: found once
                deadlines = self._idle_deadlines = Deadlines.named("idle connections")
            deadlines.add(server_conn, self.idle_timeout, partial(_close, server_conn), self.idle_timeout / 10)
            idle = (deadlines, server_conn)
        return _ForwardedHeaderFilter(delegate, request_conn, self.trusted_networks, idle)

    def on_close(self, server_conn: object) -> None:
        if self._idle_deadlines is not None:
            self._idle_deadlines.discard(server_conn)
        super().on_close(server_conn)


def _close(server_conn: object) -> None:
    """Close an idle connection: its read of the next request's headers fails, and its serving loop ends."""
    stream = getattr(server_conn, "stream", None)
    if stream is not None:
        stream.close()
