"""Every sentence of the operator console and of the public pages (home, sign-in and consent, error pages) has a
Ukrainian translation."""

from __future__ import annotations

import ast
import csv
import re
from http import HTTPStatus

import pytest

from app.admin import forms
from app.auth import signin
from app.handlers.admin.audit import AUDIT_FIELDS, AUDIT_PHRASES
from app.handlers.admin.data import IMPORT_STATUSES
from app.handlers.admin.scheduler import CLEANUP_TABLES, TRIGGERS
from app.handlers.base import ERROR_TEXTS
from app.handlers.oauth import CONSENT_ERRORS
from tests.helpers_server import ROOT

TEMPLATES = ROOT / "app" / "templates"
_CALL = re.compile(r"""_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")


def ukrainian() -> dict[str, str]:
    with open(ROOT / "app" / "locale" / "uk_UA.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert all(len(row) == 2 for row in rows), "every row of uk_UA.csv is English,Ukrainian"
    return dict(rows)


def template_strings() -> set[str]:
    found: set[str] = set()
    for path in [*TEMPLATES.glob("*.html"), *TEMPLATES.glob("admin/*.html")]:
        found.update(ast.literal_eval(m.group(1)) for m in _CALL.finditer(path.read_text(encoding="utf-8")))
    return found


def form_strings() -> set[str]:
    found: set[str] = set()
    for form_class in (
        forms.LoginForm,
        forms.ConfirmForm,
        forms.ClientRegisterForm,
        forms.UserCreateForm,
        forms.PasswordForm,
        forms.ApiKeyForm,
        forms.UserSearchForm,
        forms.AuditFilterForm,
    ):
        form = form_class()
        for field in form:
            found.add(field.label.text)
            if field.description:
                found.add(field.description)
            for validator in field.validators:
                message = getattr(validator, "message", None)
                if isinstance(message, str):
                    found.add(message)
    found.update(label for _, label in forms.AUTH_METHOD_CHOICES)
    found.add("Not a valid choice.")  # WTForms' own message for a select value not offered
    return found


def handler_strings() -> set[str]:
    """Flash messages, confirmation texts and validation errors: sentence literals passed to those calls."""
    found: set[str] = set()
    for path in [*(ROOT / "app" / "handlers" / "admin").glob("*.py"), ROOT / "app" / "admin" / "forms.py"]:
        found.update(_sentences(ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _sentences(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "done",
            "flash",
            "found",
            "Confirmation",
            "cautioned",
            "HTTPError",
            "ValidationError",
        ):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and " " in arg.value:
                    found.add(arg.value)
    return found


def page_strings() -> set[str]:
    """What error pages and the sign-in form say: the plain-words texts, the status names, the sign-in refusals."""
    found: set[str] = set()
    for text in [*ERROR_TEXTS.values(), *CONSENT_ERRORS.values()]:
        found.update((text.title, text.happened, text.advice))
    found.update(HTTPStatus(status).phrase for status in ERROR_TEXTS)
    found.update(signin.MESSAGES.values())
    return found


def detail_strings() -> set[str]:
    """The words audit entries and cleanup runs are shown in: labels, codes said in words, triggers."""
    return {
        *AUDIT_FIELDS.values(),
        *AUDIT_PHRASES.values(),
        *TRIGGERS.values(),
        *CLEANUP_TABLES.values(),
        *IMPORT_STATUSES.values(),
        "yes",
        "no",
    }


@pytest.mark.parametrize("source", [template_strings, form_strings, handler_strings, page_strings, detail_strings])
def test_every_console_sentence_is_translated(source):
    strings = source()
    assert strings, "nothing found to check"
    missing = sorted(s for s in strings if s not in ukrainian())
    assert not missing, missing
