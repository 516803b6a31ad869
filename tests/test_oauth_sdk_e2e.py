"""End to end with the official SDK: mcp.client.auth.OAuthClientProvider against the running server.

The provider discovers (401 from /mcp, RFC 9728 metadata, then RFC 8414), registers dynamically, "opens" the
authorization URL - our redirect handler fills the real sign-in form as a browser would and captures the code
from the 302 Location - exchanges the code, calls a tool, and later refreshes the expired access token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from app.auth.secrets import hash_credential
from app.db.tables import oauth_clients, oauth_tokens
from tests.helpers_http import CheckedAsyncClient
from tests.helpers_oauth import SDK_CALLBACK as CALLBACK
from tests.helpers_oauth import ConsentBrowser as Browser
from tests.helpers_oauth import MemoryStorage

pytestmark = pytest.mark.usefixtures("fresh_registration_budget")


async def _run(server_url: str, email: str, auth_method: str | None) -> dict[str, Any]:
    storage = MemoryStorage()
    browser = Browser(email)
    metadata: dict[str, Any] = {
        "client_name": "SDK e2e",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    }
    if auth_method:
        metadata["token_endpoint_auth_method"] = auth_method
    provider = OAuthClientProvider(
        server_url=f"{server_url}/mcp",
        client_metadata=OAuthClientMetadata(**metadata),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    async with CheckedAsyncClient(auth=provider) as http_client:
        async with Client(
            streamable_http_client(f"{server_url}/mcp", http_client=http_client), mode="legacy"
        ) as client:
            first = await client.list_tools()
        first_tokens = storage.tokens
        # Time passes: the access token is past its expiry, so the next request refreshes first.
        provider.context.token_expiry_time = time.time() - 10
        async with Client(
            streamable_http_client(f"{server_url}/mcp", http_client=http_client), mode="legacy"
        ) as client:
            second = await client.list_tools()
    return {
        "storage": storage,
        "browser": browser,
        "first": first,
        "second": second,
        "first_tokens": first_tokens,
        "provider": provider,
    }


@pytest.mark.parametrize("auth_method", [None, "none", "client_secret_post"])
def test_sdk_discovers_registers_signs_in_exchanges_and_refreshes(server, make_user, dbrun, settings, auth_method):
    user = make_user()
    out = asyncio.run(_run(server.url, user["email"], auth_method))
    storage, browser = out["storage"], out["browser"]

    # Discovery and registration: the SDK used our metadata and registered with the method it asked for.
    provider = out["provider"]
    assert str(provider.context.oauth_metadata.issuer) == settings.issuer
    assert str(provider.context.protected_resource_metadata.resource).rstrip("/") == f"{settings.public_url}/mcp"
    info = storage.client_info
    assert info is not None and info.client_id.startswith("slc_")
    assert info.token_endpoint_auth_method == (auth_method or "client_secret_basic")
    row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == info.client_id)))
    assert row["registration_source"] == "dynamic" and row["redirect_uris"] == [CALLBACK]

    # The real page was shown with the client's name and where it will send the browser.
    assert "SDK e2e" in browser.pages[0] and "localhost:3030" in browser.pages[0]
    assert browser.result.iss == settings.issuer

    # The tool call went through with the OAuth token.
    assert out["first"].tools and out["second"].tools

    # Refresh happened: a new pair, and the first refresh token is retired (rotated).
    first, latest = out["first_tokens"], storage.tokens
    assert len(storage.history) >= 2
    assert latest.access_token != first.access_token and latest.refresh_token != first.refresh_token
    retired = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(first.refresh_token))
        )
    )
    assert retired["rotated_at"] is not None and retired["revoked_at"] is None
    issued = dbrun(
        lambda db: db.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(latest.access_token))
        )
    )
    assert issued["audience"] == f"{settings.public_url}/mcp" and issued["user_id"] == user["id"]
