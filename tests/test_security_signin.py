"""Security review: password sign-in cannot be raced past its throttle, guessing from many addresses is slowed
without locking the owner out, and neither timing nor answers reveal which emails have accounts."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.auth.passwords import hash_password
from app.auth.signin import SignInError, sign_in, slowdown_seconds
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
    failed = dbrun(
        lambda db: db.fetch_value(
            sa.select(sa.func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "signin.failed", audit_log.c.actor == user["email"])
        )
    )
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
    slow = settings.replace(bcrypt_rounds=12, login_max_failures=100, login_max_failures_per_address=1000)
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


def test_the_slowdown_doubles_past_the_free_failures_up_to_its_cap(settings):
    quick = settings.replace(login_max_failures=5, login_slowdown_ms=50, login_slowdown_max_ms=150)
    assert [slowdown_seconds(n, quick) for n in (0, 4, 5, 6, 7, 8, 10_000)] == [0, 0, 0.05, 0.1, 0.15, 0.15, 0.15]
    assert slowdown_seconds(10_000, quick.replace(login_slowdown_ms=0)) == 0


def test_many_addresses_guessing_one_account_are_slowed_and_the_owner_still_gets_in(dbrun, make_user, settings):
    """Failures from all addresses together never lock an account: past LOGIN_MAX_FAILURES every attempt on it
    waits, LOGIN_SLOWDOWN_MS doubling up to LOGIN_SLOWDOWN_MAX_MS (small here, to keep the suite quick)."""
    quick = settings.replace(login_slowdown_ms=50, login_slowdown_max_ms=150)
    free = settings.login_max_failures
    user = make_user()

    async def timed(db, password: str, ip: str) -> tuple[str, float]:
        started = time.perf_counter()
        try:
            await sign_in(db, quick, user["email"], password, ip=ip, purpose="oauth")
            outcome = "ok"
        except SignInError as exc:
            outcome = exc.code
        return outcome, time.perf_counter() - started

    async def go(db):
        # One guess from each of many addresses: no address reaches a lockout.
        guesses = [await timed(db, f"guess-{i}-password", f"203.0.113.{i + 1}") for i in range(free + 7)]
        return guesses, await timed(db, user["password"], "192.0.2.200")

    guesses, owner = dbrun(go)
    assert {outcome for outcome, _ in guesses} == {"invalid_credentials"}
    waits = [seconds for _, seconds in guesses]
    assert waits[free] >= 0.05 * 0.95 and waits[free + 1] >= 0.1 * 0.95 and waits[free + 2] >= 0.15 * 0.95
    # Capped: uncapped, the last guess would wait 50 ms * 2**6 = 3.2 s.
    assert 0.15 * 0.95 <= waits[-1] < 2.0, waits
    # The owner, from an address that has not failed, waits the capped delay too, and is let in.
    assert owner[0] == "ok" and owner[1] >= 0.15 * 0.95


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
        answers[email] = [
            (r.status_code, "Wrong email or password" in r.text, "Too many failed attempts" in r.text)
            for r in responses
        ]
    assert len(set(map(tuple, answers.values()))) == 1, answers
    assert answers[nopass["email"]][0] == (400, True, False)
    assert answers[nopass["email"]][-1] == (429, False, True)


def test_each_lockout_has_its_own_audit_entry(make_user, settings, dbrun):
    user = make_user()
    ip = "203.0.113.250"
    pair = f"ip+account:{ip} {user['email']}"
    unslowed = settings.replace(login_slowdown_ms=0)

    async def lock_and_retry(db, retries: int) -> None:
        for i in range(settings.login_max_failures + retries):
            with pytest.raises(SignInError):
                await sign_in(db, unslowed, user["email"], f"guess-{i}-password", ip=ip, purpose="admin")

    dbrun(lambda db: lock_and_retry(db, 3))
    dbrun(
        lambda db: db.execute(
            auth_throttle.update()
            .where(auth_throttle.c.key == pair)
            .values(locked_until=sa.func.now() - sa.text("interval '1 second'"))
        )
    )
    dbrun(lambda db: lock_and_retry(db, 2))
    entries = dbrun(
        lambda db: db.fetch_all(
            sa.select(audit_log)
            .where(audit_log.c.action == "signin.throttled", audit_log.c.actor == user["email"])
            .order_by(audit_log.c.id)
        )
    )
    assert [e["details"]["attempts"] for e in entries] == [3, 2]
    assert entries[0]["details"]["locked_until"] != entries[1]["details"]["locked_until"]


def test_simultaneous_sign_ins_with_some_counters_new_never_deadlock(make_user, settings, database_url):
    """The address's counter exists (another account failed from it) while this account's counters do not: each
    attempt must lock all three in one order, including the ones it creates, or two attempts deadlock (one
    inserts the account's counter and waits for the address's, the other holds the address's and waits)."""
    from app.db import Database

    user = make_user()
    ip = "203.0.113." + str(secrets.randbelow(200) + 20)

    async def go() -> list[str]:
        db = Database(database_url, maxsize=24)
        try:
            with pytest.raises(SignInError):  # creates the address's counter only for another account
                await sign_in(db, settings, "someone-else@example.org", "x", ip=ip, purpose="console")
            outcomes = []
            for _ in range(4):  # rounds: the counters of this account are new in the first one only
                await db.execute(auth_throttle.delete().where(auth_throttle.c.key.like(f"%{user['email']}%")))

                async def attempt(i: int) -> str:
                    try:
                        await sign_in(db, settings, user["email"], user["password"], ip=ip, purpose="console")
                        return "ok"
                    except SignInError as exc:
                        return exc.code

                outcomes += await asyncio.gather(*(attempt(i) for i in range(12)))
            return outcomes
        finally:
            await db.close()

    outcomes = asyncio.run(go())  # a deadlock raised psycopg2's DeadlockDetected out of gather (a 503 over HTTP)
    # Attempts in flight beyond LOGIN_MAX_FAILURES are refused even with the right password: each counts first.
    assert set(outcomes) <= {"ok", "throttled"} and outcomes.count("ok") >= 4, outcomes
