"""Bearer credentials for the MCP and REST tests: real API keys and real OAuth rows (client, grant, token).

`access_token()` writes the rows the token endpoint would write, so a test can ask for shapes the flow never
issues (another audience, a scope without mcp, already expired or revoked). `oauth_flow_token()` gets one
through the real /oauth/authorize + /oauth/token flow.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx2
import sqlalchemy as sa

from app.audit import Actor
from app.auth.api_keys import create_api_key
from app.auth.bearer import Principal
from app.auth.secrets import ACCESS_TOKEN_PREFIX, hash_credential, new_credential
from app.db import Database
from app.db.tables import oauth_clients, oauth_grants, oauth_tokens
from tests.helpers_oauth import make_client, tokens_for
from tests.helpers_server import DBRun, ServerThread


def api_key(dbrun: DBRun, user: dict[str, Any], name: str = "tests") -> str:
    """A fresh API key (sl_...) for `user`, made the way `create-api-key` makes it."""
    _, key = dbrun(lambda db: create_api_key(db, user["email"], name, actor=Actor("test")))
    return key


def access_token(
    dbrun: DBRun,
    user: dict[str, Any],
    *,
    audience: str | None,
    scope: str = "mcp",
    expires_in: int = 3600,
    revoked: bool = False,
    client_id: str | None = None,
) -> str:
    """An access token row (with its client and grant) for `user`; returns the token in clear."""
    token = new_credential(ACCESS_TOKEN_PREFIX)
    client_id = client_id or "test-" + secrets.token_hex(6)

    async def go(db: Database) -> None:
        async with db.transaction() as conn:
            client_pk = await conn.fetch_value(
                sa.select(oauth_clients.c.id).where(oauth_clients.c.client_id == client_id)
            )
            if client_pk is None:
                client_pk = await conn.fetch_value(
                    oauth_clients.insert()
                    .values(
                        client_id=client_id,
                        name="Test client",
                        redirect_uris=["https://chatgpt.com/cb"],
                        token_endpoint_auth_method="none",
                        grant_types=["authorization_code", "refresh_token"],
                        registration_source="operator",
                    )
                    .returning(oauth_clients.c.id)
                )
            grant_id = await conn.fetch_value(
                oauth_grants.insert()
                .values(user_id=user["id"], client_pk=client_pk, scope=scope, resource=audience)
                .returning(oauth_grants.c.id)
            )
            await conn.execute(
                oauth_tokens.insert().values(
                    token_hash=hash_credential(token),
                    kind="access",
                    grant_id=grant_id,
                    client_pk=client_pk,
                    user_id=user["id"],
                    scope=scope,
                    audience=audience,
                    expires_at=sa.func.now() + sa.text(f"interval '{int(expires_in)} seconds'"),
                    revoked_at=sa.func.now() if revoked else None,
                )
            )

    dbrun(go)
    return token


def oauth_flow_token(http: httpx2.Client, dbrun: DBRun, user: dict[str, Any], resource: str) -> str:
    """An access token from our own OAuth flow: sign-in and consent, code, PKCE exchange at /oauth/token."""
    client = make_client(dbrun)
    tokens = tokens_for(http, client, user["email"], resource=resource)
    assert tokens["access_token"].startswith(ACCESS_TOKEN_PREFIX)
    return tokens["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authenticate(server: ServerThread, token: str) -> Principal:
    """What the server's bearer check makes of `token` (its cache included), run on the server's own loop."""
    return server.call(server.runtime.services.authenticator.authenticate(token))
