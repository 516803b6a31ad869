"""Password sign-in shared by the OAuth consent page and the operator console: checks, throttling, audit.

Throttling is kept in PostgreSQL so that every server process sees the same counts. A key (an account or an
IP address) that fails LOGIN_MAX_FAILURES times within 15 minutes is locked for LOGIN_LOCKOUT seconds, doubling
with each further lockout up to an hour. A locked key is refused before bcrypt runs, and the refusal does not
say whether the password was right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.auth.passwords import verify_password
from app.auth.secrets import SESSION_PREFIX, hash_credential, new_credential
from app.config import Settings
from app.db import Database, Row
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


# The codes, with the sentence a person sees (translated through the locale files).
MESSAGES = {
    "invalid_credentials": "Wrong email or password",
    "no_password": "Password authentication not enabled for this account; ask an operator to set a password",
    "disabled": "This account is disabled",
    "throttled": "Too many failed attempts; try again in {minutes} min",
    "not_operator": "This account is not an operator",
}


def _keys(email: str, ip: str | None) -> list[str]:
    keys = [f"account:{email.strip().lower()}"]
    if ip:
        keys.append(f"ip:{ip}")
    return keys


async def _locked_for(db: Database, keys: list[str]) -> int:
    """Seconds until every key is unlocked; 0 when none is locked."""
    value = await db.fetch_value(
        sa.select(sa.func.max(sa.func.extract("epoch", auth_throttle.c.locked_until - sa.func.now())))
        .where(auth_throttle.c.key.in_(keys), auth_throttle.c.locked_until > sa.func.now())
    )
    return 0 if value is None else max(1, math.ceil(float(value)))


async def _record_failure(db: Database, keys: list[str], settings: Settings) -> None:
    window = sa.text(f"interval '{FAILURE_WINDOW_SECONDS} seconds'")
    async with db.transaction() as conn:
        for key in keys:
            stmt = pg_insert(auth_throttle).values(key=key, failures=1, lockouts=0)
            table = auth_throttle
            fresh = table.c.window_started_at < sa.func.now() - window
            failures = sa.case((fresh, 1), else_=table.c.failures + 1)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": failures,
                    "window_started_at": sa.case((fresh, sa.func.now()), else_=table.c.window_started_at),
                },
            ))
            row = await conn.fetch_one(sa.select(table).where(table.c.key == key).with_for_update())
            if row is not None and row["failures"] >= settings.login_max_failures:
                seconds = min(settings.login_lockout * (2 ** row["lockouts"]), MAX_LOCKOUT_SECONDS)
                await conn.execute(table.update().where(table.c.key == key).values(
                    failures=0, lockouts=table.c.lockouts + 1,
                    locked_until=sa.func.now() + sa.text(f"interval '{int(seconds)} seconds'"),
                    window_started_at=sa.func.now(),
                ))


async def _clear_account(db: Database, email: str) -> None:
    await db.execute(auth_throttle.delete().where(auth_throttle.c.key == f"account:{email.strip().lower()}"))


async def sign_in(
    db: Database, settings: Settings, email: str, password: str, *, ip: str | None, purpose: str,
    require_admin: bool = False,
) -> Row:
    """The user for these credentials, or SignInError. Every outcome is written to the audit log."""
    keys = _keys(email, ip)
    wait = await _locked_for(db, keys)
    if wait:
        await audit.record(db, "signin.throttled", actor=email.strip().lower()[:254] or "anonymous", ip=ip,
                           details={"purpose": purpose})
        minutes = max(1, math.ceil(wait / 60))
        raise SignInError("throttled", MESSAGES["throttled"].format(minutes=minutes), retry_after=wait)
    user = await db.fetch_one(sa.select(users).where(sa.func.lower(users.c.email) == email.strip().lower()))
    ok = await verify_password(password, user["password_hash"] if user else None)
    if user is not None and user["password_hash"] is None:
        # The seed guide's answer for accounts created without a password; not counted as guessing.
        await audit.record(db, "signin.failed", actor=user["email"], actor_user_id=user["id"], ip=ip,
                           details={"purpose": purpose, "reason": "no_password"})
        raise SignInError("no_password", MESSAGES["no_password"])
    if user is None or not ok:
        await _record_failure(db, keys, settings)
        await audit.record(db, "signin.failed", actor=email.strip().lower()[:254] or "anonymous",
                           actor_user_id=user["id"] if user else None, ip=ip,
                           details={"purpose": purpose, "reason": "invalid_credentials"})
        raise SignInError("invalid_credentials", MESSAGES["invalid_credentials"])
    if user["disabled"]:
        await audit.record(db, "signin.failed", actor=user["email"], actor_user_id=user["id"], ip=ip,
                           details={"purpose": purpose, "reason": "disabled"})
        raise SignInError("disabled", MESSAGES["disabled"])
    if require_admin and not user["is_admin"]:
        await audit.record(db, "signin.failed", actor=user["email"], actor_user_id=user["id"], ip=ip,
                           details={"purpose": purpose, "reason": "not_operator"})
        raise SignInError("not_operator", MESSAGES["not_operator"])
    await _clear_account(db, user["email"])
    await db.execute(users.update().where(users.c.id == user["id"]).values(last_login_at=sa.func.now()))
    await audit.record(db, "signin.ok", actor=user["email"], actor_user_id=user["id"], ip=ip,
                       details={"purpose": purpose})
    return user


async def start_session(db: Database, settings: Settings, user_id: int, *, ip: str | None,
                        user_agent: str | None) -> str:
    """A new browser session; returns the cookie value (stored only as a hash)."""
    token = new_credential(SESSION_PREFIX)
    await db.execute(web_sessions.insert().values(
        session_hash=hash_credential(token), user_id=user_id, ip=ip, user_agent=(user_agent or "")[:300],
        expires_at=sa.func.now() + sa.text(f"interval '{int(settings.session_ttl)} seconds'"),
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


async def end_user_sessions(db: Database, user_id: int) -> None:
    await db.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))


@dataclass(frozen=True)
class SessionCookie:
    """How the browser session cookie is set: HttpOnly, SameSite=Lax, Secure behind https, signed by Tornado."""

    name: str = "sl_session"

    def kwargs(self, settings: Settings) -> dict[str, object]:
        return {"httponly": True, "samesite": "Lax", "secure": settings.secure_cookies,
                "expires_days": settings.session_ttl / 86400}


SESSION_COOKIE = SessionCookie()
