"""Security review: the client address comes from X-Forwarded-For only when a trusted proxy sent it.

Sign-in throttling, the registration rate limit and the audit log key on that address, so a client that could
choose it could guess passwords without limit and forge the address operators read in the audit log.
"""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from tornado.httputil import HTTPHeaders

from app.db.tables import audit_log
from app.forwarded import client_address, parse_networks, sanitize
from tests.helpers_http import CheckedClient
from tests.helpers_oauth import CLAUDE
from tests.helpers_server import ServerThread, free_port, server_settings

LOOPBACK = parse_networks(["127.0.0.1", "::1"])


def _random_ip() -> str:
    return "198.18." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(2))


def _registration_ip(base_url: str, dbrun, headers: dict[str, str]) -> str | None:
    body = {"redirect_uris": [CLAUDE], "token_endpoint_auth_method": "none"}
    with CheckedClient(base_url) as client:
        r = client.post("/oauth/register", json=body, headers=headers)
    assert r.status_code == 201, r.text
    client_id = r.json()["client_id"]
    return dbrun(
        lambda db: db.fetch_value(
            sa.select(audit_log.c.ip).where(audit_log.c.action == "client.register", audit_log.c.target_id == client_id)
        )
    )


def test_x_real_ip_from_the_client_is_ignored(server, dbrun):
    # nginx with the README's configuration passes a client's own X-Real-Ip through untouched.
    proxy_saw = _random_ip()
    ip = _registration_ip(server.url, dbrun, {"X-Forwarded-For": proxy_saw, "X-Real-Ip": "203.0.113.66"})
    assert ip == proxy_saw


def test_forwarded_for_chain_uses_the_address_our_proxy_appended(server, dbrun):
    proxy_saw = _random_ip()
    # The client wrote "203.0.113.1" itself; $proxy_add_x_forwarded_for appended the real address.
    ip = _registration_ip(server.url, dbrun, {"X-Forwarded-For": f"203.0.113.1, {proxy_saw}"})
    assert ip == proxy_saw


@pytest.fixture(scope="module")
def untrusting_server(database_url, data_dir):
    """A server whose only trusted proxy is elsewhere: requests from 127.0.0.1 come straight from clients."""
    port = free_port()
    thread = ServerThread(
        server_settings(database_url, data_dir, port, TRUSTED_PROXIES="10.99.0.1"), database_url
    ).start()
    yield thread
    thread.stop()


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(untrusting_server, dbrun):
    ip = _registration_ip(
        untrusting_server.url, dbrun, {"X-Forwarded-For": "203.0.113.77", "X-Real-Ip": "203.0.113.78"}
    )
    assert ip == "127.0.0.1"


def test_client_address_rules():
    assert client_address("1.2.3.4", LOOPBACK) == "1.2.3.4"
    assert client_address("6.6.6.6, 1.2.3.4", LOOPBACK) == "1.2.3.4"
    # A second trusted hop is skipped.
    assert client_address("6.6.6.6, 1.2.3.4, 127.0.0.1", LOOPBACK) == "1.2.3.4"
    # Garbage in the part our proxies wrote: believe none of it.
    assert client_address("1.2.3.4, not-an-ip", LOOPBACK) is None


def test_sanitize_keeps_only_what_the_peer_may_say():
    headers = HTTPHeaders(
        {
            "X-Forwarded-For": "6.6.6.6, 1.2.3.4",
            "X-Real-Ip": "9.9.9.9",
            "X-Scheme": "https",
            "X-Forwarded-Proto": "https",
        }
    )
    sanitize(headers, "127.0.0.1", LOOPBACK)
    assert headers.get("X-Forwarded-For") == "1.2.3.4" and headers.get("X-Forwarded-Proto") == "https"
    assert "X-Real-Ip" not in headers and "X-Scheme" not in headers
    headers = HTTPHeaders({"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"})
    sanitize(headers, "192.0.2.10", LOOPBACK)
    assert "X-Forwarded-For" not in headers and "X-Forwarded-Proto" not in headers
    # A dual-stack socket reports an IPv4 proxy as ::ffff:127.0.0.1.
    headers = HTTPHeaders({"X-Forwarded-For": "1.2.3.4"})
    sanitize(headers, "::ffff:127.0.0.1", LOOPBACK)
    assert headers.get("X-Forwarded-For") == "1.2.3.4"
