"""The one way tests talk HTTP to our server: clients that check every response for the invariants all our
responses keep, whatever the endpoint (as JupyterHub's `api_request()` does), and a raw slow-body probe."""

from __future__ import annotations

import email.utils
import socket
import time
from typing import Any

import httpx2

SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy", "X-Request-Id")


def check_invariants(response: httpx2.Response, *, body: bool = True) -> httpx2.Response:
    """What every response of ours must have, whatever the endpoint. `body=False` for a stream the caller is
    still to read: its headers are checked, its body cannot be yet."""
    for header in SECURITY_HEADERS:
        assert header in response.headers, f"{response.request.url} lacks {header}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Our server does not name itself (a proxy in front may: nginx says "nginx"); a Date of now (RFC 9110 6.6.1).
    assert "Tornado" not in response.headers.get("Server", ""), f"{response.request.url} names its server"
    sent = email.utils.parsedate_to_datetime(response.headers["Date"])
    assert abs(time.time() - sent.timestamp()) < 120, response.headers["Date"]
    ctype = response.headers.get("Content-Type", "")
    if response.status_code >= 400 and not ctype.startswith("text/html"):
        assert ctype.startswith("application/json"), f"error without JSON: {ctype}"
    if body:
        assert "Traceback" not in response.text
    return response


def _check_all(response: httpx2.Response, *, streamed: bool) -> None:
    # Redirects followed and auth round trips (the SDK's OAuth discovery) are in history, already read.
    for earlier in response.history:
        check_invariants(earlier)
    check_invariants(response, body=not streamed)


class CheckedClient(httpx2.Client):
    """An httpx2 client on our server whose every response is checked with `check_invariants`. Every test that
    talks HTTP to a server of ours makes its clients with this (or `CheckedAsyncClient`), directly or through a
    fixture (`http`) or a helper built on it (`Browser`, `SseListener`)."""

    def __init__(self, base_url: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 30)
        super().__init__(base_url=base_url, **kwargs)

    def send(
        self,
        request: httpx2.Request,
        *,
        stream: bool = False,
        auth: Any = httpx2.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx2.USE_CLIENT_DEFAULT,
    ) -> httpx2.Response:
        response = super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        try:
            _check_all(response, streamed=stream)
        except BaseException:
            response.close()
            raise
        return response


class CheckedAsyncClient(httpx2.AsyncClient):
    """`CheckedClient` for async code (the MCP SDK's transports take an `httpx2.AsyncClient`)."""

    def __init__(self, base_url: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 30)
        super().__init__(base_url=base_url, **kwargs)

    async def send(
        self,
        request: httpx2.Request,
        *,
        stream: bool = False,
        auth: Any = httpx2.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx2.USE_CLIENT_DEFAULT,
    ) -> httpx2.Response:
        response = await super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        try:
            _check_all(response, streamed=stream)
        except BaseException:
            await response.aclose()
            raise
        return response


def trickle_is_cut_off(port: int, head: bytes, body: bytes, within: float = 8.0) -> bool:
    """Send `head`, then `body` a byte every half second (never idle, never done, as a slowloris client does);
    True when the server closes the connection within `within` seconds. A raw socket, not a client: the point
    is a request no HTTP client would send."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body[:1])
        started = time.monotonic()
        try:
            for i in range(1, 2 * int(within) + 4):
                time.sleep(0.5)
                sock.sendall(body[i % len(body) : i % len(body) + 1])
        except OSError:
            return time.monotonic() - started < within
        sock.settimeout(1)
        try:
            closed = sock.recv(1024) == b""
        except OSError:
            closed = True
        return closed and time.monotonic() - started < within
