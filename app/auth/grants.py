"""Grants: a user's consent to one client, holding that client's tokens; listing and revoking them."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.audit import Actor
from app.auth import revocations
from app.db import Connection, Database, Row
from app.db.tables import oauth_clients, oauth_grants, oauth_tokens, users


def _live_tokens() -> sa.ColumnElement[bool]:
    return sa.and_(
        oauth_tokens.c.grant_id == oauth_grants.c.id,
        oauth_tokens.c.revoked_at.is_(None),
        oauth_tokens.c.expires_at > sa.func.now(),
    )


async def list_grants(
    db: Database, *, user_id: int | None = None, client_pk: int | None = None, active_only: bool = True
) -> list[Row]:
    """Grants with their user and client; active ones are unrevoked with at least one live token."""
    latest = sa.select(sa.func.max(oauth_tokens.c.expires_at)).where(_live_tokens()).scalar_subquery()
    stmt = (
        sa.select(
            oauth_grants.c.id,
            oauth_grants.c.user_id,
            users.c.email,
            oauth_grants.c.client_pk,
            oauth_clients.c.client_id,
            oauth_clients.c.name.label("client_name"),
            oauth_grants.c.scope,
            oauth_grants.c.resource,
            oauth_grants.c.created_at,
            oauth_grants.c.last_used_at,
            latest.label("expires_at"),
            oauth_grants.c.revoked_at,
            oauth_grants.c.revoked_reason,
        )
        .join(users, users.c.id == oauth_grants.c.user_id)
        .join(oauth_clients, oauth_clients.c.id == oauth_grants.c.client_pk)
        .order_by(oauth_grants.c.created_at.desc(), oauth_grants.c.id.desc())
    )
    if user_id is not None:
        stmt = stmt.where(oauth_grants.c.user_id == user_id)
    if client_pk is not None:
        stmt = stmt.where(oauth_grants.c.client_pk == client_pk)
    if active_only:
        stmt = stmt.where(oauth_grants.c.revoked_at.is_(None), sa.exists().where(_live_tokens()))
    return await db.fetch_all(stmt)


async def revoke_grants_where(conn: Connection, condition: sa.ColumnElement[bool], reason: str) -> int:
    """Inside a transaction: revoke matching unrevoked grants and all their tokens; returns the grant count."""
    grant_ids = [
        r["id"]
        for r in await conn.fetch_all(
            oauth_grants.update()
            .where(condition, oauth_grants.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now(), revoked_reason=reason[:200])
            .returning(oauth_grants.c.id)
        )
    ]
    if not grant_ids:
        return 0
    hashes = [
        r["token_hash"]
        for r in await conn.fetch_all(
            oauth_tokens.update()
            .where(oauth_tokens.c.grant_id.in_(grant_ids), oauth_tokens.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now())
            .returning(oauth_tokens.c.token_hash)
        )
    ]
    await revocations.notify_tokens(conn, hashes)
    return len(grant_ids)


async def revoke_grant(db: Database, grant_id: int, *, reason: str, actor: Actor) -> bool:
    """Revoke one grant and its tokens; False when it was already revoked or does not exist."""
    async with db.transaction() as conn:
        done = await revoke_grants_where(conn, oauth_grants.c.id == grant_id, reason)
        if done:
            await audit.record(
                conn, "grant.revoke", actor=actor, target_type="grant", target_id=grant_id, details={"reason": reason}
            )
    return bool(done)


async def revoke_grants(
    db: Database, *, user_id: int | None = None, client_pk: int | None = None, reason: str, actor: Actor
) -> int:
    """Revoke every grant of a user and/or a client; returns how many were revoked."""
    if user_id is None and client_pk is None:
        raise ValueError("name a user or a client whose grants to revoke")
    conditions = []
    if user_id is not None:
        conditions.append(oauth_grants.c.user_id == user_id)
    if client_pk is not None:
        conditions.append(oauth_grants.c.client_pk == client_pk)
    async with db.transaction() as conn:
        count = await revoke_grants_where(conn, sa.and_(*conditions), reason)
        if count:
            # A client is named in the audit log by its client_id (client:slc_...), as everywhere else.
            target: str | int | None = user_id
            if user_id is None:
                target = await conn.fetch_value(
                    sa.select(oauth_clients.c.client_id).where(oauth_clients.c.id == client_pk)
                )
            await audit.record(
                conn,
                "grant.revoke_all",
                actor=actor,
                target_type="user" if user_id is not None else "client",
                target_id=target,
                details={"reason": reason, "grants_revoked": count, "client_pk": client_pk},
            )
    return count
