"""User accounts: create, look up, set passwords, enable and disable."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.audit import CLI, Actor
from app.auth import revocations
from app.auth.passwords import hash_password
from app.db import Connection, Database, Row
from app.db.expressions import LIKE_ESCAPE, contains_pattern
from app.db.tables import users, web_sessions

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user operation cannot be done; the message says why."""


def email_key(email: str) -> str:
    """An email as accounts are stored, matched and throttled by: no surrounding whitespace, lower case."""
    return email.strip().lower()


def normalize_email(email: str) -> str:
    """`email_key(email)` when it looks like an address, else UserError."""
    value = email.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise UserError(f"not a valid email address: {email!r}")
    return email_key(value)


def _has_email(email: str) -> sa.ColumnElement[bool]:
    # Emails are unique regardless of case (uq_users_email_lower).
    return sa.func.lower(users.c.email) == email_key(email)


async def get_user_by_email(db: Database, email: str) -> Row | None:
    return await db.fetch_one(sa.select(users).where(_has_email(email)))


async def get_user(db: Database, user_id: int) -> Row | None:
    return await db.fetch_one(sa.select(users).where(users.c.id == user_id))


async def create_user(
    db: Database,
    email: str,
    *,
    password: str | None,
    is_admin: bool = False,
    rounds: int = 10,
    actor: Actor = CLI,
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
        await audit.record(
            conn,
            "user.create",
            actor=actor,
            target_type="user",
            target_id=row["id"],
            details={"email": email, "is_admin": is_admin},
        )
    return row


async def set_password(
    db: Database,
    email: str,
    password: str,
    *,
    rounds: int = 10,
    actor: Actor = CLI,
) -> Row:
    """Set or reset a user's password and end their browser sessions; UserError when there is no such user."""
    password_hash = await hash_password(password, rounds)
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            users.update()
            .where(_has_email(email))
            .values(password_hash=password_hash, updated_at=sa.func.now())
            .returning(users)
        )
        if row is None:
            raise UserError(f"no user with email {email.strip()}")
        # Whoever signed in with the old password must sign in again.
        await conn.execute(web_sessions.delete().where(web_sessions.c.user_id == row["id"]))
        await audit.record(
            conn,
            "user.set_password",
            actor=actor,
            target_type="user",
            target_id=row["id"],
            details={"email": row["email"]},
        )
    return row


async def count_admins(db: Database) -> int:
    return int(await db.fetch_value(sa.select(sa.func.count()).select_from(users).where(users.c.is_admin)))


# ---- listing, disabling and operator rights (operator console) -----------------------------------


def _search_filter(search: str | None) -> sa.ColumnElement[bool]:
    if not search:
        return sa.true()
    # A search for "a_b" finds that text, not a pattern.
    return sa.func.lower(users.c.email).like(contains_pattern(email_key(search)), escape=LIKE_ESCAPE)


async def list_users(db: Database, *, search: str | None = None, limit: int = 50, offset: int = 0) -> list[Row]:
    """Users ordered by email (those whose email contains `search`), with live API key and grant counts."""
    from app.db.tables import api_keys, oauth_grants

    live_keys = (
        sa.select(sa.func.count())
        .select_from(api_keys)
        .where(
            api_keys.c.user_id == users.c.id,
            api_keys.c.revoked_at.is_(None),
            sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > sa.func.now()),
        )
        .scalar_subquery()
    )
    live_grants = (
        sa.select(sa.func.count())
        .select_from(oauth_grants)
        .where(oauth_grants.c.user_id == users.c.id, oauth_grants.c.revoked_at.is_(None))
        .scalar_subquery()
    )
    return await db.fetch_all(
        sa.select(
            users.c.id,
            users.c.email,
            users.c.is_admin,
            users.c.disabled,
            users.c.created_at,
            users.c.last_login_at,
            users.c.password_hash.isnot(None).label("has_password"),
            live_keys.label("api_keys"),
            live_grants.label("active_grants"),
        )
        .where(_search_filter(search))
        .order_by(sa.func.lower(users.c.email))
        .limit(limit)
        .offset(offset)
    )


async def count_users(db: Database, *, search: str | None = None) -> int:
    return int(await db.fetch_value(sa.select(sa.func.count()).select_from(users).where(_search_filter(search))))


async def _lock_for_change(conn: Connection, user_id: int) -> tuple[Row, list[int]]:
    """Lock the enabled operators (in id order, so concurrent changes cannot deadlock), then the user."""
    operators = await conn.fetch_all(
        sa.select(users.c.id)
        .where(users.c.is_admin, users.c.disabled.is_(False))
        .order_by(users.c.id)
        .with_for_update()
    )
    row = await conn.fetch_one(sa.select(users).where(users.c.id == user_id).with_for_update())
    if row is None:
        raise UserError(f"no user with id {user_id}")
    return row, [r["id"] for r in operators]


LAST_OPERATOR_DISABLE = "The last operator cannot be disabled; make another user an operator first"
LAST_OPERATOR_DEMOTE = "The last operator cannot lose operator rights; make another user an operator first"


async def is_last_operator(db: Database, user_id: int) -> bool:
    """Whether the user is the only enabled operator, whom `set_user_disabled` and `set_admin` keep (so that a
    confirmation page can say so before the change is refused)."""
    rows = await db.fetch_all(sa.select(users.c.id).where(users.c.is_admin, users.c.disabled.is_(False)).limit(2))
    return [r["id"] for r in rows] == [user_id]


def _refuse_last_operator(row: Row, operators: list[int], message: str) -> None:
    if operators == [row["id"]]:
        raise UserError(message)


async def set_user_disabled(
    db: Database,
    user_id: int,
    disabled: bool,
    *,
    actor: Actor,
) -> Row:
    """Disable or enable a user. Disabling ends their browser sessions, drops their API keys from every bearer
    cache and revokes their OAuth grants; the last enabled operator cannot be disabled."""
    from app.auth.grants import revoke_grants_where
    from app.db.tables import api_keys, oauth_grants

    async with db.transaction() as conn:
        row, operators = await _lock_for_change(conn, user_id)
        if row["disabled"] == disabled:
            return row
        if disabled:
            _refuse_last_operator(row, operators, LAST_OPERATOR_DISABLE)
        updated = await conn.fetch_one(
            users.update()
            .where(users.c.id == user_id)
            .values(disabled=disabled, updated_at=sa.func.now())
            .returning(users)
        )
        assert updated is not None
        await audit.record(
            conn,
            "user.disable" if disabled else "user.enable",
            actor=actor,
            target_type="user",
            target_id=user_id,
            details={"email": row["email"]},
        )
        if disabled:
            await conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))
            # The keys stay valid rows (enabling the user again restores them) but no cache may keep serving them.
            keys = await conn.fetch_all(
                sa.select(api_keys.c.key_hash).where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
            )
            await revocations.notify_api_keys(conn, [k["key_hash"] for k in keys])
            # In the same transaction: a user is never left disabled with their grants still standing.
            revoked = await revoke_grants_where(conn, oauth_grants.c.user_id == user_id, "user_disabled")
            if revoked:
                await audit.record(
                    conn,
                    "grant.revoke_all",
                    actor=actor,
                    target_type="user",
                    target_id=user_id,
                    details={"reason": "user_disabled", "grants_revoked": revoked},
                )
    return updated


async def set_admin(
    db: Database,
    user_id: int,
    is_admin: bool,
    *,
    actor: Actor,
) -> Row:
    """Grant or remove operator rights; the last enabled operator keeps theirs."""
    async with db.transaction() as conn:
        row, operators = await _lock_for_change(conn, user_id)
        if row["is_admin"] == is_admin:
            return row
        if not is_admin:
            _refuse_last_operator(row, operators, LAST_OPERATOR_DEMOTE)
        updated = await conn.fetch_one(
            users.update()
            .where(users.c.id == user_id)
            .values(is_admin=is_admin, updated_at=sa.func.now())
            .returning(users)
        )
        assert updated is not None
        await audit.record(
            conn,
            "user.grant_operator" if is_admin else "user.remove_operator",
            actor=actor,
            target_type="user",
            target_id=user_id,
            details={"email": row["email"]},
        )
    return updated
