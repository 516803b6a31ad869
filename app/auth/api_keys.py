"""API keys (`sl_...`): created for a user, shown once, stored as a hash, revocable."""

from __future__ import annotations

import sqlalchemy as sa

from app import audit
from app.audit import CLI, Actor
from app.auth import revocations
from app.auth.secrets import API_KEY_PREFIX, hash_credential, new_credential
from app.auth.users import UserError, get_user_by_email
from app.db import Database, Row
from app.db.tables import api_keys, users

DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8


class ApiKeyError(ValueError):
    """The API key operation cannot be done; the message says why."""


async def create_api_key(
    db: Database,
    email: str,
    name: str,
    *,
    actor: Actor = CLI,
) -> tuple[Row, str]:
    """Create a key for the user; returns (row, the key in clear) - the only time the clear key exists."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError("the key needs a name of 1 to 100 characters")
    user = await get_user_by_email(db, email)
    if user is None:
        raise UserError(f"no user with email {email.strip()}")
    key = new_credential(API_KEY_PREFIX)
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            api_keys.insert()
            .values(user_id=user["id"], name=name, prefix=key[:DISPLAY_PREFIX_LENGTH], key_hash=hash_credential(key))
            .returning(api_keys)
        )
        assert row is not None
        await audit.record(
            conn,
            "api_key.create",
            actor=actor,
            target_type="api_key",
            target_id=row["id"],
            details={"user": user["email"], "name": name, "prefix": row["prefix"]},
        )
    return row, key


async def revoke_api_key(
    db: Database,
    key_id: int,
    *,
    actor: Actor = CLI,
) -> Row:
    async with db.transaction() as conn:
        row = await conn.fetch_one(sa.select(api_keys).where(api_keys.c.id == key_id).with_for_update())
        if row is None:
            raise ApiKeyError(f"no API key with id {key_id}")
        if row["revoked_at"] is None:
            row = await conn.fetch_one(
                api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=sa.func.now()).returning(api_keys)
            )
            assert row is not None
            await audit.record(
                conn,
                "api_key.revoke",
                actor=actor,
                target_type="api_key",
                target_id=key_id,
                details={"prefix": row["prefix"]},
            )
            await revocations.notify_api_keys(conn, [row["key_hash"]])
    return row


async def get_api_key(db: Database, key_id: int) -> Row | None:
    return await db.fetch_one(sa.select(api_keys).where(api_keys.c.id == key_id))


async def list_api_keys(db: Database, user_id: int | None = None) -> list[Row]:
    """Keys newest first, each with its user's email and whether that user is disabled (which stops the key)."""
    stmt = (
        sa.select(api_keys, users.c.email, users.c.disabled.label("user_disabled"))
        .join(users, users.c.id == api_keys.c.user_id)
        .order_by(api_keys.c.created_at.desc())
    )
    if user_id is not None:
        stmt = stmt.where(api_keys.c.user_id == user_id)
    return await db.fetch_all(stmt)
