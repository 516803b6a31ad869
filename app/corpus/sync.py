"""Keeping the official datasets current: one APScheduler job per dataset whose cron setting is set.

Each dataset's family declares a `SyncSpec`, listed by `sync_specs()`: its cron and URL settings and the
coroutine that imports from the URL (the same importer `secondlayer import` runs, so an unchanged publication
is skipped by its ETag).
Every process schedules the job; a PostgreSQL advisory lock per dataset makes one of them run it at a time, and
the others note that they skipped it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from app.config import Settings
from app.db import Database

log = logging.getLogger(__name__)

SyncRun = Callable[[Database, Settings, str, IO[str] | None], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class SyncSpec:
    dataset: str
    cron_setting: str  # the Settings attribute holding the crontab ("" = off)
    url_setting: str  # the Settings attribute holding the publisher's URL
    run: SyncRun

    def cron(self, settings: Settings) -> str:
        return str(getattr(settings, self.cron_setting) or "")

    def url(self, settings: Settings) -> str:
        return str(getattr(settings, self.url_setting) or "")


def sync_specs() -> dict[str, SyncSpec]:
    """Every dataset that can be synced, by name (see DATASETS in provenance.py); each family declares its own."""
    # Family modules are imported here, not at the top: they build on SyncSpec from this module.
    from app.corpus.edr.commands import sync_edr
    from app.corpus.edrsr.commands import sync_edrsr
    from app.corpus.laws import commands as laws
    from app.corpus.rada.commands import SYNCS as RADA

    specs: list[SyncSpec] = [
        SyncSpec("edrsr", "sync_edrsr_cron", "sync_edrsr_url", sync_edrsr),
        *RADA,
        SyncSpec(laws.DATASET, "sync_rada_laws_cron", "sync_rada_laws_url", laws.sync),
        SyncSpec("edr", "sync_edr_cron", "sync_edr_url", sync_edr),
    ]
    return {spec.dataset: spec for spec in specs}


def job_id(dataset: str) -> str:
    return f"sync-{dataset}"


def lock_key(dataset: str) -> int:
    """A stable signed 64-bit advisory-lock key per dataset."""
    return int.from_bytes(hashlib.sha256(f"secondlayer sync {dataset}".encode()).digest()[:8], "big", signed=True)


async def run_sync(db: Database, settings: Settings, spec: SyncSpec) -> dict[str, Any]:
    """Import the dataset from its URL now, unless another process is doing it."""
    started = time.monotonic()
    async with db.connection() as lock_conn:
        got = await lock_conn.fetch_value(sa.select(sa.func.pg_try_advisory_lock(lock_key(spec.dataset))))
        if not got:
            log.info("sync of %s skipped: another process is running it", spec.dataset)
            return {"dataset": spec.dataset, "status": "skipped"}
        try:
            result = await spec.run(db, settings, spec.url(settings), None)
        except Exception as exc:  # recorded by the import's provenance row; the scheduler keeps going
            log.exception("sync of %s failed", spec.dataset)
            return {"dataset": spec.dataset, "status": "failed", "error": str(exc)[:500]}
        finally:
            await lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(lock_key(spec.dataset))))
    log.info("sync of %s finished in %.1f s", spec.dataset, time.monotonic() - started)
    return {"dataset": spec.dataset, "status": "ok", **result}


def schedule_syncs(scheduler: AsyncIOScheduler, settings: Settings, db: Database) -> list[str]:
    """Add a job for every dataset whose cron setting is set; the ids of the jobs added."""
    added = []
    for spec in sync_specs().values():
        cron = spec.cron(settings)
        if not cron:
            continue
        scheduler.add_job(
            run_sync,
            CronTrigger.from_crontab(cron, timezone="UTC"),
            args=[db, settings, spec],
            id=job_id(spec.dataset),
            name=f"sync {spec.dataset}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        added.append(job_id(spec.dataset))
    return added
