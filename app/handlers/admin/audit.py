"""The audit log in the console: filtered by action, actor, target and dates, newest first, in pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wtforms.fields.choices import SelectChoice

from app.admin import queries
from app.admin.forms import AuditFilterForm
from app.handlers.admin.base import PAGE_SIZE, AdminHandler, Detail, detail_value, page_count, when

FILTERS = ("action", "actor", "target", "since", "until")

# What the keys of an entry's `details` mean, in English (translated when shown); a key not here shows as is.
AUDIT_FIELDS = {
    "name": "Name",
    "email": "Email",
    "user": "User",
    "is_admin": "Operator",
    "source": "Registered by",
    "redirect_uris": "Redirect URIs",
    "previous_name": "Previous name",
    "previous_redirect_uris": "Previous redirect URIs",
    "token_endpoint_auth_method": "Client authentication",
    "old_secret_valid_until": "Previous secret works until",
    "grants_revoked": "Grants revoked",
    "grant_revoked": "Grant revoked",
    "reason": "Reason",
    "client_pk": "Client row id",
    "client_id": "Client ID",
    "grant_type": "Token obtained with",
    "within_reuse_grace": "Within the refresh token's reuse grace",
    "scope": "Scope",
    "resource": "Resource",
    "redirect_uri": "Redirect URI",
    "kind": "Token kind",
    "prefix": "Prefix",
    "purpose": "Signed in to",
    "status": "Result",
    "rows_deleted": "Rows deleted",
    "key": "Throttle key",
    "attempts": "Refused attempts",
    "locked_until": "Locked until",
    "last_at": "Last attempt",
}
# Codes that details carry as values, said in words.
AUDIT_PHRASES = {
    "invalid_credentials": "wrong email or password",
    "no_password": "the account has no password",
    "disabled": "the account is disabled",
    "not_operator": "the account is not an operator",
    "user_disabled": "the user was disabled",
    "oauth": "an app (the OAuth sign-in page)",
    "admin": "the operator console",
    "authorization_code": "an authorization code",
    "refresh_token": "a refresh token",
    "access": "access token",
    "refresh": "refresh token",
    "operator": "an operator",
    "dynamic": "dynamic registration",
    "metadata_document": "metadata document",
    "ok": "ok",
    "error": "error",
    "skipped": "skipped",
}
# Values shown in monospace (ids, URLs, scopes) and values that are times.
CODE_FIELDS = frozenset(
    {
        "redirect_uris",
        "previous_redirect_uris",
        "redirect_uri",
        "client_id",
        "scope",
        "resource",
        "prefix",
        "key",
        "token_endpoint_auth_method",
    }
)
TIME_FIELDS = frozenset({"old_secret_valid_until", "locked_until", "last_at"})


def audit_details(details: Mapping[str, Any] | None, translate: Callable[[str], str]) -> list[Detail]:
    """An entry's `details` as a definition list a person reads, in the order they were recorded."""
    items = []
    for key, value in (details or {}).items():
        if key in TIME_FIELDS and isinstance(value, str):
            values = [when(value)]
        else:
            values = detail_value(value, translate, {} if key in CODE_FIELDS else AUDIT_PHRASES)
        label = translate(AUDIT_FIELDS[key]) if key in AUDIT_FIELDS else key
        items.append(Detail(label, values, code=key in CODE_FIELDS))
    return items


class AuditHandler(AdminHandler):
    section = "audit"

    async def get(self) -> None:
        form = self.form(AuditFilterForm)
        actions = await queries.audit_actions(self.db)
        form.action.choices = [SelectChoice("", self.locale.translate("any")), *(SelectChoice(a) for a in actions)]
        valid = form.validate()
        f = (
            queries.AuditFilter(
                form.action.data or None,
                form.actor.data or None,
                form.target.data or None,
                form.since.data,
                form.until.data,
            )
            if valid
            else queries.AuditFilter()
        )
        page = self.int_argument("page")
        rows, total = await queries.audit_entries(self.db, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        query = {name: self.get_query_argument(name, "") for name in FILTERS}
        entries = [(row, audit_details(row["details"], self.locale.translate)) for row in rows]
        self.page(
            "admin/audit.html",
            status=200 if valid else 400,
            form=form,
            entries=entries,
            total=total,
            page=page,
            pages=page_count(total),
            query=query,
        )


routes = [
    (r"/admin/audit", AuditHandler),
]
