"""The operator console at /admin: sign-in, OAuth clients, users, API keys, grants, audit log, scheduler.

Every page is server-rendered and works without JavaScript. Operators sign in with the same checks and
throttling as the OAuth consent page; the session lives in web_sessions and its id travels in a signed,
HttpOnly, SameSite=Lax cookie. Every POST passes Tornado's XSRF check before any handler code runs.
Destructive actions go through a confirmation page, and a secret is shown only on the POST response that
created it, never stored in clear and never cacheable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import tornado.web
from wtforms import Form
from wtforms.fields.choices import SelectChoice

from app import audit
from app.admin import queries
from app.admin.forms import (
    AUTH_METHOD_CHOICES,
    ApiKeyForm,
    AuditFilterForm,
    ClientForm,
    ClientRegisterForm,
    ConfirmForm,
    FormData,
    LoginForm,
    PasswordForm,
    UserCreateForm,
    UserSearchForm,
    redirect_uri_lines,
)
from app.auth import api_keys, clients, grants, users
from app.auth.passwords import PasswordRejected
from app.auth.signin import SignInError
from app.db import Row
from app.handlers.browser import SessionHandler, local_path
from app.jobs import CLEANUP_JOB, recent_runs, run_cleanup

LOGIN_URL = "/admin/login"
FLASH_COOKIE = "sl_flash"
FLASH_SECONDS = 120
PAGE_SIZE = 50

def when(value: dt.datetime | None) -> str:
    """A timestamp as operators read it everywhere in the console: UTC, to the minute."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration_text(seconds: int, translate: Any) -> str:
    """`86400` -> "24 h": short units, which need no plural forms in either language."""
    if seconds % 86400 == 0 and seconds >= 172800:
        return translate("{n} d").format(n=seconds // 86400)
    if seconds % 3600 == 0 and seconds >= 3600:
        return translate("{n} h").format(n=seconds // 3600)
    if seconds % 60 == 0 and seconds >= 60:
        return translate("{n} min").format(n=seconds // 60)
    return translate("{n} s").format(n=seconds)


@dataclass
class Confirmation:
    """What a confirmation page says: English texts with {placeholders}, translated when rendered."""

    title: str
    message: str
    button: str
    cancel: str
    params: dict[str, Any] = field(default_factory=dict)
    danger: bool = True


class ConsoleHandler(SessionHandler):
    """What every console page shares: forms, flash messages, field rendering; responses are never cached."""

    section = ""

    async def prepare(self) -> None:
        await super().prepare()
        # Console pages show private data and one-time secrets: no browser or proxy may keep a copy.
        self.set_header("Cache-Control", "no-store")

    def form(self, form_class: type[Form], **kwargs: Any) -> Any:
        """The form filled from the POST body (or from the query string on GET, for filters)."""
        if self.request.method == "POST":
            return form_class(FormData(self.request.body_arguments), **kwargs)
        return form_class(FormData(self.request.query_arguments), **kwargs)

    def flash(self, message: str, kind: str = "ok", **params: Any) -> None:
        """A message for the next page, in a short-lived signed cookie (translated now, in the actor's language)."""
        text = self.locale.translate(message).format(**params)
        self.set_signed_cookie(FLASH_COOKIE, json.dumps({"kind": kind, "text": text}), expires_days=None,
                               httponly=True, samesite="Lax", secure=self.config.secure_cookies, path="/admin")

    def pop_flash(self) -> dict[str, str] | None:
        raw = self.get_signed_cookie(FLASH_COOKIE, max_age_days=FLASH_SECONDS / 86400)
        if self.get_cookie(FLASH_COOKIE) is not None:
            self.clear_cookie(FLASH_COOKIE, path="/admin")
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def done(self, target: str, message: str, kind: str = "ok", **params: Any) -> None:
        """Say what happened and go to `target` (POST/redirect/GET)."""
        self.flash(message, kind, **params)
        self.redirect(target, status=303)

    def page(self, template: str, status: int = 200, **kwargs: Any) -> None:
        self.set_status(status)
        self.render(template, flash=self.pop_flash(), **kwargs)

    async def first_submission(self, target: str) -> bool:
        """Whether this POST is the form's first submission. A refresh of a page showing a new secret would
        POST again and make (or rotate to) another secret, leaving the one the operator copied stale; such a
        resubmission is sent to `target` with an explanation instead."""
        token = self.get_body_argument("once", "")
        if len(token) >= 16 and await queries.claim_submission(self.db, token):
            return True
        self.done(target, "This form was already submitted, so nothing was done again. A secret is shown only "
                          "once: if you did not copy it, rotate the secret or create a new key.", "error")
        return False

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(once_field=lambda: f'<input type="hidden" name="once" value="{secrets.token_urlsafe(18)}">',
                         field_html=self.field_html, when=when, section=self.section, operator=self.current_user,
                         qs=lambda query, **more: urlencode({k: v for k, v in {**query, **more}.items() if v}))
        return namespace

    def field_html(self, field: Any, **attrs: Any) -> bytes:
        """One form field with its label, hint and errors, the errors next to the field they are about."""
        return self.render_string("admin/_field.html", field=field, attrs=attrs)

    def int_argument(self, name: str, default: int = 1) -> int:
        try:
            return max(1, int(self.get_query_argument(name, str(default))))
        except ValueError:
            return default


class AdminHandler(ConsoleHandler):
    """A console page for signed-in operators: others are sent to sign in (403 when signed in but no operator)."""

    @property
    def operator(self) -> Row:
        return self.current_user  # type: ignore[no-any-return]

    @property
    def acting(self) -> dict[str, Any]:
        """Who is acting, in the form every domain function and audit entry takes."""
        return {"actor": self.operator["email"], "actor_user_id": self.operator["id"], "ip": self.request.remote_ip}

    async def prepare(self) -> None:
        await super().prepare()
        user = await self.session_user()
        if user is None:
            if self.request.method in ("GET", "HEAD"):
                self.redirect(f"{LOGIN_URL}?{urlencode({'next': self.request.uri})}")
            else:
                self.redirect(LOGIN_URL, status=303)
            return
        if not user["is_admin"]:
            raise tornado.web.HTTPError(403, "This account is not an operator")
        self.current_user = user


class ConfirmHandler(AdminHandler):
    """A destructive action: GET shows what will happen, POST (with the page's confirm field) does it."""

    async def describe(self, ident: str) -> Confirmation:
        raise NotImplementedError

    async def perform(self, ident: str) -> None:
        raise NotImplementedError

    async def get(self, ident: str) -> None:
        self.page("admin/confirm.html", c=await self.describe(ident), form=ConfirmForm())

    async def post(self, ident: str) -> None:
        confirmation = await self.describe(ident)
        form = self.form(ConfirmForm)
        if not form.validate():
            self.page("admin/confirm.html", status=400, c=confirmation, form=form)
            return
        await self.perform(ident)

    def next_path(self, default: str) -> str:
        return local_path(self.get_argument("next", None), default, within="/admin")


# ---- sign-in and sign-out ------------------------------------------------------------------------

class LoginHandler(ConsoleHandler):
    """GET shows the sign-in form; POST checks the password like the OAuth sign-in and starts a session."""

    def get(self) -> None:
        self.page("admin/login.html", form=LoginForm(), error=None,
                  next=local_path(self.get_argument("next", None), "/admin", within="/admin"))

    async def post(self) -> None:
        form = self.form(LoginForm)
        target = local_path(self.get_body_argument("next", None), "/admin", within="/admin")
        if not form.validate():
            self.page("admin/login.html", status=400, form=form, error=None, next=target)
            return
        try:
            await self.sign_in(form.email.data, form.password.data, purpose="admin", require_admin=True)
        except SignInError as exc:
            status, message = self.refusal(exc)
            self.page("admin/login.html", status=status, form=form, error=message, next=target)
            return
        self.redirect(target, status=303)


class LogoutHandler(AdminHandler):
    async def post(self) -> None:
        await self.sign_out(purpose="admin")
        self.flash("You are signed out")
        self.redirect(LOGIN_URL, status=303)


class OverviewHandler(AdminHandler):
    section = "overview"

    async def get(self) -> None:
        self.page("admin/overview.html", stats=await queries.overview(self.db))


# ---- OAuth clients -------------------------------------------------------------------------------

class ClientMixin(AdminHandler):
    section = "clients"

    async def client(self, client_pk: str) -> Row:
        row = await queries.client_by_pk(self.db, int(client_pk))
        if row is None:
            raise tornado.web.HTTPError(404, "No such client")
        return row

    def show_secret(self, client: Row, secret: str | None, valid_until: dt.datetime | None = None) -> None:
        """The page with the values to paste into ChatGPT or Claude; the only time the secret is shown."""
        self.page("admin/client_secret.html", client=client, secret=secret, valid_until=valid_until,
                  base=self.config.public_url)


class ClientsHandler(ClientMixin):
    async def get(self) -> None:
        self.page("admin/clients.html", clients=await clients.list_clients(self.db))


class ClientNewHandler(ClientMixin):
    def register_form(self) -> ClientRegisterForm:
        form: ClientRegisterForm = self.form(ClientRegisterForm)
        form.auth_method.choices = [SelectChoice(v, self.locale.translate(label)) for v, label in AUTH_METHOD_CHOICES]
        return form

    def get(self) -> None:
        self.page("admin/client_new.html", form=self.register_form())

    async def post(self) -> None:
        form = self.register_form()
        uris = redirect_uri_lines(form.redirect_uris.data)
        if form.validate() and validate_uris(form.redirect_uris, uris):
            if not await self.first_submission("/admin/clients"):
                return
            try:
                row, secret = await clients.register_client(
                    self.db, name=form.name.data, redirect_uris=uris,
                    token_endpoint_auth_method=form.auth_method.data, source="operator", **self.acting)
            except clients.ClientError as exc:
                (form.redirect_uris if "redirect" in str(exc) else form.name).errors.append(str(exc))
            else:
                self.show_secret(row, secret)
                return
        self.page("admin/client_new.html", status=400, form=form)


def validate_uris(field: Any, uris: list[str]) -> bool:
    """Check each redirect URI with the OAuth rules; the errors go next to the textarea."""
    errors = []
    for uri in uris:
        try:
            clients.validate_redirect_uri(uri)
        except clients.ClientError as exc:
            errors.append(str(exc))
    if len(uris) > clients.MAX_REDIRECT_URIS:
        errors.append(f"at most {clients.MAX_REDIRECT_URIS} redirect URIs may be registered")
    field.errors = [*field.errors, *errors]
    return not errors


class ClientHandler(ClientMixin):
    async def get(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        form = ClientForm(data={"name": client["name"], "redirect_uris": "\n".join(client["redirect_uris"])})
        await self.render_client(client, form)

    async def render_client(self, client: Row, form: ClientForm, status: int = 200) -> None:
        active = await grants.list_grants(self.db, client_pk=client["id"])
        self.page("admin/client.html", status=status, client=client, form=form, grants=active,
                  base=self.config.public_url)


class ClientEditHandler(ClientHandler):
    async def post(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        form = self.form(ClientForm)
        uris = redirect_uri_lines(form.redirect_uris.data)
        if form.validate() and validate_uris(form.redirect_uris, uris):
            try:
                await clients.update_client(self.db, client["client_id"], name=form.name.data, redirect_uris=uris,
                                            **self.acting)
            except clients.ClientError as exc:
                form.redirect_uris.errors = [*form.redirect_uris.errors, str(exc)]
            else:
                self.done(f"/admin/clients/{client['id']}", "Client saved")
                return
        await self.render_client(client, form, status=400)


class ClientEnableHandler(ClientMixin):
    async def post(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        await clients.set_client_disabled(self.db, client["client_id"], False, **self.acting)
        self.done(f"/admin/clients/{client['id']}", "Client {name} enabled", name=client["name"])


class ClientConfirmHandler(ConfirmHandler, ClientMixin):
    """A destructive client action."""


class ClientRotateHandler(ClientConfirmHandler):
    async def describe(self, client_pk: str) -> Confirmation:
        client = await self.client(client_pk)
        return Confirmation(
            "Rotate the secret of {name}",
            "A new secret is shown once on the next page. The current secret keeps working for {grace} "
            "(until {until}), so you have that long to paste the new one into ChatGPT or Claude.",
            "Rotate the secret", f"/admin/clients/{client['id']}",
            {"name": client["name"], "grace": duration_text(self.config.secret_rotation_grace, self.locale.translate),
             "until": when(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.config.secret_rotation_grace))},
        )

    async def perform(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        if not await self.first_submission(f"/admin/clients/{client['id']}"):
            return
        try:
            row, secret, valid_until = await clients.rotate_secret(
                self.db, client["client_id"], grace_seconds=self.config.secret_rotation_grace, **self.acting)
        except clients.ClientError as exc:
            self.done(f"/admin/clients/{client['id']}", str(exc), "error")
            return
        self.show_secret(row, secret, valid_until)


class ClientDisableHandler(ClientConfirmHandler):
    async def describe(self, client_pk: str) -> Confirmation:
        client = await self.client(client_pk)
        return Confirmation(
            "Disable {name}",
            "Every grant of this client and all its tokens are revoked now; people must sign in and consent again "
            "once it is enabled.",
            "Disable the client", f"/admin/clients/{client['id']}", {"name": client["name"]})

    async def perform(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        await clients.set_client_disabled(self.db, client["client_id"], True, **self.acting)
        self.done(f"/admin/clients/{client['id']}", "Client {name} disabled; its tokens are revoked",
                  name=client["name"])


class ClientDeleteHandler(ClientConfirmHandler):
    async def describe(self, client_pk: str) -> Confirmation:
        client = await self.client(client_pk)
        return Confirmation(
            "Delete {name}",
            "The client {client_id} is deleted with its secrets and grants; its tokens stop working now. "
            "This cannot be undone.",
            "Delete the client", f"/admin/clients/{client['id']}",
            {"name": client["name"], "client_id": client["client_id"]})

    async def perform(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        await clients.delete_client(self.db, client["client_id"], **self.acting)
        self.done("/admin/clients", "Client {name} deleted; its tokens are revoked", name=client["name"])


class ClientGrantsRevokeHandler(ClientConfirmHandler):
    async def describe(self, client_pk: str) -> Confirmation:
        client = await self.client(client_pk)
        return Confirmation(
            "Revoke every grant of {name}",
            "Everyone signed in to this client loses access now and must consent again.",
            "Revoke all grants", f"/admin/clients/{client['id']}", {"name": client["name"]})

    async def perform(self, client_pk: str) -> None:
        client = await self.client(client_pk)
        count = await grants.revoke_grants(self.db, client_pk=client["id"], reason="revoked by an operator",
                                           **self.acting)
        self.done(f"/admin/clients/{client['id']}", "{count} grants revoked", count=count)


# ---- users, passwords, operator rights -----------------------------------------------------------

class UserMixin(AdminHandler):
    section = "users"

    async def user(self, user_id: str) -> Row:
        row = await users.get_user(self.db, int(user_id))
        if row is None:
            raise tornado.web.HTTPError(404, "No such user")
        return row

    async def render_user(self, user: Row, *, password_form: PasswordForm | None = None,
                          key_form: ApiKeyForm | None = None, status: int = 200) -> None:
        self.page("admin/user.html", status=status, user=user, password_form=password_form or PasswordForm(),
                  key_form=key_form or ApiKeyForm(), keys=await api_keys.list_api_keys(self.db, user["id"]),
                  grants=await grants.list_grants(self.db, user_id=user["id"]))


class UsersHandler(UserMixin):
    async def get(self) -> None:
        form = self.form(UserSearchForm)
        search = form.q.data if form.validate() else None
        page = self.int_argument("page")
        rows = await users.list_users(self.db, search=search, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        total = await users.count_users(self.db, search=search)
        self.page("admin/users.html", form=form, users=rows, total=total, page=page,
                  pages=max(1, math.ceil(total / PAGE_SIZE)), query={"q": search or ""})


class UserNewHandler(UserMixin):
    def get(self) -> None:
        self.page("admin/user_new.html", form=UserCreateForm())

    async def post(self) -> None:
        form = self.form(UserCreateForm)
        if form.validate():
            try:
                row = await users.create_user(
                    self.db, form.email.data, password=form.password.data or None, is_admin=form.is_admin.data,
                    rounds=self.config.bcrypt_rounds, actor=self.operator["email"],
                    actor_user_id=self.operator["id"], ip=self.request.remote_ip)
            except PasswordRejected as exc:
                form.password.errors.append(str(exc))
            except users.UserError as exc:
                form.email.errors.append(str(exc))
            else:
                self.done(f"/admin/users/{row['id']}", "User {email} created", email=row["email"])
                return
        self.page("admin/user_new.html", status=400, form=form)


class UserHandler(UserMixin):
    async def get(self, user_id: str) -> None:
        await self.render_user(await self.user(user_id))


class UserPasswordHandler(UserMixin):
    async def post(self, user_id: str) -> None:
        user = await self.user(user_id)
        form = self.form(PasswordForm)
        if form.validate():
            try:
                await users.set_password(self.db, user["email"], form.password.data, rounds=self.config.bcrypt_rounds,
                                         actor=self.operator["email"], actor_user_id=self.operator["id"],
                                         ip=self.request.remote_ip)
            except PasswordRejected as exc:
                form.password.errors.append(str(exc))
            else:
                self.done(f"/admin/users/{user['id']}", "Password of {email} set", email=user["email"])
                return
        await self.render_user(user, password_form=form, status=400)


class UserEnableHandler(UserMixin):
    async def post(self, user_id: str) -> None:
        user = await self.user(user_id)
        await users.set_user_disabled(self.db, user["id"], False, **self.acting)
        self.done(f"/admin/users/{user['id']}", "User {email} enabled", email=user["email"])


class UserGrantOperatorHandler(UserMixin):
    async def post(self, user_id: str) -> None:
        user = await self.user(user_id)
        await users.set_admin(self.db, user["id"], True, **self.acting)
        self.done(f"/admin/users/{user['id']}", "{email} is now an operator", email=user["email"])


class UserConfirmHandler(ConfirmHandler, UserMixin):
    """A destructive user action; a refusal (the last operator) comes back as an error message."""

    async def attempt(self, user: Row, change: Any, message: str) -> None:
        try:
            await change
        except users.UserError as exc:
            self.done(f"/admin/users/{user['id']}", str(exc), "error")
            return
        # An operator who just disabled or demoted themselves can no longer see the user page.
        target = LOGIN_URL if user["id"] == self.operator["id"] else f"/admin/users/{user['id']}"
        self.done(target, message, email=user["email"])


class UserDisableHandler(UserConfirmHandler):
    async def describe(self, user_id: str) -> Confirmation:
        user = await self.user(user_id)
        return Confirmation(
            "Disable {email}",
            "They cannot sign in, their browser sessions end, their OAuth grants and tokens are revoked and their "
            "API keys stop working until the account is enabled again.",
            "Disable the user", f"/admin/users/{user['id']}", {"email": user["email"]})

    async def perform(self, user_id: str) -> None:
        user = await self.user(user_id)
        await self.attempt(user, users.set_user_disabled(self.db, user["id"], True, **self.acting),
                           "User {email} disabled; their tokens are revoked")


class UserRemoveOperatorHandler(UserConfirmHandler):
    async def describe(self, user_id: str) -> Confirmation:
        user = await self.user(user_id)
        return Confirmation("Remove operator rights from {email}",
                            "They can no longer use this console. Their OAuth grants and API keys are not touched.",
                            "Remove operator rights", f"/admin/users/{user['id']}", {"email": user["email"]})

    async def perform(self, user_id: str) -> None:
        user = await self.user(user_id)
        await self.attempt(user, users.set_admin(self.db, user["id"], False, **self.acting),
                           "{email} is no longer an operator")


class UserGrantsRevokeHandler(UserConfirmHandler):
    async def describe(self, user_id: str) -> Confirmation:
        user = await self.user(user_id)
        return Confirmation("Revoke every grant of {email}",
                            "Every OAuth client they signed in to loses access now; their API keys are not touched.",
                            "Revoke all grants", f"/admin/users/{user['id']}", {"email": user["email"]})

    async def perform(self, user_id: str) -> None:
        user = await self.user(user_id)
        count = await grants.revoke_grants(self.db, user_id=user["id"], reason="revoked by an operator",
                                           **self.acting)
        self.done(f"/admin/users/{user['id']}", "{count} grants revoked", count=count)


# ---- API keys and single grants ------------------------------------------------------------------

class ApiKeyCreateHandler(UserMixin):
    async def post(self, user_id: str) -> None:
        user = await self.user(user_id)
        form = self.form(ApiKeyForm)
        if form.validate():
            if not await self.first_submission(f"/admin/users/{user['id']}"):
                return
            try:
                row, key = await api_keys.create_api_key(self.db, user["email"], form.name.data, **self.acting)
            except api_keys.ApiKeyError as exc:
                form.name.errors.append(str(exc))
            else:
                self.page("admin/api_key_created.html", user=user, key_row=row, key=key)
                return
        await self.render_user(user, key_form=form, status=400)


class ApiKeyRevokeHandler(ConfirmHandler, UserMixin):
    async def key(self, key_id: str) -> Row:
        row = await queries.api_key_by_id(self.db, int(key_id))
        if row is None:
            raise tornado.web.HTTPError(404, "No such API key")
        return row

    async def describe(self, key_id: str) -> Confirmation:
        row = await self.key(key_id)
        return Confirmation("Revoke the API key {prefix}…",
                            "The key {name} of {email} stops working now. This cannot be undone.",
                            "Revoke the key", f"/admin/users/{row['user_id']}",
                            {"prefix": row["prefix"], "name": row["name"], "email": row["email"]})

    async def perform(self, key_id: str) -> None:
        row = await self.key(key_id)
        await api_keys.revoke_api_key(self.db, row["id"], **self.acting)
        self.done(f"/admin/users/{row['user_id']}", "API key {prefix}… revoked", prefix=row["prefix"])


class GrantRevokeHandler(ConfirmHandler, UserMixin):
    async def grant(self, grant_id: str) -> Row:
        row = await queries.grant_by_id(self.db, int(grant_id))
        if row is None:
            raise tornado.web.HTTPError(404, "No such grant")
        return row

    async def describe(self, grant_id: str) -> Confirmation:
        row = await self.grant(grant_id)
        return Confirmation("Revoke the grant of {email} to {client}",
                            "{client} loses access to the account of {email} now; its tokens stop working.",
                            "Revoke the grant", self.next_path(f"/admin/users/{row['user_id']}"),
                            {"email": row["email"], "client": row["client_name"]})

    async def perform(self, grant_id: str) -> None:
        row = await self.grant(grant_id)
        revoked = await grants.revoke_grant(self.db, row["id"], reason="revoked by an operator", **self.acting)
        target = self.next_path(f"/admin/users/{row['user_id']}")
        if revoked:
            self.done(target, "Grant of {email} to {client} revoked", email=row["email"], client=row["client_name"])
        else:
            self.done(target, "That grant was already revoked", "error")


# ---- audit log and scheduler ---------------------------------------------------------------------

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
        query = {name: self.get_query_argument(name, "") for name in ("action", "actor", "target", "since", "until")}
        self.page("admin/audit.html", status=200 if valid else 400, form=form, rows=rows, total=total, page=page,
                  pages=max(1, math.ceil(total / PAGE_SIZE)), query=query)


class SchedulerHandler(AdminHandler):
    section = "scheduler"

    async def get(self) -> None:
        scheduler = self.settings.get("scheduler")
        job = scheduler.get_job(CLEANUP_JOB) if scheduler is not None else None
        self.page("admin/scheduler.html", cron=self.config.cleanup_cron,
                  next_run=job.next_run_time if job is not None else None, runs=await recent_runs(self.db))


class SchedulerRunHandler(AdminHandler):
    async def post(self) -> None:
        result = await run_cleanup(self.db, "manual")
        await audit.record(self.db, "cleanup.run", target_type="job", target_id=result.run_id,
                           details={"status": result.status, "rows_deleted": result.rows_deleted}, **self.acting)
        if result.status == "ok":
            self.done("/admin/scheduler", "Cleanup finished: {rows} rows deleted in {ms} ms",
                      rows=result.rows_deleted, ms=result.duration_ms)
        elif result.status == "skipped":
            self.done("/admin/scheduler", "Cleanup skipped: another cleanup was running", "error")
        else:
            self.done("/admin/scheduler", "Cleanup failed; see the last runs below", "error")


routes = [
    (r"/admin/?", OverviewHandler),
    (r"/admin/login", LoginHandler),
    (r"/admin/logout", LogoutHandler),
    (r"/admin/clients", ClientsHandler),
    (r"/admin/clients/new", ClientNewHandler),
    (r"/admin/clients/(\d+)", ClientHandler),
    (r"/admin/clients/(\d+)/edit", ClientEditHandler),
    (r"/admin/clients/(\d+)/rotate", ClientRotateHandler),
    (r"/admin/clients/(\d+)/enable", ClientEnableHandler),
    (r"/admin/clients/(\d+)/disable", ClientDisableHandler),
    (r"/admin/clients/(\d+)/delete", ClientDeleteHandler),
    (r"/admin/clients/(\d+)/grants/revoke", ClientGrantsRevokeHandler),
    (r"/admin/users", UsersHandler),
    (r"/admin/users/new", UserNewHandler),
    (r"/admin/users/(\d+)", UserHandler),
    (r"/admin/users/(\d+)/password", UserPasswordHandler),
    (r"/admin/users/(\d+)/enable", UserEnableHandler),
    (r"/admin/users/(\d+)/disable", UserDisableHandler),
    (r"/admin/users/(\d+)/operator/grant", UserGrantOperatorHandler),
    (r"/admin/users/(\d+)/operator/remove", UserRemoveOperatorHandler),
    (r"/admin/users/(\d+)/grants/revoke", UserGrantsRevokeHandler),
    (r"/admin/users/(\d+)/api-keys", ApiKeyCreateHandler),
    (r"/admin/api-keys/(\d+)/revoke", ApiKeyRevokeHandler),
    (r"/admin/grants/(\d+)/revoke", GrantRevokeHandler),
    (r"/admin/audit", AuditHandler),
    (r"/admin/scheduler", SchedulerHandler),
    (r"/admin/scheduler/run", SchedulerRunHandler),
]
