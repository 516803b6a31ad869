"""Client ID metadata documents: a client_id that is an https URL names a JSON document describing the client.

The document is fetched by app.auth.public_fetch (short timeout, size limit, no redirects, public addresses
only) and cached in oauth_clients with an expiry. Its client authenticates with none or, as ChatGPT does, with
private_key_jwt and the keys its document names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.audit import Actor
from app.auth.clients import (
    KEY_METHOD,
    PUBLIC_METHOD,
    ClientError,
    validate_client_keys,
    validate_grant_types,
    validate_name,
    validate_redirect_uris,
)
from app.auth.jwks import ALLOWED_ALGORITHMS
from app.auth.public_fetch import PublicFetchError, check_public_url, fetch_public_json
from app.auth.rate_limit import registration_allowed
from app.auth.redirects import is_web_url
from app.config import Settings
from app.db import Database, Row
from app.db.expressions import interval
from app.db.tables import oauth_clients

MAX_DOCUMENT_BYTES = 16 * 1024


class ClientMetadataError(Exception):
    """The metadata document could not be used; the message says why, in one line."""


def is_metadata_client_id(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def check_client_id_url(client_id: str, settings: Settings) -> None:
    """The URL rules for a metadata-document client_id: https, a path, no fragment, credentials or dot segments."""
    try:
        check_public_url(client_id, "client_id", allow_loopback=settings.client_metadata_allow_loopback, need_path=True)
    except PublicFetchError as exc:
        raise ClientMetadataError(str(exc)) from None


async def fetch_document(client_id: str, settings: Settings) -> tuple[dict[str, Any], int]:
    """The parsed document and how many seconds to cache it; ClientMetadataError on any failure."""
    check_client_id_url(client_id, settings)
    try:
        return await fetch_public_json(
            client_id, settings, what="client metadata document", max_bytes=MAX_DOCUMENT_BYTES
        )
    except PublicFetchError as exc:
        raise ClientMetadataError(str(exc)) from None


def _key_fields(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """token_endpoint_auth_method, jwks_uri and jwks for the document's client.

    The document is public, so it can never carry a shared secret; it may name keys for private_key_jwt (as
    ChatGPT's does). The declared method is the least the client must show at the token endpoint; a document
    that declares none but also offers private_key_jwt with keys may authenticate with either.
    """
    declared = document.get("token_endpoint_auth_method", PUBLIC_METHOD)
    if declared not in (PUBLIC_METHOD, KEY_METHOD):
        raise ClientMetadataError(
            "metadata-document clients must use token_endpoint_auth_method none or "
            "private_key_jwt (a published document cannot hold a secret)"
        )
    offered = document.get("token_endpoint_auth_methods_supported")
    wants_keys = declared == KEY_METHOD or (isinstance(offered, list) and KEY_METHOD in offered)
    alg = document.get("token_endpoint_auth_signing_alg")
    if wants_keys and alg is not None and alg not in ALLOWED_ALGORITHMS:
        raise ClientMetadataError(
            f"token_endpoint_auth_signing_alg {alg!r} is not accepted; use one of {', '.join(ALLOWED_ALGORITHMS)}"
        )
    if not wants_keys:
        return {"token_endpoint_auth_method": declared, "jwks_uri": None, "jwks": None}
    try:
        jwks_uri, jwks = validate_client_keys(
            KEY_METHOD,
            document.get("jwks_uri"),
            document.get("jwks"),
            allow_loopback=settings.client_metadata_allow_loopback,
        )
    except ClientError as exc:
        if declared == KEY_METHOD:
            raise ClientMetadataError(
                f"the document declares private_key_jwt but its keys cannot be used: {exc}"
            ) from None
        return {"token_endpoint_auth_method": declared, "jwks_uri": None, "jwks": None}
    return {"token_endpoint_auth_method": declared, "jwks_uri": jwks_uri, "jwks": jwks}


def client_fields(client_id: str, document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The oauth_clients columns the document describes; ClientMetadataError when it breaks the rules."""
    if document.get("client_id") != client_id:
        raise ClientMetadataError("the document's client_id does not equal its URL")
    keys = _key_fields(document, settings)
    try:
        uris = validate_redirect_uris(document.get("redirect_uris"))
        grant_types = validate_grant_types(document.get("grant_types"))
        name = validate_name(document.get("client_name") or urlsplit(client_id).hostname)
    except ClientError as exc:
        raise ClientMetadataError(f"the client metadata document is not acceptable: {exc}") from None
    # Links the document gives are kept only when they are web URLs (never javascript: and the like).
    kept = {k: document[k] for k in ("client_uri", "logo_uri") if is_web_url(document.get(k))}
    kept.update(
        {
            k: document[k]
            for k in ("software_id", "software_version")
            if isinstance(document.get(k), str) and len(document[k]) <= 200
        }
    )
    return {"name": name, "redirect_uris": uris, "grant_types": grant_types, "metadata": kept, **keys}


async def resolve_metadata_client(
    db: Database, settings: Settings, client_id: str, *, fresh: bool, ip: str | None = None
) -> Row:
    """The client row for a URL client_id, fetching the document when missing or (if `fresh`) expired."""
    check_client_id_url(client_id, settings)
    cached = await db.fetch_one(
        sa.select(oauth_clients, (oauth_clients.c.metadata_expires_at > sa.func.now()).label("current")).where(
            oauth_clients.c.client_id == client_id
        )
    )
    if cached is not None and cached["registration_source"] != "metadata_document":
        raise ClientMetadataError("this client_id is registered by other means")
    if cached is not None and (cached["current"] or not fresh):
        cached.pop("current", None)
        return cached
    if cached is None:
        # A new URL is a new registration: the same per-IP budget as dynamic registration, or anyone could add
        # clients without limit (and have us fetch any number of URLs) by varying the path.
        wait = await registration_allowed(db, ip, settings.registration_rate_limit)
        if wait:
            raise ClientMetadataError(f"too many new clients from this address; retry in {wait} seconds")
    document, seconds = await fetch_document(client_id, settings)
    fields = client_fields(client_id, document, settings)
    expires = sa.func.now() + interval(seconds)
    async with db.transaction() as conn:
        stmt = pg_insert(oauth_clients).values(
            client_id=client_id,
            scope="mcp",
            registration_source="metadata_document",
            metadata_expires_at=expires,
            registered_ip=ip,
            **fields,
        )
        row = await conn.fetch_one(
            stmt.on_conflict_do_update(
                index_elements=[oauth_clients.c.client_id],
                set_={**fields, "metadata_expires_at": expires, "updated_at": sa.func.now()},
            ).returning(oauth_clients)
        )
        assert row is not None
        watched = ("redirect_uris", "token_endpoint_auth_method", "jwks_uri", "jwks")
        if cached is None or any(cached[k] != row[k] for k in watched):
            await audit.record(
                conn,
                "client.register" if cached is None else "client.update",
                actor=Actor("anonymous", ip=ip),
                target_type="client",
                target_id=client_id,
                details={
                    "name": row["name"],
                    "source": "metadata_document",
                    "redirect_uris": row["redirect_uris"],
                    "token_endpoint_auth_method": row["token_endpoint_auth_method"],
                    "jwks_uri": row["jwks_uri"],
                    "jwks": row["jwks"] is not None,
                },
            )
    return row
