"""The scheduled jobs in the console: the cleanup (its schedule, its last runs, "Run now") and the dataset syncs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app import audit
from app.corpus.sync import job_id, sync_specs
from app.handlers.admin.base import AdminHandler, Detail
from app.jobs import CLEANUP_JOB, recent_runs, run_cleanup

# How a run was started, and what each of its counts deleted (English, translated when shown).
TRIGGERS = {
    "schedule": "By the schedule",
    "manual": "By an operator (Run now)",
    "cli": "From the command line (secondlayer cleanup)",
}
CLEANUP_TABLES = {
    "authorization_codes": "Authorization codes",
    "tokens": "Access and refresh tokens",
    "grants": "Revoked grants",
    "web_sessions": "Browser sessions",
    "client_assertions": "Used client assertions",
    "auth_throttle": "Sign-in throttling counters",
    "rate_limits": "Rate-limit counters",
    "audit_log": "Audit log entries",
}


def cleanup_details(details: Mapping[str, Any] | None, translate: Callable[[str], str]) -> list[Detail]:
    """What a run deleted, one line per kind of row it deleted any of."""
    return [
        Detail(translate(CLEANUP_TABLES[name]) if name in CLEANUP_TABLES else name, [str(count)])
        for name, count in (details or {}).items()
        if count
    ]


class SchedulerHandler(AdminHandler):
    section = "scheduler"

    async def get(self) -> None:
        job = self.services.scheduler.get_job(CLEANUP_JOB)
        runs = [(run, cleanup_details(run["details"], self.locale.translate)) for run in await recent_runs(self.db)]
        syncs = []
        for name, spec in sync_specs().items():
            sync_job = self.services.scheduler.get_job(job_id(name))
            syncs.append(
                {
                    "dataset": name,
                    "cron": spec.cron(self.config),
                    "url": spec.url(self.config),
                    "next_run": sync_job.next_run_time if sync_job is not None else None,
                }
            )
        self.page(
            "admin/scheduler.html",
            syncs=syncs,
            cron=self.config.cleanup_cron,
            next_run=job.next_run_time if job is not None else None,
            runs=runs,
            triggers=TRIGGERS,
        )


class SchedulerRunHandler(AdminHandler):
    async def post(self) -> None:
        result = await run_cleanup(self.db, "manual", audit_retention_days=self.config.audit_retention_days)
        await audit.record(
            self.db,
            "cleanup.run",
            target_type="job",
            target_id=result.run_id,
            details={"status": result.status, "rows_deleted": result.rows_deleted},
            actor=self.actor,
        )
        if result.status == "ok":
            self.done(
                "/admin/scheduler",
                "Cleanup finished: {rows} rows deleted in {ms} ms",
                rows=result.rows_deleted,
                ms=result.duration_ms,
            )
        elif result.status == "skipped":
            self.done("/admin/scheduler", "Cleanup skipped: another cleanup was running", "error")
        else:
            self.done("/admin/scheduler", "Cleanup failed; see the last runs below", "error")


routes = [
    (r"/admin/scheduler", SchedulerHandler),
    (r"/admin/scheduler/run", SchedulerRunHandler),
]
