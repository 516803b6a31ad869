"""User accounts: create, look up, set passwords, enable and disable."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.auth.passwords import hash_password
from app.db import Database, Row
from app.db.tables import users

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user operation cannot be done; the message says why."""


def normalize_email(email: str) -> str:
    value = email.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise UserError(f"not a valid email address: {email!r}")
    return value.lower()


async def get_user_by_email(db: Database, email: str) -> Row | None:
    return await db.fetch_one(sa.select(users).where(sa.func.lower(users.c.email) == email.strip().lower()))


async def get_user(db: Database, user_id: int) -> Row | None:
    return await db.fetch_one(sa.select(users).where(users.c.id == user_id))


async def create_user(
    db: Database,
    email: str,
    *,
    password: str | None,
    is_admin: bool = False,
    rounds: int = 10,
    actor: str = "cli",
    actor_user_id: int | None = None,
) -> Row:
    """Add a user; raises UserError when the email is taken. Password None means no password sign-in."""
    email = normalize_email(email)
    password_hash = await hash_password(password, rounds) if password is not None else None
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            pg_insert(users)
            .values(email=email, password_hash=password_hash, is_admin=is_admin)
            .on_conflict_do_nothing()
            .returning(users)
        )
        if row is None:
            raise UserError(f"a user with email {email} already exists")
        await audit.record(conn, "user.create", actor=actor, actor_user_id=actor_user_id, target_type="user",
                           target_id=row["id"], details={"email": email, "is_admin": is_admin})
    return row


async def set_password(
    db: Database, email: str, password: str, *, rounds: int = 10, actor: str = "cli",
    actor_user_id: int | None = None,
) -> Row:
    """Set or reset a user's password; raises UserError when there is no such user."""
    password_hash = await hash_password(password, rounds)
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            users.update()
            .where(sa.func.lower(users.c.email) == email.strip().lower())
            .values(password_hash=password_hash, updated_at=sa.func.now())
            .returning(users)
        )
        if row is None:
            raise UserError(f"no user with email {email.strip()}")
        await audit.record(conn, "user.set_password", actor=actor, actor_user_id=actor_user_id,
                           target_type="user", target_id=row["id"], details={"email": row["email"]})
    return row


async def count_admins(db: Database) -> int:
    return int(await db.fetch_value(sa.select(sa.func.count()).select_from(users).where(users.c.is_admin)))
