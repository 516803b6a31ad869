"""Security review: password sign-in cannot be raced past its throttle, and timing does not reveal accounts."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.auth.passwords import hash_password
from app.auth.signin import SignInError, sign_in
from app.db.tables import audit_log, auth_throttle
from tests.helpers_admin import Browser
from tests.helpers_server import run_db

pytestmark = pytest.mark.usefixtures("forget_failed_sign_ins")


def test_concurrent_guesses_cannot_outrun_the_lockout(server, make_user, settings, dbrun):
    """Many guesses sent at once: no more than LOGIN_MAX_FAILURES of them may have their password checked."""
    user = make_user()
    attempts = settings.login_max_failures * 6
    browsers = [Browser(server.url) for _ in range(attempts)]
    ip = "198.51.100." + str(secrets.randbelow(200) + 20)
    try:
        for b in browsers:
            b.client.headers["X-Forwarded-For"] = ip
            b.get("/admin/login")

        def guess(pair: tuple[int, Browser]) -> int:
            i, b = pair
            return b.post("/admin/login", {"email": user["email"], "password": f"wrong-guess-{i}"}).status_code

        with ThreadPoolExecutor(max_workers=attempts) as pool:
            statuses = list(pool.map(guess, enumerate(browsers)))
    finally:
        for b in browsers:
            b.close()
    checked = [s for s in statuses if s != 429]
    assert len(checked) <= settings.login_max_failures, statuses
    assert statuses.count(429) >= attempts - settings.login_max_failures
    failed = dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(audit_log).where(
        audit_log.c.action == "signin.failed", audit_log.c.actor == user["email"])))
    assert failed <= settings.login_max_failures


def test_a_successful_sign_in_does_not_count_against_the_address(server, make_user, settings, dbrun):
    """Attempts are counted before the password check; a right password takes its count back."""
    user = make_user()
    ip = "198.51.100." + str(secrets.randbelow(200) + 20)

    async def go(db):
        for _ in range(settings.login_max_failures + 2):
            await sign_in(db, settings, user["email"], "correct horse battery", ip=ip, purpose="admin")
        return await db.fetch_value(sa.select(auth_throttle.c.failures).where(auth_throttle.c.key == f"ip:{ip}"))

    assert (run_db(server.database_url, go) or 0) == 0


def _median_seconds(fn, rounds: int = 7) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_unknown_email_costs_the_same_bcrypt_work_as_a_known_one(server, settings):
    """The stand-in hash for unknown accounts uses BCRYPT_ROUNDS, not a fixed cost: no timing oracle on emails."""
    slow = settings.replace(bcrypt_rounds=12, login_max_failures=100)
    email = f"timing-{secrets.token_hex(4)}@example.com"

    async def make(db):
        from app.db.tables import users
        await db.execute(users.insert().values(email=email, password_hash=await hash_password("a-long-password", 12)))

    run_db(server.database_url, make)

    def attempt(address: str) -> None:
        async def go(db):
            with pytest.raises(SignInError):
                await sign_in(db, slow, address, "wrong-password-1", ip=None, purpose="oauth")
        asyncio.run(_with_db(server.database_url, go))

    known = _median_seconds(lambda: attempt(email))
    unknown = _median_seconds(lambda: attempt(f"nobody-{secrets.token_hex(4)}@example.com"))
    # bcrypt at cost 12 is 4x cost 10: a fixed-cost stand-in would answer unknown emails clearly faster.
    assert unknown > known * 0.6, (known, unknown)


async def _with_db(url: str, fn):
    from app.db import Database

    db = Database(url, maxsize=2)
    try:
        return await fn(db)
    finally:
        await db.close()


def test_an_account_without_a_password_answers_and_locks_like_an_unknown_email(server, make_user, settings):
    """A different sentence, or no lockout, would tell anyone which emails have password-less accounts."""
    nopass = make_user(password=None)
    answers = {}
    for email in (nopass["email"], f"nobody-{secrets.token_hex(4)}@example.com"):
        b = Browser(server.url)
        try:
            responses = [b.sign_in(email, f"guess-{i}-password") for i in range(settings.login_max_failures + 1)]
        finally:
            b.close()
        answers[email] = [(r.status_code, "Wrong email or password" in r.text, "Too many failed attempts" in r.text)
                          for r in responses]
    assert len(set(map(tuple, answers.values()))) == 1, answers
    assert answers[nopass["email"]][0] == (400, True, False)
    assert answers[nopass["email"]][-1] == (429, False, True)
