"""Helpers for the browser tests: Debian's Chromium (driven by Playwright, never a downloaded browser) and
running database helpers beside Playwright's event loop. The `chromium` fixture is in conftest.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn, TypeVar

import pytest

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_unavailable(reason: str) -> NoReturn:
    """Skip, unless SECONDLAYER_REQUIRE_BROWSER=1 (CI sets it), where a missing browser is a failure."""
    if os.environ.get("SECONDLAYER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SECONDLAYER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a database helper in another thread: Playwright's sync API keeps an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)
