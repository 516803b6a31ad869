"""Password sign-in shared by the OAuth consent page and the operator console: checks, throttling, audit.

Throttling is kept in PostgreSQL so that every server process sees the same counts. A key (an account or an
IP address) that fails LOGIN_MAX_FAILURES times within 15 minutes is locked for LOGIN_LOCKOUT seconds, doubling
with each further lockout up to an hour. Each attempt is counted before its password is checked (and taken
back when the password was right), so simultaneous guesses cannot outrun the limit. A locked key is refused
before bcrypt runs, and the refusal does not say whether the password was right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.audit import Actor
from app.auth.passwords import verify_password
from app.auth.secrets import SESSION_PREFIX, hash_credential, new_credential
from app.auth.users import email_key, get_user_by_email
from app.config import Settings
from app.db import Connection, Database, Row
from app.db.expressions import interval
from app.db.tables import auth_throttle, users, web_sessions

FAILURE_WINDOW_SECONDS = 15 * 60
MAX_LOCKOUT_SECONDS = 3600


class SignInError(Exception):
    """Sign-in refused. `code` is stable for tests and templates; `message` is English, translated by the page."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


# The codes, with the sentence a person sees (translated through the locale files). An account without a
# password gets "invalid_credentials" like an unknown email: a sentence of its own would tell anyone which
# emails have accounts.
MESSAGES = {
    "invalid_credentials": "Wrong email or password",
    "disabled": "This account is disabled",
    "throttled": "Too many failed attempts; try again in {minutes} min",
    "not_operator": "This account is not an operator",
}


def _keys(email: str, ip: str | None) -> list[str]:
    keys = [f"account:{email_key(email)}"]
    if ip:
        keys.append(f"ip:{ip}")
    return keys


async def _locked_for(db: Database | Connection, keys: list[str]) -> int:
    """Seconds until every key is unlocked; 0 when none is locked."""
    value = await db.fetch_value(
        sa.select(sa.func.max(sa.func.extract("epoch", auth_throttle.c.locked_until - sa.func.now())))
        .where(auth_throttle.c.key.in_(keys), auth_throttle.c.locked_until > sa.func.now())
    )
    return 0 if value is None else max(1, math.ceil(float(value)))


async def _lock_exhausted(conn: Connection, keys: list[str], settings: Settings) -> None:
    """Lock every key that has used up its attempts: LOGIN_LOCKOUT seconds, doubling per lockout, at most an hour."""
    table = auth_throttle
    seconds = sa.func.least(settings.login_lockout * sa.func.power(2, table.c.lockouts), MAX_LOCKOUT_SECONDS)
    await conn.execute(table.update().where(
        table.c.key.in_(keys), table.c.failures >= settings.login_max_failures,
        sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= sa.func.now()),
    ).values(failures=0, lockouts=table.c.lockouts + 1, window_started_at=sa.func.now(),
             locked_until=sa.func.now() + interval(seconds)))


async def _begin_attempt(db: Database, keys: list[str], settings: Settings) -> int:
    """Count this attempt against every key before the password is checked; seconds to wait when refused.

    Counting first is what makes the limit hold under concurrency: a burst of simultaneous guesses would
    otherwise all pass a lock check made before any of them had failed.
    """
    table = auth_throttle
    async with db.transaction() as conn:
        # Row locks in key order ("account:" before "ip:"), so concurrent attempts cannot deadlock.
        await conn.fetch_all(sa.select(table.c.key).where(table.c.key.in_(keys)).order_by(table.c.key)
                             .with_for_update())
        wait = await _locked_for(conn, keys)
        if wait:
            return wait
        fresh = table.c.window_started_at < sa.func.now() - interval(FAILURE_WINDOW_SECONDS)
        counts = {}
        for key in sorted(keys):
            counts[key] = await conn.fetch_value(
                pg_insert(table).values(key=key, failures=1, lockouts=0).on_conflict_do_update(
                    index_elements=[table.c.key],
                    set_={"failures": sa.case((fresh, 1), else_=table.c.failures + 1),
                          "window_started_at": sa.case((fresh, sa.func.now()), else_=table.c.window_started_at)},
                ).returning(table.c.failures))
        if all(count <= settings.login_max_failures for count in counts.values()):
            return 0
        # Over the limit (attempts still in flight used it up): refuse without checking, and lock now.
        await _take_back(conn, keys)
        await _lock_exhausted(conn, keys, settings)
        return max(1, await _locked_for(conn, keys))


async def _take_back(db: Database | Connection, keys: list[str]) -> None:
    """Uncount an attempt that was not a wrong password."""
    table = auth_throttle
    await db.execute(table.update().where(table.c.key.in_(keys))
                     .values(failures=sa.func.greatest(table.c.failures - 1, 0)))


async def _record_failure(db: Database, keys: list[str], settings: Settings) -> None:
    """The attempt (already counted) was a wrong password: lock the keys it exhausted."""
    async with db.transaction() as conn:
        await _lock_exhausted(conn, keys, settings)


async def _clear_account(db: Database, email: str) -> None:
    await db.execute(auth_throttle.delete().where(auth_throttle.c.key == f"account:{email_key(email)}"))


async def sign_in(
    db: Database, settings: Settings, email: str, password: str, *, ip: str | None, purpose: str,
    require_admin: bool = False,
) -> Row:
    """The user for these credentials, or SignInError. Every outcome is written to the audit log."""
    keys = _keys(email, ip)
    claimed = Actor(email_key(email)[:254] or "anonymous", ip=ip)  # who the attempt says it is
    wait = await _begin_attempt(db, keys, settings)
    if wait:
        await audit.record(db, "signin.throttled", actor=claimed, details={"purpose": purpose})
        minutes = max(1, math.ceil(wait / 60))
        raise SignInError("throttled", MESSAGES["throttled"].format(minutes=minutes), retry_after=wait)
    user = await get_user_by_email(db, email)
    ok = await verify_password(password, user["password_hash"] if user else None, rounds=settings.bcrypt_rounds)
    known = Actor(user["email"], user["id"], ip) if user is not None else claimed
    if user is None or not ok:
        # An account without a password is answered, and counted, exactly like an unknown email; only the
        # audit log tells them apart.
        reason = "no_password" if user is not None and user["password_hash"] is None else "invalid_credentials"
        await _record_failure(db, keys, settings)
        await audit.record(db, "signin.failed", actor=replace(claimed, user_id=known.user_id),
                           details={"purpose": purpose, "reason": reason})
        raise SignInError("invalid_credentials", MESSAGES["invalid_credentials"])
    await _take_back(db, keys)  # the right password was no guess, even if the account may not sign in
    if user["disabled"]:
        await audit.record(db, "signin.failed", actor=known, details={"purpose": purpose, "reason": "disabled"})
        raise SignInError("disabled", MESSAGES["disabled"])
    if require_admin and not user["is_admin"]:
        await audit.record(db, "signin.failed", actor=known, details={"purpose": purpose, "reason": "not_operator"})
        raise SignInError("not_operator", MESSAGES["not_operator"])
    await _clear_account(db, user["email"])
    await db.execute(users.update().where(users.c.id == user["id"]).values(last_login_at=sa.func.now()))
    await audit.record(db, "signin.ok", actor=known, details={"purpose": purpose})
    return user


async def start_session(db: Database, settings: Settings, user_id: int, *, ip: str | None,
                        user_agent: str | None) -> str:
    """A new browser session; returns the cookie value (stored only as a hash)."""
    token = new_credential(SESSION_PREFIX)
    await db.execute(web_sessions.insert().values(
        session_hash=hash_credential(token), user_id=user_id, ip=ip, user_agent=(user_agent or "")[:300],
        expires_at=sa.func.now() + interval(settings.session_ttl),
    ))
    return token


async def session_user(db: Database, token: str | None) -> Row | None:
    """The enabled user behind a session cookie value, or None when absent, expired, or the user is disabled."""
    if not token or not token.startswith(SESSION_PREFIX):
        return None
    row = await db.fetch_one(
        sa.select(users, web_sessions.c.id.label("session_id"))
        .join(web_sessions, web_sessions.c.user_id == users.c.id)
        .where(web_sessions.c.session_hash == hash_credential(token), web_sessions.c.expires_at > sa.func.now(),
               users.c.disabled.is_(False))
    )
    return row


async def end_session(db: Database, token: str | None) -> None:
    if token:
        await db.execute(web_sessions.delete().where(web_sessions.c.session_hash == hash_credential(token)))


async def sign_out(db: Database, token: str | None, *, ip: str | None, purpose: str) -> None:
    """End the browser session behind `token` and say so in the audit log (nothing to do without one)."""
    if not token:
        return
    async with db.transaction() as conn:
        ended = await conn.fetch_one(
            web_sessions.delete().where(web_sessions.c.session_hash == hash_credential(token))
            .returning(web_sessions.c.user_id)
        )
        if ended is not None:
            email = await conn.fetch_value(sa.select(users.c.email).where(users.c.id == ended["user_id"]))
            await audit.record(conn, "signout", actor=Actor(email or "anonymous", ended["user_id"], ip),
                               details={"purpose": purpose})


class CookieOptions(TypedDict):
    """Tornado's `set_signed_cookie` keyword arguments for the session cookie."""

    httponly: bool
    samesite: str
    secure: bool
    expires_days: float


@dataclass(frozen=True)
class SessionCookie:
    """How the browser session cookie is set: HttpOnly, SameSite=Lax, Secure behind https, signed by Tornado."""

    name: str = "sl_session"

    def kwargs(self, settings: Settings) -> CookieOptions:
        return {"httponly": True, "samesite": "Lax", "secure": settings.secure_cookies,
                "expires_days": settings.session_ttl / 86400}


SESSION_COOKIE = SessionCookie()
