"""Users in the console: search, create, set passwords, enable and disable, operator rights, revoke grants."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from app.admin.forms import ApiKeyForm, PasswordForm, UserCreateForm, UserSearchForm
from app.auth import api_keys, grants, users
from app.auth.passwords import PasswordRejected
from app.db import Database, Row
from app.handlers.admin.base import (
    LOGIN_URL,
    PAGE_SIZE,
    AdminHandler,
    Confirmation,
    ConfirmHandler,
    cautioned,
    found,
    page_count,
)


async def user_or_404(db: Database, user_id: str) -> Row:
    return found(await users.get_user(db, int(user_id)), "No such user")


class UserPage(AdminHandler):
    """A console page about users; `render_user` shows one user with their forms, keys and grants."""

    section = "users"

    async def render_user(
        self,
        user: Row,
        *,
        password_form: PasswordForm | None = None,
        key_form: ApiKeyForm | None = None,
        status: int = 200,
    ) -> None:
        self.page(
            "admin/user.html",
            status=status,
            user=user,
            password_form=password_form or PasswordForm(),
            key_form=key_form or ApiKeyForm(),
            keys=await api_keys.list_api_keys(self.db, user["id"]),
            grants=await grants.list_grants(self.db, user_id=user["id"]),
        )


class UserConfirmHandler(ConfirmHandler):
    """A destructive action on one user; a refusal (the last operator) comes back as an error message."""

    section = "users"

    async def subject(self, user_id: str) -> Row:
        return await user_or_404(self.db, user_id)

    async def attempt(self, user: Row, change: Awaitable[Any], message: str) -> None:
        try:
            await change
        except users.UserError as exc:
            self.done(f"/admin/users/{user['id']}", str(exc), "error")
            return
        # An operator who just disabled or demoted themselves can no longer see the user page.
        target = LOGIN_URL if user["id"] == self.operator["id"] else f"/admin/users/{user['id']}"
        self.done(target, message, email=user["email"])


class UsersHandler(UserPage):
    async def get(self) -> None:
        form = self.form(UserSearchForm)
        search = form.q.data if form.validate() else None
        page = self.int_argument("page")
        rows = await users.list_users(self.db, search=search, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        total = await users.count_users(self.db, search=search)
        self.page(
            "admin/users.html",
            form=form,
            users=rows,
            total=total,
            page=page,
            pages=page_count(total),
            query={"q": search or ""},
        )


class UserNewHandler(UserPage):
    def get(self) -> None:
        self.page("admin/user_new.html", form=UserCreateForm())

    async def post(self) -> None:
        form = self.form(UserCreateForm)
        if form.validate():
            try:
                row = await users.create_user(
                    self.db,
                    form.email.data,
                    password=form.password.data or None,
                    is_admin=form.is_admin.data,
                    rounds=self.config.bcrypt_rounds,
                    actor=self.actor,
                )
            except PasswordRejected as exc:
                form.password.errors.append(str(exc))
            except users.UserError as exc:
                form.email.errors.append(str(exc))
            else:
                self.done(f"/admin/users/{row['id']}", "User {email} created", email=row["email"])
                return
        self.page("admin/user_new.html", status=400, form=form)


class UserHandler(UserPage):
    async def get(self, user_id: str) -> None:
        await self.render_user(await user_or_404(self.db, user_id))


class UserPasswordHandler(UserPage):
    async def post(self, user_id: str) -> None:
        user = await user_or_404(self.db, user_id)
        form = self.form(PasswordForm)
        if form.validate():
            try:
                await users.set_password(
                    self.db, user["email"], form.password.data, rounds=self.config.bcrypt_rounds, actor=self.actor
                )
            except PasswordRejected as exc:
                form.password.errors.append(str(exc))
            else:
                self.done(f"/admin/users/{user['id']}", "Password of {email} set", email=user["email"])
                return
        await self.render_user(user, password_form=form, status=400)


class UserEnableHandler(UserPage):
    async def post(self, user_id: str) -> None:
        user = await user_or_404(self.db, user_id)
        await users.set_user_disabled(self.db, user["id"], False, actor=self.actor)
        self.done(f"/admin/users/{user['id']}", "User {email} enabled", email=user["email"])


class UserGrantOperatorHandler(UserPage):
    async def post(self, user_id: str) -> None:
        user = await user_or_404(self.db, user_id)
        await users.set_admin(self.db, user["id"], True, actor=self.actor)
        self.done(f"/admin/users/{user['id']}", "{email} is now an operator", email=user["email"])


class UserDisableHandler(UserConfirmHandler):
    def describe(self, user: Row) -> Confirmation:
        return Confirmation(
            "Disable {email}",
            "They cannot sign in, their browser sessions end, their OAuth grants and tokens are revoked and their "
            "API keys stop working until the account is enabled again.",
            "Disable the user",
            f"/admin/users/{user['id']}",
            {"email": user["email"]},
        )

    async def confirmation(self, user: Row) -> Confirmation:
        c = self.describe(user)
        if not user["disabled"] and await users.is_last_operator(self.db, user["id"]):
            return cautioned(
                c,
                "{email} is the last operator: disabling them would leave no one who can use this "
                "console, so it is refused. Make another user an operator first.",
                refused=True,
            )
        if user["id"] == self.operator["id"]:
            return cautioned(
                c,
                "This is your own account: you will be signed out at once and cannot sign in "
                "again until another operator enables it.",
            )
        return c

    async def perform(self, user: Row) -> None:
        await self.attempt(
            user,
            users.set_user_disabled(self.db, user["id"], True, actor=self.actor),
            "User {email} disabled; their tokens are revoked",
        )


class UserRemoveOperatorHandler(UserConfirmHandler):
    def describe(self, user: Row) -> Confirmation:
        return Confirmation(
            "Remove operator rights from {email}",
            "They can no longer use this console. Their OAuth grants and API keys are not touched.",
            "Remove operator rights",
            f"/admin/users/{user['id']}",
            {"email": user["email"]},
        )

    async def confirmation(self, user: Row) -> Confirmation:
        c = self.describe(user)
        if user["is_admin"] and await users.is_last_operator(self.db, user["id"]):
            return cautioned(
                c,
                "{email} is the last operator: without their rights no one could use this console, "
                "so it is refused. Make another user an operator first.",
                refused=True,
            )
        if user["id"] == self.operator["id"]:
            return cautioned(c, "These are your own rights: you will be signed out of this console at once.")
        return c

    async def perform(self, user: Row) -> None:
        await self.attempt(
            user, users.set_admin(self.db, user["id"], False, actor=self.actor), "{email} is no longer an operator"
        )


class UserGrantsRevokeHandler(UserConfirmHandler):
    def describe(self, user: Row) -> Confirmation:
        return Confirmation(
            "Revoke every grant of {email}",
            "Every OAuth client they signed in to loses access now; their API keys are not touched.",
            "Revoke all grants",
            f"/admin/users/{user['id']}",
            {"email": user["email"]},
        )

    async def perform(self, user: Row) -> None:
        count = await grants.revoke_grants(
            self.db, user_id=user["id"], reason="revoked by an operator", actor=self.actor
        )
        self.done(f"/admin/users/{user['id']}", "{count} grants revoked", count=count)


routes = [
    (r"/admin/users", UsersHandler),
    (r"/admin/users/new", UserNewHandler),
    (r"/admin/users/(\d+)", UserHandler),
    (r"/admin/users/(\d+)/password", UserPasswordHandler),
    (r"/admin/users/(\d+)/enable", UserEnableHandler),
    (r"/admin/users/(\d+)/disable", UserDisableHandler),
    (r"/admin/users/(\d+)/operator/grant", UserGrantOperatorHandler),
    (r"/admin/users/(\d+)/operator/remove", UserRemoveOperatorHandler),
    (r"/admin/users/(\d+)/grants/revoke", UserGrantsRevokeHandler),
]
