"""Security review: the OAuth endpoints under malformed and hostile input."""

from __future__ import annotations

import pytest

from tests.helpers_oauth import CLAUDE, authorize_params, pkce


def _register(http, body, ip):
    return http.post("/oauth/register", json=body, headers={"X-Forwarded-For": ip})


@pytest.mark.parametrize("response_types", [[["code"]], [{"code": 1}], [None], [1], "code"])
def test_registration_with_odd_response_types_is_a_400_not_a_crash(http, response_types):
    r = _register(http, {"redirect_uris": [CLAUDE], "response_types": response_types}, "198.18.200.1")
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_client_metadata"


def test_registration_drops_oversized_contacts(http):
    r = _register(
        http,
        {
            "redirect_uris": [CLAUDE],
            "token_endpoint_auth_method": "none",
            "contacts": ["ops@example.com", "x" * 100_000],
        },
        "198.18.200.2",
    )
    assert r.status_code == 201 and "contacts" not in r.json()
    r = _register(
        http,
        {"redirect_uris": [CLAUDE], "token_endpoint_auth_method": "none", "contacts": ["ops@example.com"]},
        "198.18.200.2",
    )
    assert r.status_code == 201 and r.json()["contacts"] == ["ops@example.com"]


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::10.0.0.1",
        "64:ff9b::127.0.0.1",
        "64:ff9b::169.254.169.254",  # NAT64 to private IPv4
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::1",  # 6to4 of 127.0.0.1 and 169.254.169.254
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::1",
        "::",
        "fd00::1",
        "fe80::1%eth0",
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse
    ],
)
def test_metadata_fetch_refuses_inward_addresses_in_every_form(address):
    from app.auth.public_fetch import address_allowed as _address_allowed

    assert _address_allowed(address, allow_private=False) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "64:ff9b::8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_metadata_fetch_allows_public_addresses(address):
    from app.auth.public_fetch import address_allowed as _address_allowed

    assert _address_allowed(address, allow_private=False) is True


@pytest.mark.parametrize("path", ["/oauth/register", "/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_deeply_nested_json_is_a_400_not_a_crash(http, path):
    body = "[" * 50_000 + "]" * 50_000
    r = http.post(path, content=body, headers={"Content-Type": "application/json", "X-Forwarded-For": "198.18.200.3"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_request", "invalid_client_metadata")


def test_new_metadata_document_clients_share_the_registration_rate_limit(http, dbrun, settings, docs):
    import secrets

    import sqlalchemy as sa

    from app.db.tables import oauth_clients, rate_limits

    ip = "198.18.201." + str(secrets.randbelow(200) + 1)
    known = docs.url(f"known-{secrets.token_hex(4)}.json")
    docs.publish(known.rsplit("/", 1)[1], {"client_id": known, "client_name": "Known", "redirect_uris": [CLAUDE]})

    def authorize(client_id: str, address: str):
        _, challenge = pkce()
        params = authorize_params(type("C", (), {"client_id": client_id, "redirect_uri": CLAUDE})(), challenge)
        return http.get("/oauth/authorize", params=params, headers={"X-Forwarded-For": address, "Accept": "text/html"})

    assert authorize(known, ip).status_code == 200  # registered (and cached) before the budget runs out
    dbrun(
        lambda db: db.execute(
            sa.update(rate_limits)
            .where(rate_limits.c.key == f"register:{ip}")
            .values(hits=settings.registration_rate_limit, window_started_at=sa.func.now())
        )
    )
    fresh = docs.url(f"fresh-{secrets.token_hex(4)}.json")
    path = fresh.rsplit("/", 1)[1]
    docs.publish(path, {"client_id": fresh, "client_name": "Fresh", "redirect_uris": [CLAUDE]})
    r = authorize(fresh, ip)
    assert r.status_code == 400 and "too many new clients" in r.text
    assert docs.hits.get(path, 0) == 0
    assert dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == fresh))) is None
    assert authorize(known, ip).status_code == 200  # clients already known are not registrations
    assert authorize(fresh, "198.18.202.1").status_code == 200  # another address has its own budget


def test_one_ipv6_slash_64_shares_one_registration_budget(http, dbrun, settings):
    """A host usually holds a whole /64: counting single IPv6 addresses would give it 2^64 budgets."""
    import secrets

    import sqlalchemy as sa

    from app.auth.rate_limit import address_key
    from app.db.tables import rate_limits

    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7" and address_key("192.0.2.7") == "192.0.2.7"
    prefix = f"2001:db8:{secrets.randbelow(9000) + 1}:7"
    dbrun(
        lambda db: db.execute(
            rate_limits.insert().values(
                key=f"register:{prefix}::/64", hits=settings.registration_rate_limit, window_started_at=sa.func.now()
            )
        )
    )
    body = {"redirect_uris": [CLAUDE], "client_name": "v6"}
    r = http.post("/oauth/register", json=body, headers={"X-Forwarded-For": f"{prefix}:{secrets.token_hex(2)}::5"})
    assert r.status_code == 429 and r.json()["error"] == "temporarily_unavailable"
    r = http.post("/oauth/register", json=body, headers={"X-Forwarded-For": f"2001:db8:99:{secrets.randbelow(999)}::5"})
    assert r.status_code == 201


@pytest.mark.parametrize("address", ["::ffff:0:10.0.0.1", "::ffff:0:127.0.0.1", "::ffff:0:169.254.169.254"])
def test_metadata_fetch_refuses_ipv4_translated_addresses(address):
    from app.auth.public_fetch import address_allowed

    assert not address_allowed(address, allow_private=False)


def test_a_deeply_nested_metadata_document_is_an_error_page_not_a_500(http, docs, dbrun):
    """7,000 levels fit in 14 KB, under the 16 KiB cap; parsing it once raised RecursionError."""
    import secrets

    from app.db.tables import rate_limits

    dbrun(lambda db: db.execute(rate_limits.delete().where(rate_limits.c.key.like("register:%"))))
    path = f"nested-{secrets.token_hex(4)}.json"
    url = docs.publish(path, b'{"client_id": ' + b"[" * 7000 + b"]" * 7000 + b"}")
    _, challenge = pkce()
    r = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": url,
            "redirect_uri": CLAUDE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 400 and "not valid JSON" in r.text
    assert http.get("/healthz").status_code == 200
