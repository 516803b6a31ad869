"""No regular expression in the product may backtrack catastrophically: each one, found by walking every module
of `app` (and every `pattern` in the tools' input schemas), runs on long adversarial inputs in a child process
under a time budget. A regex that needs exponential time on a run of letters followed by a bad character (as the
redirect-URI host check once did) blows the budget and fails the test with its name."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
import time
from typing import Any

import pytest

import app

BUDGET = 5.0  # seconds for all inputs of one pattern, in its own process; linear patterns take milliseconds
ALPHABET = [
    "a",
    "Z",
    "я",
    "1",
    "²",
    "-",
    "_",
    ".",
    " ",
    "\t",
    ",",
    "=",
    "@",
    '"',
    "'",
    "/",
    ":",
    ";",
    "%",
    "+",
    "~",
    "!",
    "\\",
    "\n",
]

_CHILD = r"""
import json, re, sys, time
spec = json.loads(sys.stdin.read())
pattern = re.compile(spec["pattern"], spec["flags"])
alphabet = spec["alphabet"]
inputs = []
for x in alphabet:
    inputs += [x * 20000, x * 20000 + "\x00", "[" + x * 20000 + "!"]
    for y in alphabet:
        inputs.append((x + y) * 5000 + "\x00")
for prefix in spec["prefixes"]:
    inputs += [prefix + s for s in inputs[:len(alphabet) * 3]]
started = time.monotonic()
for text in inputs:
    pattern.search(text)
    pattern.fullmatch(text)
print(json.dumps({"inputs": len(inputs), "seconds": time.monotonic() - started}))
"""


def _module_patterns() -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if info.name.endswith("__main__") or info.name.startswith("app.migrations"):
            continue  # importing them runs the CLI, or alembic's migration environment
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found[f"{info.name}.{name}"] = value
            elif isinstance(value, type) and value.__module__ == info.name:
                for attr, member in vars(value).items():
                    if isinstance(member, re.Pattern):
                        found[f"{info.name}.{name}.{attr}"] = member
    return found


def _schema_patterns() -> dict[str, str]:
    from app.tools.registry import default_registry

    found: dict[str, str] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found[where] = node["pattern"]
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    for tool in default_registry():
        walk(tool.input_schema, f"tool {tool.name}")
    return found


def _all_patterns() -> dict[str, tuple[str, int]]:
    patterns = {name: (p.pattern, p.flags) for name, p in _module_patterns().items() if isinstance(p.pattern, str)}
    patterns.update({name: (p, 0) for name, p in _schema_patterns().items()})
    return patterns


def run_under_budget(pattern: str, flags: int, budget: float = BUDGET) -> float | None:
    """Seconds the adversarial inputs took, or None when the pattern ran past the budget."""
    spec = {
        "pattern": pattern,
        "flags": flags,
        "alphabet": ALPHABET,
        "prefixes": ["Bearer ", "https://", "max-age=", "x@", '-"'],
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD], input=json.dumps(spec), capture_output=True, text=True, timeout=budget + 2
        )
    except subprocess.TimeoutExpired:
        return None
    assert done.returncode == 0, done.stderr
    seconds = float(json.loads(done.stdout)["seconds"])
    return seconds if seconds <= budget else None


def test_the_audit_finds_the_patterns_it_must_check():
    names = set(_all_patterns())
    assert "app.auth.bearer._BEARER" in names and "app.logs._SECRET" in names
    assert any(name.startswith("tool ") for name in names), "tool schema patterns are audited too"


def test_the_audit_catches_the_pattern_that_once_stalled_the_server():
    # The redirect-URI host pattern this project shipped before: exponential on "aaaa...a!".
    old_host = r"^(?:[^\W_](?:[^\W_]|-)*\.?)+$|^\[[0-9A-Fa-f:.]+\]$"
    assert run_under_budget(old_host, 0, budget=2.0) is None


@pytest.mark.parametrize("name", sorted(_all_patterns()))
def test_every_regex_is_linear_on_adversarial_input(name):
    pattern, flags = _all_patterns()[name]
    took = run_under_budget(pattern, flags)
    assert took is not None, f"{name} ({pattern!r}) ran past {BUDGET} s on adversarial input"


def test_a_hostile_redirect_host_is_refused_at_once_and_the_server_keeps_serving(http):
    evil = "https://" + "a" * 1900 + "!/cb"  # once: 2^1900 steps on the event loop
    started = time.monotonic()
    r = http.post("/oauth/register", json={"redirect_uris": [evil], "client_name": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri"
    assert time.monotonic() - started < 2
    from app.auth.redirects import RedirectURIError, validate_redirect_uri

    started = time.monotonic()
    with pytest.raises(RedirectURIError):
        validate_redirect_uri("https://" + "a" * 1900 + "-" * 50 + "!/cb")
    assert time.monotonic() - started < 0.5
