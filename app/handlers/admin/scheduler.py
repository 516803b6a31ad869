"""The cleanup job in the console: its schedule, its last runs, and "Run now"."""

from __future__ import annotations

from app import audit
from app.handlers.admin.base import AdminHandler
from app.jobs import CLEANUP_JOB, recent_runs, run_cleanup


class SchedulerHandler(AdminHandler):
    section = "scheduler"

    async def get(self) -> None:
        job = self.services.scheduler.get_job(CLEANUP_JOB)
        self.page("admin/scheduler.html", cron=self.config.cleanup_cron,
                  next_run=job.next_run_time if job is not None else None, runs=await recent_runs(self.db))


class SchedulerRunHandler(AdminHandler):
    async def post(self) -> None:
        result = await run_cleanup(self.db, "manual", audit_retention_days=self.config.audit_retention_days)
        await audit.record(self.db, "cleanup.run", target_type="job", target_id=result.run_id,
                           details={"status": result.status, "rows_deleted": result.rows_deleted}, actor=self.actor)
        if result.status == "ok":
            self.done("/admin/scheduler", "Cleanup finished: {rows} rows deleted in {ms} ms",
                      rows=result.rows_deleted, ms=result.duration_ms)
        elif result.status == "skipped":
            self.done("/admin/scheduler", "Cleanup skipped: another cleanup was running", "error")
        else:
            self.done("/admin/scheduler", "Cleanup failed; see the last runs below", "error")


routes = [
    (r"/admin/scheduler", SchedulerHandler),
    (r"/admin/scheduler/run", SchedulerRunHandler),
]
