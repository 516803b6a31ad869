"""OAuth clients: registration (operator, dynamic, metadata document), secrets, rotation, disabling, deletion."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import audit
from app.audit import Actor
from app.auth import revocations
from app.auth.jwks import JwksError, signing_keys
from app.auth.public_fetch import PublicFetchError, check_public_url
from app.auth.redirects import RedirectURIError
from app.auth.redirects import validate_redirect_uri as _validate_redirect_uri
from app.auth.secrets import CLIENT_SECRET_PREFIX, credential_matches, hash_credential, new_credential
from app.db import Connection, Database, Row
from app.db.expressions import interval
from app.db.tables import oauth_client_secrets, oauth_clients, oauth_grants, oauth_tokens

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_REDIRECT_URIS = 20
MAX_NAME_LENGTH = 200
CLIENT_ID_PREFIX = "slc_"
PUBLIC_METHOD = "none"  # the auth method name of public clients, not a secret
KEY_METHOD = "private_key_jwt"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


class ClientError(ValueError):
    """The client operation cannot be done; the message is one line a person can act on.

    `field` names the register_client/update_client argument at fault, when one is, so a form can show the
    message next to it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def validate_redirect_uri(uri: str) -> str:
    """The URI (whitespace-stripped) if it may be registered, else ClientError saying why."""
    try:
        return _validate_redirect_uri(uri)
    except RedirectURIError as exc:
        raise ClientError(str(exc), "redirect_uris") from None


def validate_redirect_uris(uris: Any) -> list[str]:
    """A non-empty list of valid, distinct redirect URIs, in the order given."""
    if not isinstance(uris, list) or not uris:
        raise ClientError("at least one redirect URI is required", "redirect_uris")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ClientError(f"at most {MAX_REDIRECT_URIS} redirect URIs may be registered", "redirect_uris")
    cleaned: list[str] = []
    for uri in uris:
        value = validate_redirect_uri(uri)
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ClientError("the client needs a name", "name")
    value = " ".join(name.split())
    if len(value) > MAX_NAME_LENGTH:
        raise ClientError(f"the client name must be at most {MAX_NAME_LENGTH} characters", "name")
    return value


def validate_grant_types(grant_types: list[str] | None) -> list[str]:
    """A subset of the grants we support that includes authorization_code (the only way to start)."""
    if grant_types is None:
        return list(GRANT_TYPES)
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        raise ClientError("grant_types must be a list of strings")
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown:
        raise ClientError(f"unsupported grant types: {', '.join(unknown)}; supported: {', '.join(GRANT_TYPES)}")
    if "authorization_code" not in grant_types:
        raise ClientError("grant_types must include authorization_code")
    return [g for g in GRANT_TYPES if g in grant_types]


def validate_client_keys(
    method: str, jwks_uri: Any, jwks: Any, *, allow_loopback: bool = False
) -> tuple[str | None, dict[str, Any] | None]:
    """The (jwks_uri, jwks) a client registers: exactly one for private_key_jwt (RFC 7591 2: never both);
    none for other methods, which authenticate without keys."""
    if method != KEY_METHOD:
        return None, None
    if jwks_uri is not None and jwks is not None:
        raise ClientError("give jwks_uri or jwks, not both", "jwks")
    if jwks_uri is not None:
        try:
            check_public_url(jwks_uri, "jwks_uri", allow_loopback=allow_loopback)
        except PublicFetchError as exc:
            raise ClientError(str(exc), "jwks_uri") from None
        return jwks_uri, None
    if jwks is not None:
        try:
            return None, {"keys": signing_keys(jwks, strict=True)}
        except JwksError as exc:
            raise ClientError(f"jwks: {exc}", "jwks") from None
    raise ClientError("private_key_jwt needs the client's public keys: a jwks_uri or a jwks", "jwks_uri")


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(18)  # 24 URL-safe characters


async def register_client(
    db: Database,
    *,
    name: str,
    redirect_uris: list[str],
    token_endpoint_auth_method: str = "client_secret_basic",  # noqa: S107
    grant_types: list[str] | None = None,
    source: str = "operator",
    metadata: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
    jwks: dict[str, Any] | None = None,
    allow_loopback_jwks_uri: bool = False,
    actor: Actor,
) -> tuple[Row, str | None]:
    """Register a client; returns (row, secret in clear, or None for public and private_key_jwt clients).
    The secret is stored hashed."""
    name = validate_name(name)
    uris = validate_redirect_uris(redirect_uris)
    if token_endpoint_auth_method not in AUTH_METHODS:
        raise ClientError(
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}", "token_endpoint_auth_method"
        )
    jwks_uri, jwks = validate_client_keys(
        token_endpoint_auth_method, jwks_uri, jwks, allow_loopback=allow_loopback_jwks_uri
    )
    grants = validate_grant_types(grant_types)
    if source not in ("operator", "dynamic"):
        raise ClientError("clients are registered by an operator or dynamically")
    secret = new_credential(CLIENT_SECRET_PREFIX) if token_endpoint_auth_method in SECRET_METHODS else None
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            oauth_clients.insert()
            .values(
                client_id=new_client_id(),
                name=name,
                redirect_uris=uris,
                token_endpoint_auth_method=token_endpoint_auth_method,
                grant_types=grants,
                scope="mcp",
                registration_source=source,
                metadata=metadata or {},
                registered_ip=actor.ip,
                jwks_uri=jwks_uri,
                jwks=jwks,
            )
            .returning(oauth_clients)
        )
        assert row is not None
        if secret is not None:
            await conn.execute(
                oauth_client_secrets.insert().values(client_pk=row["id"], secret_hash=hash_credential(secret))
            )
        await audit.record(
            conn,
            "client.register",
            actor=actor,
            target_type="client",
            target_id=row["client_id"],
            details={
                "name": name,
                "source": source,
                "redirect_uris": uris,
                "token_endpoint_auth_method": token_endpoint_auth_method,
            },
        )
    return row, secret


async def get_client(db: Database | Connection, client_id: str) -> Row | None:
    return await db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == client_id))


async def list_clients(db: Database) -> list[Row]:
    """Every client with its count of active grants; newest first."""
    live = sa.and_(
        oauth_tokens.c.grant_id == oauth_grants.c.id,
        oauth_tokens.c.revoked_at.is_(None),
        oauth_tokens.c.expires_at > sa.func.now(),
    )
    active = (
        sa.select(sa.func.count())
        .select_from(oauth_grants)
        .where(
            oauth_grants.c.client_pk == oauth_clients.c.id, oauth_grants.c.revoked_at.is_(None), sa.exists().where(live)
        )
        .scalar_subquery()
    )
    return await db.fetch_all(
        sa.select(oauth_clients, active.label("active_grants")).order_by(
            oauth_clients.c.created_at.desc(), oauth_clients.c.id.desc()
        )
    )


async def _locked(conn: Connection, client_id: str) -> Row:
    row = await conn.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == client_id).with_for_update())
    if row is None:
        raise ClientError(f"no client with id {client_id}")
    return row


async def update_client(
    db: Database,
    client_id: str,
    *,
    name: str,
    redirect_uris: list[str],
    actor: Actor,
) -> Row:
    """Change a client's name and redirect URIs (not for metadata-document clients, whose document rules)."""
    name = validate_name(name)
    uris = validate_redirect_uris(redirect_uris)
    async with db.transaction() as conn:
        row = await _locked(conn, client_id)
        if row["registration_source"] == "metadata_document":
            raise ClientError("this client is described by its metadata document; change the document instead")
        updated = await conn.fetch_one(
            oauth_clients.update()
            .where(oauth_clients.c.id == row["id"])
            .values(name=name, redirect_uris=uris, updated_at=sa.func.now())
            .returning(oauth_clients)
        )
        assert updated is not None
        await audit.record(
            conn,
            "client.update",
            actor=actor,
            target_type="client",
            target_id=client_id,
            details={
                "name": name,
                "redirect_uris": uris,
                "previous_name": row["name"],
                "previous_redirect_uris": row["redirect_uris"],
            },
        )
    return updated


async def rotate_secret(
    db: Database,
    client_id: str,
    *,
    grace_seconds: int,
    actor: Actor,
) -> tuple[Row, str, datetime]:
    """A new secret for a confidential client; current secrets keep working for `grace_seconds` more."""
    if grace_seconds < 0:
        raise ClientError("the grace period cannot be negative")
    secret = new_credential(CLIENT_SECRET_PREFIX)
    async with db.transaction() as conn:
        row = await _locked(conn, client_id)
        if row["token_endpoint_auth_method"] == PUBLIC_METHOD:
            raise ClientError("this is a public client (token_endpoint_auth_method none); it has no secret")
        if row["token_endpoint_auth_method"] not in SECRET_METHODS:
            raise ClientError(
                f"this client authenticates with {row['token_endpoint_auth_method']} (its own keys); it has no secret"
            )
        valid_until = await conn.fetch_value(sa.select(sa.func.now() + interval(grace_seconds)))
        await conn.execute(
            oauth_client_secrets.update()
            .where(
                oauth_client_secrets.c.client_pk == row["id"],
                sa.or_(oauth_client_secrets.c.expires_at.is_(None), oauth_client_secrets.c.expires_at > valid_until),
            )
            .values(expires_at=valid_until)
        )
        await conn.execute(
            oauth_client_secrets.insert().values(client_pk=row["id"], secret_hash=hash_credential(secret))
        )
        await conn.execute(
            oauth_clients.update().where(oauth_clients.c.id == row["id"]).values(updated_at=sa.func.now())
        )
        await audit.record(
            conn,
            "client.rotate_secret",
            actor=actor,
            target_type="client",
            target_id=client_id,
            details={"old_secret_valid_until": valid_until.isoformat()},
        )
    return row, secret, valid_until


async def verify_client_secret(db: Database, client_pk: int, secret: str) -> bool:
    """True when `secret` is the client's current secret or one still inside its rotation grace period."""
    hashes = await db.fetch_all(
        sa.select(oauth_client_secrets.c.secret_hash).where(
            oauth_client_secrets.c.client_pk == client_pk,
            sa.or_(oauth_client_secrets.c.expires_at.is_(None), oauth_client_secrets.c.expires_at > sa.func.now()),
        )
    )
    # Compare against every candidate so the time taken does not depend on which one matched.
    results = [credential_matches(secret, row["secret_hash"]) for row in hashes]
    return any(results)


async def set_client_disabled(
    db: Database,
    client_id: str,
    disabled: bool,
    *,
    actor: Actor,
) -> Row:
    """Disable or re-enable a client; disabling revokes all its grants and their tokens."""
    from app.auth.grants import revoke_grants_where

    async with db.transaction() as conn:
        row = await _locked(conn, client_id)
        updated = await conn.fetch_one(
            oauth_clients.update()
            .where(oauth_clients.c.id == row["id"])
            .values(disabled=disabled, updated_at=sa.func.now())
            .returning(oauth_clients)
        )
        assert updated is not None
        revoked = 0
        if disabled:
            revoked = await revoke_grants_where(conn, oauth_grants.c.client_pk == row["id"], "client disabled")
            await revocations.notify_everything(conn)
        await audit.record(
            conn,
            "client.disable" if disabled else "client.enable",
            actor=actor,
            target_type="client",
            target_id=client_id,
            details={"grants_revoked": revoked},
        )
    return updated


async def delete_client(
    db: Database,
    client_id: str,
    *,
    actor: Actor,
) -> None:
    """Revoke the client's tokens (so caches drop them), then delete it with its codes, grants and secrets."""
    from app.auth.grants import revoke_grants_where

    async with db.transaction() as conn:
        row = await _locked(conn, client_id)
        revoked = await revoke_grants_where(conn, oauth_grants.c.client_pk == row["id"], "client deleted")
        await revocations.notify_everything(conn)
        await conn.execute(oauth_clients.delete().where(oauth_clients.c.id == row["id"]))
        await audit.record(
            conn,
            "client.delete",
            actor=actor,
            target_type="client",
            target_id=client_id,
            details={"name": row["name"], "grants_revoked": revoked},
        )
