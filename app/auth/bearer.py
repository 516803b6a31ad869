"""Hybrid bearer authentication: an OAuth access token or an API key, resolved to a Principal."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from app.auth.secrets import ACCESS_TOKEN_PREFIX, API_KEY_PREFIX, hash_credential
from app.db import Database
from app.db.tables import api_keys, oauth_clients, oauth_grants, oauth_tokens, users

SCOPE_MCP = "mcp"

_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$", re.IGNORECASE)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user acting through an OAuth client, or through one of their API keys."""

    kind: str  # "oauth" | "api_key"
    user_id: int
    email: str
    scopes: frozenset[str]
    client_id: str | None  # the OAuth client_id, for kind == "oauth"
    audience: str | None  # the resource the token was issued for; None: any of ours
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


async def resolve_credential(db: Database, token: str, audiences: tuple[str, ...]) -> Principal:
    """One indexed lookup by hash; refuses unknown, expired, revoked and wrong-audience credentials."""
    if token.startswith(API_KEY_PREFIX):
        return await _resolve_api_key(db, token)
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return await _resolve_access_token(db, token, audiences)
    raise BearerError(401, "invalid_token", "The access token is not recognised")


async def _resolve_api_key(db: Database, key: str) -> Principal:
    row = await db.fetch_one(
        sa.select(api_keys.c.id, api_keys.c.user_id, api_keys.c.expires_at, api_keys.c.revoked_at,
                  users.c.email, users.c.disabled,
                  (api_keys.c.expires_at < sa.func.now()).label("expired"))
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.key_hash == hash_credential(key))
    )
    if row is None or row["revoked_at"] is not None or row["expired"] or row["disabled"]:
        raise BearerError(401, "invalid_token", "The API key is unknown, revoked or expired")
    return Principal("api_key", row["user_id"], row["email"], frozenset({SCOPE_MCP}), None, None, row["id"])


async def _resolve_access_token(db: Database, token: str, audiences: tuple[str, ...]) -> Principal:
    row = await db.fetch_one(
        sa.select(oauth_tokens.c.id, oauth_tokens.c.user_id, oauth_tokens.c.scope, oauth_tokens.c.audience,
                  oauth_tokens.c.revoked_at, (oauth_tokens.c.expires_at <= sa.func.now()).label("expired"),
                  oauth_grants.c.revoked_at.label("grant_revoked_at"), users.c.email, users.c.disabled,
                  oauth_clients.c.client_id, oauth_clients.c.disabled.label("client_disabled"))
        .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
        .join(users, users.c.id == oauth_tokens.c.user_id)
        .join(oauth_clients, oauth_clients.c.id == oauth_tokens.c.client_pk)
        .where(oauth_tokens.c.token_hash == hash_credential(token), oauth_tokens.c.kind == "access")
    )
    if (row is None or row["revoked_at"] is not None or row["grant_revoked_at"] is not None or row["expired"]
            or row["disabled"] or row["client_disabled"]):
        raise BearerError(401, "invalid_token", "The access token is unknown, expired or revoked")
    if row["audience"] is not None and not audience_matches(row["audience"], audiences):
        raise BearerError(401, "invalid_token", "The access token was issued for another resource")
    return Principal("oauth", row["user_id"], row["email"], frozenset(row["scope"].split()), row["client_id"],
                     row["audience"], row["id"])


def audience_matches(audience: str, audiences: tuple[str, ...]) -> bool:
    """A token for any of this server's resource URLs is good on all of them (scheme/host case-insensitive)."""
    from app.auth.resources import canonical_resource

    wanted = canonical_resource(audience)
    return wanted is not None and wanted in {canonical_resource(a) for a in audiences}


class BearerAuthenticator:
    """Resolves bearer credentials for the server's protected endpoints.

    Every lookup goes to the database by hash (one indexed query). A per-process cache with revocation
    broadcast over LISTEN/NOTIFY can sit here without changing callers.
    """

    def __init__(self, db: Database, audiences: tuple[str, ...]) -> None:
        self.db = db
        self.audiences = audiences

    async def authenticate(self, token: str) -> Principal:
        return await resolve_credential(self.db, token, self.audiences)
