"""Revoking one grant from the console (from a user's page or a client's page, which `next` goes back to)."""

from __future__ import annotations

from app.admin import queries
from app.auth import grants
from app.db import Row
from app.handlers.admin.base import Confirmation, ConfirmHandler, found


class GrantRevokeHandler(ConfirmHandler):
    section = "users"

    async def subject(self, grant_id: str) -> Row:
        return found(await queries.grant_by_id(self.db, int(grant_id)), "No such grant")

    def describe(self, row: Row) -> Confirmation:
        return Confirmation(
            "Revoke the grant of {email} to “{client}”",
            "“{client}” loses access to the account of {email} now; its tokens stop working.",
            "Revoke the grant",
            self.next_path(f"/admin/users/{row['user_id']}"),
            {"email": row["email"], "client": row["client_name"]},
        )

    async def perform(self, row: Row) -> None:
        revoked = await grants.revoke_grant(self.db, row["id"], reason="revoked by an operator", actor=self.actor)
        target = self.next_path(f"/admin/users/{row['user_id']}")
        if revoked:
            self.done(target, "Grant of {email} to “{client}” revoked", email=row["email"], client=row["client_name"])
        else:
            self.done(target, "That grant was already revoked", "error")


routes = [
    (r"/admin/grants/(\d+)/revoke", GrantRevokeHandler),
]
