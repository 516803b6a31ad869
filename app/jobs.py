"""Scheduled jobs: the daily expired-data cleanup, run by APScheduler inside the server process."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from app import metrics
from app.config import Settings
from app.db import Database
from app.db.expressions import interval
from app.db.tables import (
    audit_log,
    auth_throttle,
    job_runs,
    oauth_authorization_codes,
    oauth_client_assertions,
    oauth_grants,
    oauth_tokens,
    rate_limits,
    web_sessions,
)

log = logging.getLogger(__name__)

CLEANUP_JOB = "cleanup"
# One arbitrary 64-bit key for pg_try_advisory_lock: only one cleanup at a time across all processes.
CLEANUP_LOCK_KEY = 0x5EC0_4D1A_7E40_0001
BATCH = 5000
DAY = 86400
# Revoked tokens are kept this long (seconds) for the grants page and reuse detection, then deleted.
REVOKED_RETENTION = 7 * DAY
# Used and expired codes are kept a day, so that a replayed code is still recognised (and revokes what it issued).
CODE_RETENTION = DAY


@dataclass
class CleanupResult:
    status: str  # ok | skipped | error
    rows_deleted: int
    duration_ms: int
    details: dict[str, int]
    error: str | None = None
    run_id: int | None = None


def _targets(audit_retention_days: int) -> list[tuple[str, sa.Table, sa.ColumnElement[bool]]]:
    now = sa.func.now()
    retention = interval(REVOKED_RETENTION)
    code_retention = interval(CODE_RETENTION)
    targets = [
        (
            "authorization_codes",
            oauth_authorization_codes,
            sa.or_(
                oauth_authorization_codes.c.expires_at < now - code_retention,
                oauth_authorization_codes.c.used_at < now - code_retention,
            ),
        ),
        ("tokens", oauth_tokens, sa.or_(oauth_tokens.c.expires_at < now, oauth_tokens.c.revoked_at < now - retention)),
        (
            "grants",
            oauth_grants,
            sa.and_(
                oauth_grants.c.revoked_at < now - retention,
                ~sa.exists().where(oauth_tokens.c.grant_id == oauth_grants.c.id),
            ),
        ),
        ("web_sessions", web_sessions, web_sessions.c.expires_at < now),
        ("client_assertions", oauth_client_assertions, oauth_client_assertions.c.expires_at < now),
        (
            "auth_throttle",
            auth_throttle,
            sa.and_(
                sa.or_(auth_throttle.c.locked_until.is_(None), auth_throttle.c.locked_until < now),
                auth_throttle.c.window_started_at < now - interval(DAY),
            ),
        ),
        ("rate_limits", rate_limits, rate_limits.c.window_started_at < now - interval(DAY)),
    ]
    if audit_retention_days:
        targets.append(("audit_log", audit_log, audit_log.c.at < now - interval(audit_retention_days * DAY)))
    return targets


async def _delete_in_batches(db: Database, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    """Delete matching rows BATCH at a time, each batch its own short transaction."""
    key = table.primary_key.columns.values()[0]
    total = 0
    while True:
        ids = sa.select(key).where(condition).limit(BATCH).scalar_subquery()
        deleted = await db.execute(table.delete().where(key.in_(ids)))
        total += max(deleted, 0)
        if deleted < BATCH:
            return total


async def run_cleanup(db: Database, trigger: str, *, audit_retention_days: int) -> CleanupResult:
    """Delete expired and used codes, expired or long-revoked tokens, other expired rows and audit entries older
    than `audit_retention_days` (0: none); record the run."""
    started = time.monotonic()
    async with db.connection() as lock_conn:
        got = await lock_conn.fetch_value(sa.select(sa.func.pg_try_advisory_lock(CLEANUP_LOCK_KEY)))
        if not got:
            run_id = await db.fetch_value(
                job_runs.insert()
                .values(
                    job=CLEANUP_JOB,
                    trigger=trigger,
                    status="skipped",
                    rows_deleted=0,
                    duration_ms=0,
                    finished_at=sa.func.now(),
                    error="another cleanup was running",
                )
                .returning(job_runs.c.id)
            )
            metrics.cleanup_runs.labels("skipped").inc()
            return CleanupResult("skipped", 0, 0, {}, "another cleanup was running", run_id)
        try:
            run_id = await db.fetch_value(
                job_runs.insert().values(job=CLEANUP_JOB, trigger=trigger, status="running").returning(job_runs.c.id)
            )
            details: dict[str, int] = {}
            try:
                for name, table, condition in _targets(audit_retention_days):
                    details[name] = await _delete_in_batches(db, table, condition)
            except Exception as exc:
                duration = int((time.monotonic() - started) * 1000)
                message = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("cleanup failed")
                await db.execute(
                    job_runs.update()
                    .where(job_runs.c.id == run_id)
                    .values(
                        status="error",
                        finished_at=sa.func.now(),
                        duration_ms=duration,
                        rows_deleted=sum(details.values()),
                        details=details,
                        error=message,
                    )
                )
                metrics.cleanup_runs.labels("error").inc()
                return CleanupResult("error", sum(details.values()), duration, details, message, run_id)
            duration = int((time.monotonic() - started) * 1000)
            total = sum(details.values())
            await db.execute(
                job_runs.update()
                .where(job_runs.c.id == run_id)
                .values(
                    status="ok", finished_at=sa.func.now(), duration_ms=duration, rows_deleted=total, details=details
                )
            )
            log.info("cleanup deleted %d rows in %d ms", total, duration)
            metrics.cleanup_runs.labels("ok").inc()
            return CleanupResult("ok", total, duration, details, None, run_id)
        finally:
            await lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(CLEANUP_LOCK_KEY)))


async def recent_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    return await db.fetch_all(
        sa.select(job_runs).where(job_runs.c.job == CLEANUP_JOB).order_by(job_runs.c.started_at.desc()).limit(limit)
    )


def schedule_cleanup(scheduler: AsyncIOScheduler, settings: Settings, db: Database) -> None:
    """Add the expired-data cleanup to `scheduler`, on CLEANUP_CRON (UTC)."""
    scheduler.add_job(
        run_cleanup,
        CronTrigger.from_crontab(settings.cleanup_cron, timezone="UTC"),
        args=[db, "schedule"],
        kwargs={"audit_retention_days": settings.audit_retention_days},
        id=CLEANUP_JOB,
        name="expired-data cleanup",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
