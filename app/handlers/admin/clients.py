"""OAuth clients in the console: list, register (showing the values to paste into ChatGPT or Claude), edit,
rotate the secret, enable, disable, delete, and revoke every grant of one client."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from wtforms import Form
from wtforms.fields.choices import SelectChoice

from app.admin import queries
from app.admin.forms import AUTH_METHOD_CHOICES, ClientForm, ClientRegisterForm, redirect_uri_lines
from app.auth import clients, grants
from app.db import Database, Row
from app.handlers.admin.base import AdminHandler, Confirmation, ConfirmHandler, duration_text, found, when

# Where a ClientError about a register_client/update_client argument is shown, when the form names it otherwise.
FORM_FIELDS = {"token_endpoint_auth_method": "auth_method"}


async def client_or_404(db: Database, client_pk: str) -> Row:
    return found(await queries.client_by_pk(db, int(client_pk)), "No such client")


def show_error(form: Form, exc: clients.ClientError, default: Any) -> None:
    """Put the domain's refusal next to the field it is about (`default` when it names none on this form)."""
    field = getattr(form, FORM_FIELDS.get(exc.field or "", exc.field or ""), None) or default
    field.errors = [*field.errors, str(exc)]


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


def validate_keys(form: ClientRegisterForm) -> bool:
    """The key fields belong to private_key_jwt, and an inline key set must at least be JSON; the domain checks
    the rest (https, both given, which keys) and names the field it is about."""
    if form.auth_method.data != clients.KEY_METHOD:
        for field in (form.jwks_uri, form.jwks):
            if field.data:
                field.errors = [*field.errors, "Keys are used only with private_key_jwt"]
                return False
        return True
    if form.jwks.data:
        try:
            json.loads(form.jwks.data)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            form.jwks.errors = [*form.jwks.errors, 'Not JSON: paste the key set as {"keys": [...]}']
            return False
    return True


def show_secret(handler: AdminHandler, client: Row, secret: str | None, valid_until: dt.datetime | None = None) -> None:
    """The page with the values to paste into ChatGPT or Claude; the only time the secret is shown."""
    handler.page(
        "admin/client_secret.html",
        client=client,
        secret=secret,
        valid_until=valid_until,
        base=handler.config.public_url,
    )


class ClientPage(AdminHandler):
    """A console page about OAuth clients."""

    section = "clients"

    async def render_client(self, client: Row, form: ClientForm, status: int = 200) -> None:
        active = await grants.list_grants(self.db, client_pk=client["id"])
        self.page(
            "admin/client.html", status=status, client=client, form=form, grants=active, base=self.config.public_url
        )


class ClientConfirmHandler(ConfirmHandler):
    """A destructive action on one client, confirmed first."""

    section = "clients"

    async def subject(self, client_pk: str) -> Row:
        return await client_or_404(self.db, client_pk)


class ClientsHandler(ClientPage):
    async def get(self) -> None:
        self.page("admin/clients.html", clients=await clients.list_clients(self.db))


class ClientNewHandler(ClientPage):
    def register_form(self) -> ClientRegisterForm:
        form: ClientRegisterForm = self.form(ClientRegisterForm)
        form.auth_method.choices = [SelectChoice(v, self.locale.translate(label)) for v, label in AUTH_METHOD_CHOICES]
        return form

    def get(self) -> None:
        self.page("admin/client_new.html", form=self.register_form())

    async def post(self) -> None:
        form = self.register_form()
        uris = redirect_uri_lines(form.redirect_uris.data)
        if form.validate() and validate_uris(form.redirect_uris, uris) and validate_keys(form):
            if not await self.first_submission("/admin/clients"):
                return
            try:
                row, secret = await clients.register_client(
                    self.db,
                    name=form.name.data,
                    redirect_uris=uris,
                    token_endpoint_auth_method=form.auth_method.data,
                    source="operator",
                    actor=self.actor,
                    jwks_uri=form.jwks_uri.data or None,
                    jwks=json.loads(form.jwks.data) if form.jwks.data else None,
                    allow_loopback_jwks_uri=self.config.client_metadata_allow_loopback,
                )
            except clients.ClientError as exc:
                show_error(form, exc, form.name)
            else:
                show_secret(self, row, secret)
                return
        self.page("admin/client_new.html", status=400, form=form)


class ClientHandler(ClientPage):
    async def get(self, client_pk: str) -> None:
        client = await client_or_404(self.db, client_pk)
        form = ClientForm(data={"name": client["name"], "redirect_uris": "\n".join(client["redirect_uris"])})
        await self.render_client(client, form)


class ClientEditHandler(ClientHandler):
    """POST saves the form on the client's page (GET shows that page, as before)."""

    async def post(self, client_pk: str) -> None:
        client = await client_or_404(self.db, client_pk)
        form = self.form(ClientForm)
        uris = redirect_uri_lines(form.redirect_uris.data)
        if form.validate() and validate_uris(form.redirect_uris, uris):
            try:
                await clients.update_client(
                    self.db, client["client_id"], name=form.name.data, redirect_uris=uris, actor=self.actor
                )
            except clients.ClientError as exc:
                show_error(form, exc, form.redirect_uris)
            else:
                self.done(f"/admin/clients/{client['id']}", "Client saved")
                return
        await self.render_client(client, form, status=400)


class ClientEnableHandler(ClientPage):
    async def post(self, client_pk: str) -> None:
        client = await client_or_404(self.db, client_pk)
        await clients.set_client_disabled(self.db, client["client_id"], False, actor=self.actor)
        self.done(f"/admin/clients/{client['id']}", "Client “{name}” enabled", name=client["name"])


class ClientRotateHandler(ClientConfirmHandler):
    def describe(self, client: Row) -> Confirmation:
        grace = self.config.secret_rotation_grace
        return Confirmation(
            "Rotate the secret of “{name}”",
            "A new secret is shown once on the next page. The current secret keeps working for {grace} "
            "(until {until}), so you have that long to paste the new one into ChatGPT or Claude.",
            "Rotate the secret",
            f"/admin/clients/{client['id']}",
            {
                "name": client["name"],
                "grace": duration_text(grace, self.locale.translate),
                "until": when(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grace)),
            },
        )

    async def perform(self, client: Row) -> None:
        if not await self.first_submission(f"/admin/clients/{client['id']}"):
            return
        try:
            row, secret, valid_until = await clients.rotate_secret(
                self.db, client["client_id"], grace_seconds=self.config.secret_rotation_grace, actor=self.actor
            )
        except clients.ClientError as exc:
            self.done(f"/admin/clients/{client['id']}", str(exc), "error")
            return
        show_secret(self, row, secret, valid_until)


class ClientDisableHandler(ClientConfirmHandler):
    def describe(self, client: Row) -> Confirmation:
        return Confirmation(
            "Disable “{name}”",
            "Every grant of this client and all its tokens are revoked now; people must sign in and consent again "
            "once it is enabled.",
            "Disable the client",
            f"/admin/clients/{client['id']}",
            {"name": client["name"]},
        )

    async def perform(self, client: Row) -> None:
        await clients.set_client_disabled(self.db, client["client_id"], True, actor=self.actor)
        self.done(
            f"/admin/clients/{client['id']}", "Client “{name}” disabled; its tokens are revoked", name=client["name"]
        )


class ClientDeleteHandler(ClientConfirmHandler):
    def describe(self, client: Row) -> Confirmation:
        return Confirmation(
            "Delete “{name}”",
            "The client {client_id} is deleted with its secrets and grants; its tokens stop working now. "
            "This cannot be undone.",
            "Delete the client",
            f"/admin/clients/{client['id']}",
            {"name": client["name"], "client_id": client["client_id"]},
        )

    async def perform(self, client: Row) -> None:
        await clients.delete_client(self.db, client["client_id"], actor=self.actor)
        self.done("/admin/clients", "Client “{name}” deleted; its tokens are revoked", name=client["name"])


class ClientGrantsRevokeHandler(ClientConfirmHandler):
    def describe(self, client: Row) -> Confirmation:
        return Confirmation(
            "Revoke every grant of “{name}”",
            "Everyone signed in to this client loses access now and must consent again.",
            "Revoke all grants",
            f"/admin/clients/{client['id']}",
            {"name": client["name"]},
        )

    async def perform(self, client: Row) -> None:
        count = await grants.revoke_grants(
            self.db, client_pk=client["id"], reason="revoked by an operator", actor=self.actor
        )
        self.done(f"/admin/clients/{client['id']}", "{count} grants revoked", count=count)


routes = [
    (r"/admin/clients", ClientsHandler),
    (r"/admin/clients/new", ClientNewHandler),
    (r"/admin/clients/(\d+)", ClientHandler),
    (r"/admin/clients/(\d+)/edit", ClientEditHandler),
    (r"/admin/clients/(\d+)/rotate", ClientRotateHandler),
    (r"/admin/clients/(\d+)/enable", ClientEnableHandler),
    (r"/admin/clients/(\d+)/disable", ClientDisableHandler),
    (r"/admin/clients/(\d+)/delete", ClientDeleteHandler),
    (r"/admin/clients/(\d+)/grants/revoke", ClientGrantsRevokeHandler),
]
