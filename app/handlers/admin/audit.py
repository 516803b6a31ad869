"""The audit log in the console: filtered by action, actor, target and dates, newest first, in pages."""

from __future__ import annotations

from wtforms.fields.choices import SelectChoice

from app.admin import queries
from app.admin.forms import AuditFilterForm
from app.handlers.admin.base import PAGE_SIZE, AdminHandler, page_count

FILTERS = ("action", "actor", "target", "since", "until")


class AuditHandler(AdminHandler):
    section = "audit"

    async def get(self) -> None:
        form = self.form(AuditFilterForm)
        actions = await queries.audit_actions(self.db)
        form.action.choices = [SelectChoice("", self.locale.translate("any")), *(SelectChoice(a) for a in actions)]
        valid = form.validate()
        f = queries.AuditFilter(form.action.data or None, form.actor.data or None, form.target.data or None,
                                form.since.data, form.until.data) if valid else queries.AuditFilter()
        page = self.int_argument("page")
        rows, total = await queries.audit_entries(self.db, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        query = {name: self.get_query_argument(name, "") for name in FILTERS}
        self.page("admin/audit.html", status=200 if valid else 400, form=form, rows=rows, total=total, page=page,
                  pages=page_count(total), query=query)


routes = [
    (r"/admin/audit", AuditHandler),
]
