"""Structured logs never carry a credential: every kind we issue is masked, whatever logged it."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from app.auth.secrets import CREDENTIAL_PREFIXES, new_credential
from app.auth.signin import start_session
from app.logs import JsonFormatter


def _logged(message: str, *, with_exception: bool = False) -> str:
    exc_info = None
    if with_exception:
        try:
            raise RuntimeError(message)
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("secondlayer", logging.ERROR, __file__, 1, "%s", (message,), exc_info)
    return JsonFormatter().format(record)


def test_every_kind_of_credential_is_masked():
    for prefix in CREDENTIAL_PREFIXES:
        credential = new_credential(prefix)
        line = _logged(f"refused {credential} from 203.0.113.9", with_exception=True)
        assert credential not in line, prefix
        entry = json.loads(line)
        assert entry["msg"] == f"refused {prefix}*** from 203.0.113.9"
        assert f"{prefix}***" in entry["exc"]


def test_a_session_cookie_value_is_masked(dbrun, make_user, settings):
    user = make_user()
    cookie_value = dbrun(lambda db: start_session(db, settings, user["id"], ip=None, user_agent=None))
    line = _logged(f"session {cookie_value} ended")
    assert cookie_value not in line
    assert json.loads(line)["msg"] == "session sls_*** ended"


def test_a_credential_of_a_kind_the_logs_do_not_know_cannot_be_made():
    with pytest.raises(ValueError, match="CREDENTIAL_PREFIXES"):
        new_credential("tok_")
