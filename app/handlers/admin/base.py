"""What every console page shares: the signed-in operator, forms, flash messages, paging, confirmations."""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import tornado.web
from wtforms import Form

from app.admin import queries
from app.admin.forms import ConfirmForm, FormData
from app.audit import Actor
from app.db import Row
from app.handlers.browser import SessionHandler, local_path

CONSOLE = "/admin"
LOGIN_URL = "/admin/login"
FLASH_COOKIE = "sl_flash"
FLASH_SECONDS = 120
PAGE_SIZE = 50


def when(value: dt.datetime | str | None) -> str:
    """A timestamp as operators read it everywhere in the console: UTC, to the minute (an ISO 8601 string, as
    audit details keep them, too)."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def stamp(value: dt.datetime | None) -> str:
    """`when(value)` as HTML for a table cell: it may wrap between the day and the time, never inside the day
    (browsers would break "2026-11-29" after a hyphen)."""
    day, _, minute = when(value).partition(" ")
    # One element: a phone's stacked table cell lays out its children side by side.
    return f'<span><span class="nowrap">{day}</span> <span class="nowrap">{minute}</span></span>' if minute else day


def duration_text(seconds: int, translate: Callable[[str], str]) -> str:
    """`86400` -> "24 h": short units, which need no plural forms in either language."""
    if seconds % 86400 == 0 and seconds >= 172800:
        return translate("{n} d").format(n=seconds // 86400)
    if seconds % 3600 == 0 and seconds >= 3600:
        return translate("{n} h").format(n=seconds // 3600)
    if seconds % 60 == 0 and seconds >= 60:
        return translate("{n} min").format(n=seconds // 60)
    return translate("{n} s").format(n=seconds)


@dataclass(frozen=True)
class Detail:
    """One line of a details list on a console page: a translated label and its values, in monospace (`code`)
    when they are ids, URLs or scopes."""

    label: str
    values: list[str]
    code: bool = False


def detail_value(value: Any, translate: Callable[[str], str], phrases: Mapping[str, str]) -> list[str]:
    """A value of an audit or job record as a person reads it: yes/no, each item of a list, a known code in
    words (`phrases`, English, translated here), anything else as text."""
    if isinstance(value, bool):
        return [translate("yes") if value else translate("no")]
    if value is None or value == "" or value == []:
        return ["—"]
    if isinstance(value, list):
        return [item for v in value for item in detail_value(v, translate, phrases)]
    if isinstance(value, dict):
        return [json.dumps(value, ensure_ascii=False, sort_keys=True)]
    if isinstance(value, str) and value in phrases:
        return [translate(phrases[value])]
    return [str(value)]


def found(row: Row | None, message: str) -> Row:
    """`row`, or the 404 page saying `message` (e.g. "No such user") when there is none."""
    if row is None:
        raise tornado.web.HTTPError(404, message)
    return row


MAX_PAGE = 1_000_000


def page_count(total: int) -> int:
    """How many pages of PAGE_SIZE rows `total` rows fill (at least one, so an empty list has a page)."""
    return max(1, math.ceil(total / PAGE_SIZE))


@dataclass
class Confirmation:
    """What a confirmation page says: English texts with {placeholders}, translated when rendered."""

    title: str
    message: str
    button: str
    cancel: str
    params: dict[str, Any] = field(default_factory=dict)
    danger: bool = True
    warning: str | None = None  # said above the button (e.g. that it signs the operator out)
    refused: bool = False  # the action would be refused: the page says why (`warning`) and offers no button


def cautioned(c: Confirmation, warning: str, *, refused: bool = False) -> Confirmation:
    """`c` with a warning; with `refused`, the warning says why the action cannot be done."""
    return replace(c, warning=warning, refused=refused)


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

    def next_path(self, default: str = CONSOLE) -> str:
        """The `next` argument when it is a console path, else `default` (never an open redirect)."""
        return local_path(self.get_argument("next", None), default, within=CONSOLE)

    def flash(self, message: str, kind: str = "ok", **params: Any) -> None:
        """A message for the next page, in a short-lived signed cookie (translated now, in the actor's language)."""
        text = self.locale.translate(message).format(**params)
        self.set_signed_cookie(
            FLASH_COOKIE,
            json.dumps({"kind": kind, "text": text}),
            expires_days=None,
            httponly=True,
            samesite="Lax",
            secure=self.config.secure_cookies,
            path=CONSOLE,
        )

    def pop_flash(self) -> dict[str, str] | None:
        raw = self.get_signed_cookie(FLASH_COOKIE, max_age_days=FLASH_SECONDS / 86400)
        if self.get_cookie(FLASH_COOKIE) is not None:
            self.clear_cookie(FLASH_COOKIE, path=CONSOLE)
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
        self.done(
            target,
            "This form was already submitted, so nothing was done again. A secret is shown only "
            "once: if you did not copy it, rotate the secret or create a new key.",
            "error",
        )
        return False

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            once_field=lambda: f'<input type="hidden" name="once" value="{secrets.token_urlsafe(18)}">',
            field_html=self.field_html,
            when=when,
            stamp=stamp,
            section=self.section,
            operator=self.current_user,
            qs=lambda query, **more: urlencode({k: v for k, v in {**query, **more}.items() if v}),
        )
        return namespace

    def field_html(self, field: Any, **attrs: Any) -> bytes:
        """One form field with its label, hint and errors, the errors next to the field they are about."""
        return self.render_string("admin/_field.html", field=field, attrs=attrs)

    def int_argument(self, name: str, default: int = 1) -> int:
        """A page number: at least 1 and at most MAX_PAGE (a larger one once overflowed the SQL offset: a 500)."""
        try:
            return min(MAX_PAGE, max(1, int(self.get_query_argument(name, str(default)))))
        except ValueError:
            return default


class AdminHandler(ConsoleHandler):
    """A console page for signed-in operators: others are sent to sign in (403 when signed in but no operator)."""

    @property
    def operator(self) -> Row:
        operator: Row = self.current_user  # Tornado types it Any; prepare() sets it to the operator's row
        return operator

    @property
    def actor(self) -> Actor:
        """The signed-in operator, as every domain function and audit entry takes who is acting."""
        return Actor(self.operator["email"], self.operator["id"], self.request.remote_ip)

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
            raise tornado.web.HTTPError(403, "This account is not an operator.")
        self.current_user = user


class ConfirmHandler(AdminHandler):
    """A destructive action on one row: GET shows what will happen, POST (with the page's confirm field) does it.

    The row is looked up once per request (`subject`, 404 when there is none) and handed to `describe` and
    `perform`, so the page and the action are about the same row.
    """

    async def subject(self, ident: str) -> Row:
        raise NotImplementedError

    def describe(self, row: Row) -> Confirmation:
        raise NotImplementedError

    async def confirmation(self, row: Row) -> Confirmation:
        """What the page says: `describe`, with a warning where the row's state calls for one."""
        return self.describe(row)

    async def perform(self, row: Row) -> None:
        raise NotImplementedError

    async def get(self, ident: str) -> None:
        self.page("admin/confirm.html", c=await self.confirmation(await self.subject(ident)), form=ConfirmForm())

    async def post(self, ident: str) -> None:
        row = await self.subject(ident)
        form = self.form(ConfirmForm)
        if not form.validate():
            self.page("admin/confirm.html", status=400, c=await self.confirmation(row), form=form)
            return
        await self.perform(row)
