"""Hybrid bearer authentication: an OAuth access token or an API key, resolved to a Principal."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.auth import revocations
from app.auth.secrets import ACCESS_TOKEN_PREFIX, API_KEY_PREFIX, hash_credential
from app.db import Database
from app.db.tables import api_keys, oauth_clients, oauth_grants, oauth_tokens, users

SCOPE_MCP = "mcp"

log = logging.getLogger(__name__)

_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$", re.IGNORECASE)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user acting through an OAuth client, or through one of their API keys."""

    kind: str  # "oauth" | "api_key"
    user_id: int
    email: str
    scopes: frozenset[str]
    client_id: str | None  # the OAuth client_id, for kind == "oauth"
    audience: str | None  # the resource an access token was issued for; None for API keys
    credential_id: int  # oauth_tokens.id or api_keys.id

    @property
    def identity(self) -> str:
        """Stable across token refreshes: what MCP sessions are bound to."""
        if self.kind == "oauth":
            return f"oauth:{self.user_id}:{self.client_id}"
        return f"api_key:{self.credential_id}"


class BearerError(Exception):
    """Authentication failed. `error` is the RFC 6750 code (None when no credential was presented)."""

    def __init__(self, status: int, error: str | None, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def parse_authorization(header: str | None) -> str:
    """The token from `Authorization: Bearer <token>`; BearerError(401) when absent or malformed."""
    if not header:
        raise BearerError(401, None, "Authentication required: send Authorization: Bearer <token or API key>")
    match = _BEARER.match(header.strip())
    if not match:
        raise BearerError(401, "invalid_request", "The Authorization header must be 'Bearer <token>'")
    return match.group(1)


@dataclass(frozen=True)
class Resolution:
    """A resolved credential with what the cache and usage recording need besides the Principal."""

    principal: Principal
    expires_at: datetime | None
    grant_id: int | None = None
    client_pk: int | None = None


async def resolve_credential(db: Database, token: str, audiences: tuple[str, ...]) -> Principal:
    """One indexed lookup by hash; refuses unknown, expired, revoked and wrong-audience credentials."""
    return (await lookup_credential(db, token, audiences)).principal


async def lookup_credential(db: Database, token: str, audiences: tuple[str, ...]) -> Resolution:
    if token.startswith(API_KEY_PREFIX):
        return await _resolve_api_key(db, token)
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return await _resolve_access_token(db, token, audiences)
    raise BearerError(401, "invalid_token", "The access token is not recognised")


async def _resolve_api_key(db: Database, key: str) -> Resolution:
    key_hash = hash_credential(key)
    row = await db.fetch_one(
        sa.select(
            api_keys.c.id,
            api_keys.c.user_id,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            users.c.email,
            users.c.disabled,
            (api_keys.c.expires_at < sa.func.now()).label("expired"),
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.key_hash == key_hash)
    )
    if row is None or row["revoked_at"] is not None or row["expired"] or row["disabled"]:
        raise BearerError(401, "invalid_token", "The API key is unknown, revoked or expired")
    principal = Principal("api_key", row["user_id"], row["email"], frozenset({SCOPE_MCP}), None, None, row["id"])
    return Resolution(principal, row["expires_at"])


async def _resolve_access_token(db: Database, token: str, audiences: tuple[str, ...]) -> Resolution:
    token_hash = hash_credential(token)
    row = await db.fetch_one(
        sa.select(
            oauth_tokens.c.id,
            oauth_tokens.c.user_id,
            oauth_tokens.c.scope,
            oauth_tokens.c.audience,
            oauth_tokens.c.revoked_at,
            oauth_tokens.c.expires_at,
            oauth_tokens.c.grant_id,
            oauth_tokens.c.client_pk,
            (oauth_tokens.c.expires_at <= sa.func.now()).label("expired"),
            oauth_grants.c.revoked_at.label("grant_revoked_at"),
            users.c.email,
            users.c.disabled,
            oauth_clients.c.client_id,
            oauth_clients.c.disabled.label("client_disabled"),
        )
        .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
        .join(users, users.c.id == oauth_tokens.c.user_id)
        .join(oauth_clients, oauth_clients.c.id == oauth_tokens.c.client_pk)
        .where(oauth_tokens.c.token_hash == token_hash, oauth_tokens.c.kind == "access")
    )
    if (
        row is None
        or row["revoked_at"] is not None
        or row["grant_revoked_at"] is not None
        or row["expired"]
        or row["disabled"]
        or row["client_disabled"]
    ):
        raise BearerError(401, "invalid_token", "The access token is unknown, expired or revoked")
    # A token bound to no resource would be good on every server sharing this database (another PUBLIC_URL):
    # every token is issued for one of ours, and older unbound ones are refused (the client refreshes).
    if row["audience"] is None or not audience_matches(row["audience"], audiences):
        raise BearerError(401, "invalid_token", "The access token was issued for another resource")
    principal = Principal(
        "oauth",
        row["user_id"],
        row["email"],
        frozenset(row["scope"].split()),
        row["client_id"],
        row["audience"],
        row["id"],
    )
    return Resolution(principal, row["expires_at"], row["grant_id"], row["client_pk"])


def audience_matches(audience: str, audiences: tuple[str, ...]) -> bool:
    """A token for any of this server's resource URLs is good on all of them (scheme/host case-insensitive)."""
    from app.auth.resources import canonical_resource

    wanted = canonical_resource(audience)
    return wanted is not None and wanted in {canonical_resource(a) for a in audiences}


class BearerAuthenticator:
    """Resolves bearer credentials for the server's protected endpoints, behind a small in-process cache.

    A miss is one indexed lookup by hash. Hits are kept for at most CACHE_TTL seconds (never past the
    credential's own expiry); every revocation sends a notice (app.auth.revocations) and `start()` listens for
    them, so a revoked credential stops working in every process within a second. Use is recorded in memory and written
    in batches (at most once per USAGE_FLUSH_SECONDS per credential), never on the request path.
    """

    CACHE_TTL = 30.0
    CACHE_SIZE = 10_000
    USAGE_FLUSH_SECONDS = 60.0

    def __init__(self, db: Database, audiences: tuple[str, ...]) -> None:
        self.db = db
        self.audiences = audiences
        self._cache: OrderedDict[str, tuple[float, Resolution]] = OrderedDict()
        self._used_tokens: set[int] = set()
        self._used_keys: set[int] = set()
        self._used_grants: set[int] = set()
        self._used_clients: set[int] = set()
        self._stop: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()
        self.feed_losses = 0

    async def authenticate(self, token: str) -> Principal:
        key = hash_credential(token)
        entry = self._cache.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            self._cache.move_to_end(key)
            resolution = entry[1]
        else:
            if entry is not None:
                self._cache.pop(key, None)
            resolution = await lookup_credential(self.db, token, self.audiences)
            self._remember(key, resolution, now)
        self._note_use(resolution)
        return resolution.principal

    def _remember(self, key: str, resolution: Resolution, now: float) -> None:
        if not self.listening.is_set():
            return  # without the revocation feed a cached entry could outlive its revocation
        ttl = self.CACHE_TTL
        if resolution.expires_at is not None:
            remaining = (resolution.expires_at - datetime.now(UTC)).total_seconds()
            ttl = min(ttl, remaining)
        if ttl <= 0:
            return
        self._cache[key] = (now + ttl, resolution)
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)

    def _note_use(self, resolution: Resolution) -> None:
        if resolution.principal.kind == "api_key":
            self._used_keys.add(resolution.principal.credential_id)
            return
        self._used_tokens.add(resolution.principal.credential_id)
        if resolution.grant_id is not None:
            self._used_grants.add(resolution.grant_id)
        if resolution.client_pk is not None:
            self._used_clients.add(resolution.client_pk)

    def forget(self, payload: str) -> None:
        """Drop what a revocation notice names: one credential, or everything."""
        credential_hash = revocations.credential_named(payload)
        if credential_hash is None:
            self._cache.clear()
        else:
            self._cache.pop(credential_hash, None)

    def _on_listening(self) -> None:
        # Notices sent while the feed was down are lost: start from an empty cache.
        self._cache.clear()
        self.listening.set()

    def _on_lost(self) -> None:
        # Revocations sent while disconnected would be missed: stop caching until the feed is back.
        self.feed_losses += 1
        self.listening.clear()
        self._cache.clear()

    async def flush_usage(self) -> None:
        """Write last_used_at for every credential used since the last flush, one statement per table."""
        batches = [
            (oauth_tokens, self._used_tokens),
            (api_keys, self._used_keys),
            (oauth_grants, self._used_grants),
            (oauth_clients, self._used_clients),
        ]
        self._used_tokens, self._used_keys, self._used_grants, self._used_clients = set(), set(), set(), set()
        for table, ids in batches:
            if ids:
                await self.db.execute(
                    table.update().where(table.c.id.in_(sorted(ids))).values(last_used_at=sa.func.now())
                )

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.USAGE_FLUSH_SECONDS)
            except TimeoutError:
                pass
            try:
                await self.flush_usage()
            except Exception as exc:  # noqa: BLE001 - stamps are best effort: a failed batch is dropped
                log.warning("recording credential use failed: %s", type(exc).__name__)

    async def start(self) -> None:
        """Listen for revocations and start the periodic usage flush."""
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.ensure_future(
                self.db.listen(
                    revocations.CHANNEL, self.forget, self._stop, on_listening=self._on_listening, on_lost=self._on_lost
                )
            ),
            asyncio.ensure_future(self._flush_loop(self._stop)),
        ]

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        self._tasks = []
        self.listening.clear()
        self._cache.clear()
        try:
            await self.flush_usage()
        except Exception as exc:  # noqa: BLE001 - shutdown goes on; the stamps are best effort
            log.warning("recording credential use at shutdown failed: %s", type(exc).__name__)
