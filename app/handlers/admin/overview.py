"""The console's first page: counts of clients, users, grants, tokens and keys, and the last cleanup."""

from __future__ import annotations

from app.admin import queries
from app.handlers.admin.base import AdminHandler


class OverviewHandler(AdminHandler):
    section = "overview"

    async def get(self) -> None:
        self.page("admin/overview.html", stats=await queries.overview(self.db))


routes = [
    (r"/admin/?", OverviewHandler),
]
