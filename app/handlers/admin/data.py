"""The console's Data page: each official dataset, how much of it is loaded, and every import with its findings."""

from __future__ import annotations

from app.corpus.provenance import count_imports, dataset_summaries, recent_imports
from app.corpus.sync import sync_specs
from app.handlers.admin.base import PAGE_SIZE, AdminHandler, page_count

# What an import's status means (English, translated when shown).
IMPORT_STATUSES = {
    "running": "Running",
    "succeeded": "Succeeded",
    "unchanged": "Unchanged publication, skipped",
    "failed": "Failed, previous data kept",
    "rolled_back": "Stopped (--strict), rolled back",
}


class DataHandler(AdminHandler):
    section = "data"

    async def get(self) -> None:
        page = self.int_argument("page")
        total = await count_imports(self.db)
        self.page(
            "admin/data.html",
            datasets=await dataset_summaries(self.db),
            imports=await recent_imports(self.db, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
            statuses=IMPORT_STATUSES,
            synced={name: spec.cron(self.config) for name, spec in sync_specs().items()},
            page=page,
            pages=page_count(total),
            query={},
            newer_first=True,
        )


routes = [
    (r"/admin/data", DataHandler),
]
