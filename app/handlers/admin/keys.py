"""API keys in the console: created on a user's page (the key shown once), revoked after a confirmation."""

from __future__ import annotations

from app.admin import queries
from app.admin.forms import ApiKeyForm
from app.auth import api_keys
from app.db import Row
from app.handlers.admin.base import Confirmation, ConfirmHandler, found
from app.handlers.admin.users import UserPage, user_or_404


class ApiKeyCreateHandler(UserPage):
    async def post(self, user_id: str) -> None:
        user = await user_or_404(self.db, user_id)
        form = self.form(ApiKeyForm)
        if form.validate():
            if not await self.first_submission(f"/admin/users/{user['id']}"):
                return
            try:
                row, key = await api_keys.create_api_key(self.db, user["email"], form.name.data, actor=self.actor)
            except api_keys.ApiKeyError as exc:
                form.name.errors.append(str(exc))
            else:
                self.page("admin/api_key_created.html", user=user, key_row=row, key=key)
                return
        await self.render_user(user, key_form=form, status=400)


class ApiKeyRevokeHandler(ConfirmHandler):
    section = "users"

    async def subject(self, key_id: str) -> Row:
        return found(await queries.api_key_by_id(self.db, int(key_id)), "No such API key")

    def describe(self, row: Row) -> Confirmation:
        return Confirmation(
            "Revoke the API key {prefix}…",
            "The key {name} of {email} stops working now. This cannot be undone.",
            "Revoke the key",
            f"/admin/users/{row['user_id']}",
            {"prefix": row["prefix"], "name": row["name"], "email": row["email"]},
        )

    async def perform(self, row: Row) -> None:
        await api_keys.revoke_api_key(self.db, row["id"], actor=self.actor)
        self.done(f"/admin/users/{row['user_id']}", "API key {prefix}… revoked", prefix=row["prefix"])


routes = [
    (r"/admin/users/(\d+)/api-keys", ApiKeyCreateHandler),
    (r"/admin/api-keys/(\d+)/revoke", ApiKeyRevokeHandler),
]
