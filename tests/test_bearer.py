"""Hybrid bearer authentication: tokens and API keys, the in-process cache and its cross-process invalidation."""

from __future__ import annotations

import asyncio
import select
import time

import psycopg2
import pytest
import sqlalchemy as sa

from app.audit import Actor
from app.auth import revocations
from app.auth.api_keys import create_api_key, revoke_api_key
from app.auth.bearer import BearerAuthenticator, BearerError, parse_authorization
from app.auth.secrets import hash_credential
from app.auth.users import set_user_disabled
from app.db import Database
from app.db.tables import api_keys, oauth_clients, oauth_grants, oauth_tokens, users
from tests.helpers_oauth import make_client, tokens_for


@pytest.fixture
def authenticator(server):
    auth = server.runtime.services.authenticator
    deadline = time.monotonic() + 5
    while not auth.listening.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert auth.listening.is_set(), "the revocation listener did not start"
    return auth


def _auth(server, authenticator, token):
    return server.call(authenticator.authenticate(token))


def _refused_within(server, authenticator, token, seconds=1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _auth(server, authenticator, token)
        except BearerError as exc:
            return exc
        time.sleep(0.02)
    pytest.fail(f"still accepted after {seconds}s")


def _notify(dbrun, send):
    """Commit one transaction in which `send(conn)` sends revocation notices."""

    async def go(db):
        async with db.transaction() as conn:
            await send(conn)

    dbrun(go)


def test_access_token_resolves_to_principal(http, dbrun, make_user, server, authenticator):
    user = make_user()
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])
    p = _auth(server, authenticator, tokens["access_token"])
    assert (p.kind, p.user_id, p.email, p.client_id) == ("oauth", user["id"], user["email"], client.client_id)
    assert p.identity == f"oauth:{user['id']}:{client.client_id}"
    with pytest.raises(BearerError):
        _auth(server, authenticator, tokens["refresh_token"])  # a refresh token is not a bearer credential
    with pytest.raises(BearerError):
        _auth(server, authenticator, "mcp_token_unknown")


def test_cache_serves_until_a_revocation_notice_arrives(http, dbrun, make_user, server, authenticator):
    user = make_user()
    tokens = tokens_for(http, make_client(dbrun), user["email"])
    token_hash = hash_credential(tokens["access_token"])
    _auth(server, authenticator, tokens["access_token"])
    # Revoked behind the cache's back (no NOTIFY): the cached principal is still served...
    dbrun(
        lambda db: db.execute(
            oauth_tokens.update().where(oauth_tokens.c.token_hash == token_hash).values(revoked_at=sa.func.now())
        )
    )
    assert _auth(server, authenticator, tokens["access_token"]).user_id == user["id"]
    # ...until the notice for that token reaches the listener.
    _notify(dbrun, lambda conn: revocations.notify_tokens(conn, [token_hash]))
    exc = _refused_within(server, authenticator, tokens["access_token"])
    assert exc.status == 401 and exc.error == "invalid_token"


def test_wildcard_notice_drops_everything(http, dbrun, make_user, server, authenticator):
    user = make_user()
    tokens = tokens_for(http, make_client(dbrun), user["email"])
    _auth(server, authenticator, tokens["access_token"])
    dbrun(lambda db: db.execute(users.update().where(users.c.id == user["id"]).values(disabled=True)))
    _notify(dbrun, revocations.notify_everything)
    _refused_within(server, authenticator, tokens["access_token"])


def test_api_key_accepted_then_revoked_everywhere_within_a_second(dbrun, make_user, server, authenticator):
    user = make_user()
    row, key = dbrun(lambda db: create_api_key(db, user["email"], "n8n", actor=Actor("test")))
    p = _auth(server, authenticator, key)
    assert (p.kind, p.user_id, p.credential_id, p.scopes) == ("api_key", user["id"], row["id"], frozenset({"mcp"}))
    dbrun(lambda db: revoke_api_key(db, row["id"], actor=Actor("test")))
    _refused_within(server, authenticator, key)


def test_disabling_a_user_drops_their_cached_api_keys_everywhere(dbrun, make_user, server, authenticator):
    user = make_user()
    _, key = dbrun(lambda db: create_api_key(db, user["email"], "cached", actor=Actor("test")))
    _auth(server, authenticator, key)
    dbrun(lambda db: set_user_disabled(db, user["id"], True, actor=Actor("test")))
    _refused_within(server, authenticator, key)


def test_every_notice_is_read_back_as_the_credentials_it_names(database_url, dbrun):
    """What each notify function sends on the channel, for real, parses back to what it was asked to name."""
    many = [f"hash-{i}" for i in range(revocations.NOTIFY_EACH_LIMIT + 1)]
    cases = [
        (lambda conn: revocations.notify_tokens(conn, ["t-1", "t-2"]), ["t-1", "t-2"]),
        (lambda conn: revocations.notify_api_keys(conn, ["k-1"]), ["k-1"]),
        (lambda conn: revocations.notify_api_keys(conn, []), []),
        (revocations.notify_everything, [None]),
        (lambda conn: revocations.notify_tokens(conn, many), [None]),  # too many to name one by one
    ]
    listener = psycopg2.connect(database_url)
    listener.autocommit = True
    try:
        with listener.cursor() as cur:
            cur.execute(f'LISTEN "{revocations.CHANNEL}"')
        for n, (send, named) in enumerate(cases):
            _notify(dbrun, send)
            marker = f"end-of-case-{n}"
            with listener.cursor() as cur:  # delivered after everything committed before it
                cur.execute("SELECT pg_notify(%s, %s)", (revocations.CHANNEL, marker))
            payloads = _payloads_until(listener, marker)
            assert [revocations.credential_named(p) for p in payloads] == named, n
    finally:
        listener.close()


def _payloads_until(conn, marker, timeout=5.0):
    payloads: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.poll()
        while conn.notifies:
            payload = conn.notifies.pop(0).payload
            if payload == marker:
                return payloads
            payloads.append(payload)
        select.select([conn], [], [], 0.2)
    pytest.fail(f"{marker} never arrived")


def test_a_notice_not_understood_means_everything():
    for payload in ("*", "", "token", "token:", "tokens:abc", "api-key:abc", "TOKEN:abc"):
        assert revocations.credential_named(payload) is None, payload
    assert revocations.credential_named("api_key:abc") == "abc"


def test_expired_token_refused(http, dbrun, make_user, server, authenticator):
    tokens = tokens_for(http, make_client(dbrun), make_user()["email"])
    dbrun(
        lambda db: db.execute(
            oauth_tokens.update()
            .where(oauth_tokens.c.token_hash == hash_credential(tokens["access_token"]))
            .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
        )
    )
    _notify(dbrun, revocations.notify_everything)
    _refused_within(server, authenticator, tokens["access_token"])


def test_last_use_recorded_in_batches(http, dbrun, make_user, server, authenticator):
    user = make_user()
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"])
    key_row, key = dbrun(lambda db: create_api_key(db, user["email"], "batch", actor=Actor("test")))
    server.call(authenticator.flush_usage())  # start from an empty batch
    for _ in range(5):
        _auth(server, authenticator, tokens["access_token"])
        _auth(server, authenticator, key)
    server.call(authenticator.flush_usage())
    token = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(tokens["access_token"]))
        )
    )
    grant = dbrun(lambda db: db.fetch_one(sa.select(oauth_grants).where(oauth_grants.c.id == token["grant_id"])))
    client_row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.id == client.pk)))
    key_used = dbrun(
        lambda db: db.fetch_value(sa.select(api_keys.c.last_used_at).where(api_keys.c.id == key_row["id"]))
    )
    assert token["last_used_at"] is not None and grant["last_used_at"] is not None
    assert client_row["last_used_at"] is not None and key_used is not None


def test_cache_is_bounded_and_requires_the_listener(database_url, settings, make_user):
    async def go():
        db = Database(database_url, maxsize=2)
        auth = BearerAuthenticator(db, settings.accepted_audiences)
        auth.CACHE_SIZE = 3
        keys = []
        user = await db.fetch_one(sa.select(users).limit(1))
        assert user is not None
        for i in range(5):
            keys.append((await create_api_key(db, user["email"], f"bound-{i}", actor=Actor("test")))[1])
        # Without the revocation feed nothing is cached.
        await auth.authenticate(keys[0])
        assert len(auth._cache) == 0
        await auth.start()
        for _ in range(100):
            if auth.listening.is_set():
                break
            await asyncio.sleep(0.05)
        for key in keys:
            await auth.authenticate(key)
        assert len(auth._cache) == 3
        await auth.stop()
        await db.close()

    make_user()
    asyncio.run(go())


def test_bearer_header_parsing():
    assert parse_authorization("Bearer abc.def") == "abc.def"
    for bad in (None, "", "Basic abc", "Bearer", "Bearer a b"):
        with pytest.raises(BearerError):
            parse_authorization(bad)


def test_token_in_query_string_is_refused(http, dbrun, make_user):
    tokens = tokens_for(http, make_client(dbrun), make_user()["email"])
    r = http.get("/api/tools", params={"access_token": tokens["access_token"]})
    assert r.status_code == 401
    assert "resource_metadata=" in r.headers["WWW-Authenticate"]
    assert http.get("/api/tools", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200


def test_lost_revocation_feed_stops_caching_until_it_is_back(http, dbrun, make_user, server, authenticator):
    tokens = tokens_for(http, make_client(dbrun), make_user()["email"])
    _auth(server, authenticator, tokens["access_token"])
    losses = authenticator.feed_losses
    # Kill the listener's connection the way a database restart or a network cut would.
    killed = dbrun(
        lambda db: db.fetch_value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'secondlayer-listen-secondlayer_revocations' AND datname = current_database()"
        )
    )
    assert killed >= 1
    deadline = time.monotonic() + 10
    while authenticator.feed_losses == losses and time.monotonic() < deadline:
        time.sleep(0.05)
    assert authenticator.feed_losses > losses, "the loss of the feed went unnoticed"
    deadline = time.monotonic() + 10
    while not authenticator.listening.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert authenticator.listening.is_set(), "the listener did not reconnect"
    # The cache was dropped on the loss: a revocation made without any notice is seen at once.
    token_hash = hash_credential(tokens["access_token"])
    dbrun(
        lambda db: db.execute(
            oauth_tokens.update().where(oauth_tokens.c.token_hash == token_hash).values(revoked_at=sa.func.now())
        )
    )
    with pytest.raises(BearerError):
        _auth(server, authenticator, tokens["access_token"])
