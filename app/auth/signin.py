"""Password sign-in shared by the OAuth consent page and the operator console: checks, throttling, audit.

Throttling is kept in PostgreSQL so that every server process sees the same counts, and no one can use it to
lock somebody else out. Each attempt is charged to three counters (15-minute windows):
- one account from one address (IPv6: its /64): locked after LOGIN_MAX_FAILURES failures;
- one address, whatever the accounts: locked after LOGIN_MAX_FAILURES_PER_ADDRESS failures;
- one account, from all addresses together: never locked, since a lock there would let anyone shut a known
  user out (the last operator included). Past LOGIN_MAX_FAILURES it slows every attempt on the account down
  instead, LOGIN_SLOWDOWN_MS doubling per further failure up to LOGIN_SLOWDOWN_MAX_MS, so guessing from many
  addresses is slow while the owner, from an address that has not failed, still gets in.
A lockout lasts LOGIN_LOCKOUT seconds, doubling with each further lockout up to an hour. Each attempt is counted
before its password is checked (and taken back when the password was right), so simultaneous guesses cannot
outrun the limit. A locked pair or address is refused before bcrypt runs, and the refusal does not say whether
the password was right. The refusals of one lockout are one audit entry that counts them.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, replace
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit
from app.audit import Actor
from app.auth.passwords import verify_password
from app.auth.rate_limit import address_key
from app.auth.secrets import SESSION_PREFIX, hash_credential, new_credential
from app.auth.users import email_key, get_user_by_email
from app.config import Settings
from app.db import Connection, Database, Row
from app.db.expressions import interval
from app.db.tables import audit_log, auth_throttle, users, web_sessions

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
    "invalid_credentials": "Wrong email or password.",
    "disabled": "This account is disabled.",
    "throttled": "Too many failed attempts; try again in {minutes} min.",
    "not_operator": "This account is not an operator.",
}


@dataclass(frozen=True)
class ThrottleKeys:
    """The counters one sign-in attempt is charged to (see the module docstring)."""

    pair: str  # this account from this address: locks
    address: str  # this address, whatever the account: locks
    account: str  # this account from every address: slows down, never locks

    @classmethod
    def of(cls, email: str, ip: str | None) -> ThrottleKeys:
        address, account = address_key(ip), email_key(email)
        # The address goes first: it never holds a space, so no two (address, email) pairs share a key.
        return cls(f"ip+account:{address} {account}", f"ip:{address}", f"account:{account}")

    def all(self) -> list[str]:
        """Every key, in the order rows are locked in (so that concurrent attempts cannot deadlock)."""
        return sorted((self.pair, self.address, self.account))

    def limits(self, settings: Settings) -> dict[str, int]:
        """The keys that lock, with the failures each may have."""
        return {self.pair: settings.login_max_failures, self.address: settings.login_max_failures_per_address}


def slowdown_seconds(failures: int, settings: Settings) -> float:
    """How long an attempt on an account waits before its password is checked, given the account's failures
    in the current window from all addresses together."""
    excess = failures - settings.login_max_failures
    if excess < 0 or not settings.login_slowdown_ms:
        return 0.0
    return min(settings.login_slowdown_ms << min(excess, 30), settings.login_slowdown_max_ms) / 1000


async def _ensure_rows(db: Database, keys: ThrottleKeys) -> None:
    """Create the keys' rows that do not exist yet, committed at once and in key order.

    `_lock_rows` can lock only rows that exist: an attempt that created a counter inside its transaction would hold
    it out of order (the account's counter sorts before the address's), and two attempts would deadlock, one
    waiting for the row the other inserted while holding the row the first one needs.
    """
    await db.execute(
        pg_insert(auth_throttle)
        .values([{"key": key, "failures": 0, "lockouts": 0} for key in keys.all()])
        .on_conflict_do_nothing(index_elements=[auth_throttle.c.key])
    )


async def _lock_rows(conn: Connection, keys: ThrottleKeys) -> None:
    """Lock the keys' rows in key order before changing any of them (one UPDATE may take them in any order)."""
    await conn.fetch_all(
        sa.select(auth_throttle.c.key)
        .where(auth_throttle.c.key.in_(keys.all()))
        .order_by(auth_throttle.c.key)
        .with_for_update()
    )


async def _current_lock(db: Database | Connection, keys: ThrottleKeys, settings: Settings) -> Row | None:
    """The lock that ends last among the keys that lock (its key, seconds left, audit entry), or None."""
    table = auth_throttle
    return await db.fetch_one(
        sa.select(
            table.c.key,
            table.c.audit_id,
            table.c.locked_until,
            sa.func.extract("epoch", table.c.locked_until - sa.func.now()).label("seconds"),
        )
        .where(table.c.key.in_(list(keys.limits(settings))), table.c.locked_until > sa.func.now())
        .order_by(table.c.locked_until.desc(), table.c.key)
        .limit(1)
    )


async def _lock_exhausted(conn: Connection, keys: ThrottleKeys, settings: Settings) -> None:
    """Lock every key that has used up its attempts: LOGIN_LOCKOUT seconds, doubling per lockout, at most an hour."""
    table = auth_throttle
    limits = keys.limits(settings)
    seconds = sa.func.least(settings.login_lockout * sa.func.power(2, table.c.lockouts), MAX_LOCKOUT_SECONDS)
    await conn.execute(
        table.update()
        .where(
            table.c.key.in_(list(limits)),
            table.c.failures >= sa.case(limits, value=table.c.key),
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= sa.func.now()),
        )
        .values(
            failures=0,
            lockouts=table.c.lockouts + 1,
            window_started_at=sa.func.now(),
            locked_until=sa.func.now() + interval(seconds),
            audit_id=None,
        )
    )


async def _count_refusal(conn: Connection, lock: Row, keys: ThrottleKeys, claimed: Actor, purpose: str) -> None:
    """Add a refused attempt to its lockout's one signin.throttled entry, written at the first refusal.

    A row per refusal would let anyone grow the audit log without bound by retrying against a lock.
    """
    if lock["audit_id"] is not None:
        attempts = sa.cast(audit_log.c.details["attempts"].astext, sa.Integer) + 1
        counted = await conn.fetch_value(
            audit_log.update()
            .where(audit_log.c.id == lock["audit_id"])
            .values(
                details=audit_log.c.details.op("||", return_type=JSONB)(
                    sa.func.jsonb_build_object("attempts", attempts, "last_at", sa.func.now())
                )
            )
            .returning(audit_log.c.id)
        )
        if counted is not None:
            return
    # A locked address refuses whichever email is tried: its entry names no account.
    actor = claimed if lock["key"] == keys.pair else Actor("anonymous", ip=claimed.ip)
    entry = await audit.record(
        conn,
        "signin.throttled",
        actor=actor,
        details={
            "purpose": purpose,
            "key": lock["key"],
            "attempts": 1,
            "locked_until": lock["locked_until"].isoformat(),
        },
    )
    await conn.execute(auth_throttle.update().where(auth_throttle.c.key == lock["key"]).values(audit_id=entry))


async def _begin_attempt(
    db: Database, keys: ThrottleKeys, settings: Settings, claimed: Actor, purpose: str
) -> tuple[int, float]:
    """Count this attempt against every key before the password is checked.

    Returns (seconds to wait when refused, else 0; seconds to slow down by before checking). Counting first is
    what makes the limit hold under concurrency: a burst of simultaneous guesses would otherwise all pass a lock
    check made before any of them had failed.
    """
    table = auth_throttle
    await _ensure_rows(db, keys)
    async with db.transaction() as conn:
        await _lock_rows(conn, keys)
        lock = await _current_lock(conn, keys, settings)
        if lock is None:
            fresh = table.c.window_started_at < sa.func.now() - interval(FAILURE_WINDOW_SECONDS)
            counts = {}
            for key in keys.all():
                counts[key] = await conn.fetch_value(
                    pg_insert(table)
                    .values(key=key, failures=1, lockouts=0)
                    .on_conflict_do_update(
                        index_elements=[table.c.key],
                        set_={
                            "failures": sa.case((fresh, 1), else_=table.c.failures + 1),
                            "window_started_at": sa.case((fresh, sa.func.now()), else_=table.c.window_started_at),
                        },
                    )
                    .returning(table.c.failures)
                )
            if all(counts[key] <= limit for key, limit in keys.limits(settings).items()):
                return 0, slowdown_seconds(counts[keys.account] - 1, settings)
            # Over a limit (attempts still in flight used it up): refuse without checking, and lock now.
            await _take_back(conn, keys)
            await _lock_exhausted(conn, keys, settings)
            lock = await _current_lock(conn, keys, settings)
            assert lock is not None
        await _count_refusal(conn, lock, keys, claimed, purpose)
        return max(1, math.ceil(float(lock["seconds"]))), 0.0


async def _take_back(conn: Connection, keys: ThrottleKeys) -> None:
    """Uncount an attempt that was not a wrong password (the caller holds the rows' locks)."""
    table = auth_throttle
    await conn.execute(
        table.update().where(table.c.key.in_(keys.all())).values(failures=sa.func.greatest(table.c.failures - 1, 0))
    )


async def _record_failure(db: Database, keys: ThrottleKeys, settings: Settings) -> None:
    """The attempt (already counted) was a wrong password: lock the keys it exhausted."""
    async with db.transaction() as conn:
        await _lock_rows(conn, keys)
        await _lock_exhausted(conn, keys, settings)


async def _record_right_password(db: Database, keys: ThrottleKeys, *, signed_in: bool) -> None:
    """Uncount an attempt with the right password; once signed in, forget this account's failures from this
    address (their lockouts included). The account's count from everywhere stays: the guessing may go on."""
    async with db.transaction() as conn:
        await _lock_rows(conn, keys)
        await _take_back(conn, keys)
        if signed_in:
            await conn.execute(auth_throttle.delete().where(auth_throttle.c.key == keys.pair))


async def sign_in(
    db: Database,
    settings: Settings,
    email: str,
    password: str,
    *,
    ip: str | None,
    purpose: str,
    require_admin: bool = False,
) -> Row:
    """The user for these credentials, or SignInError. Every outcome is written to the audit log."""
    keys = ThrottleKeys.of(email, ip)
    claimed = Actor(email_key(email)[:254] or "anonymous", ip=ip)  # who the attempt says it is
    wait, slowdown = await _begin_attempt(db, keys, settings, claimed, purpose)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise SignInError("throttled", MESSAGES["throttled"].format(minutes=minutes), retry_after=wait)
    if slowdown:
        # Counted already, so a burst of guesses cannot skip the wait; asleep, the attempt holds no connection.
        await asyncio.sleep(slowdown)
    user = await get_user_by_email(db, email)
    ok = await verify_password(password, user["password_hash"] if user else None, rounds=settings.bcrypt_rounds)
    known = Actor(user["email"], user["id"], ip) if user is not None else claimed
    if user is None or not ok:
        # An account without a password is answered, and counted, exactly like an unknown email; only the
        # audit log tells them apart.
        reason = "no_password" if user is not None and user["password_hash"] is None else "invalid_credentials"
        await _record_failure(db, keys, settings)
        await audit.record(
            db,
            "signin.failed",
            actor=replace(claimed, user_id=known.user_id),
            details={"purpose": purpose, "reason": reason},
        )
        raise SignInError("invalid_credentials", MESSAGES["invalid_credentials"])
    may_enter = not user["disabled"] and (user["is_admin"] or not require_admin)
    # The right password was no guess, even if the account may not sign in.
    await _record_right_password(db, keys, signed_in=may_enter)
    if user["disabled"]:
        await audit.record(db, "signin.failed", actor=known, details={"purpose": purpose, "reason": "disabled"})
        raise SignInError("disabled", MESSAGES["disabled"])
    if require_admin and not user["is_admin"]:
        await audit.record(db, "signin.failed", actor=known, details={"purpose": purpose, "reason": "not_operator"})
        raise SignInError("not_operator", MESSAGES["not_operator"])
    await db.execute(users.update().where(users.c.id == user["id"]).values(last_login_at=sa.func.now()))
    await audit.record(db, "signin.ok", actor=known, details={"purpose": purpose})
    return user


async def start_session(
    db: Database, settings: Settings, user_id: int, *, ip: str | None, user_agent: str | None
) -> str:
    """A new browser session; returns the cookie value (stored only as a hash)."""
    token = new_credential(SESSION_PREFIX)
    await db.execute(
        web_sessions.insert().values(
            session_hash=hash_credential(token),
            user_id=user_id,
            ip=ip,
            user_agent=(user_agent or "")[:300],
            expires_at=sa.func.now() + interval(settings.session_ttl),
        )
    )
    return token


async def session_user(db: Database, token: str | None) -> Row | None:
    """The enabled user behind a session cookie value, or None when absent, expired, or the user is disabled."""
    if not token or not token.startswith(SESSION_PREFIX):
        return None
    row = await db.fetch_one(
        sa.select(users, web_sessions.c.id.label("session_id"))
        .join(web_sessions, web_sessions.c.user_id == users.c.id)
        .where(
            web_sessions.c.session_hash == hash_credential(token),
            web_sessions.c.expires_at > sa.func.now(),
            users.c.disabled.is_(False),
        )
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
            web_sessions.delete()
            .where(web_sessions.c.session_hash == hash_credential(token))
            .returning(web_sessions.c.user_id)
        )
        if ended is not None:
            email = await conn.fetch_value(sa.select(users.c.email).where(users.c.id == ended["user_id"]))
            await audit.record(
                conn, "signout", actor=Actor(email or "anonymous", ended["user_id"], ip), details={"purpose": purpose}
            )


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
        return {
            "httponly": True,
            "samesite": "Lax",
            "secure": settings.secure_cookies,
            "expires_days": settings.session_ttl / 86400,
        }


SESSION_COOKIE = SessionCookie()
