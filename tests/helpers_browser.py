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
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
LOCALES = {"en": "en-US", "uk": "uk-UA"}

# The elements reaching past the right edge of the viewport, named so a failure says what to fix.
WIDER_THAN_SCREEN = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
               || e.scrollWidth > e.clientWidth + 0.5 && getComputedStyle(e).overflowX === 'visible')
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))
  .slice(0, 5)
"""

# How many lines the text of the element `selector` takes (the distinct tops of its text's line boxes).
_LINES = """selector => {
  const range = document.createRange();
  range.selectNodeContents(document.querySelector(selector));
  return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
}"""


def assert_no_sideways_scroll(page: Any) -> None:
    """Nothing on the page may need sideways scrolling (on a phone above all)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px: {page.evaluate(WIDER_THAN_SCREEN)}"


def text_lines(page: Any, selector: str) -> int:
    """How many lines the text of the first element matching `selector` is broken into."""
    return int(page.evaluate(_LINES, selector))


def assert_language_switcher_top_right(page: Any) -> None:
    """The language switcher is where it is on every page: at the right end of the top bar's first row."""
    bar = page.locator(".topbar").bounding_box()
    brand = page.locator(".topbar .brand").bounding_box()
    lang = page.locator(".topbar .lang").bounding_box()
    assert bar["x"] + bar["width"] - (lang["x"] + lang["width"]) <= 24, f"{page.url}: the switcher is not at the right"
    middle = lambda box: box["y"] + box["height"] / 2  # noqa: E731
    assert abs(middle(lang) - middle(brand)) <= 6, f"{page.url}: the switcher is not on the top bar's first row"
