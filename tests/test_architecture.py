"""ARCHITECTURE.md's import rules, checked on the code: each room imports only the rooms it may, and only the
HTTP layer knows Tornado's server side."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# room -> the rooms of `app` it may import (itself always allowed). Keep in step with ARCHITECTURE.md.
ALLOWED = {
    "config": set(),
    "db": set(),
    "audit": {"db"},
    "auth": {"config", "db", "audit", "cli"},  # cli: auth/commands.py registers commands
    "corpus": {"config", "db", "audit", "cli"},
    "tools": {"config", "db", "corpus", "auth"},
    "mcp": {"config", "db", "tools", "auth", "metrics"},
    "jobs": {"config", "db", "audit", "metrics"},
    "metrics": set(),
    "deploy": {"config"},
    "logs": {"auth"},
    "services": {"config", "db", "auth", "corpus", "tools", "mcp", "jobs", "metrics"},
}
# Tornado's HTTP client is allowed where a domain room fetches (client URLs SSRF-guarded; publishers' files by the
# operator's command); its server side is not.
TORNADO_CLIENT_ONLY = {"auth/public_fetch.py", "corpus/download.py"}


def _room(path: Path) -> str:
    relative = path.relative_to(APP)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "app" and node.level == 0:
            found.extend(f"app.{alias.name}" for alias in node.names)  # from app import audit
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


MODULES = sorted(p for p in APP.rglob("*.py") if _room(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(APP)))
def test_a_room_imports_only_what_it_may(path: Path) -> None:
    room = _room(path)
    for module in _imports(path):
        if module == "app" or module.startswith("app."):
            target = module.split(".")[1] if "." in module else ""
            assert target == room or target in ALLOWED[room], f"{path.relative_to(APP)} imports {module}"
        if module.startswith("tornado"):
            relative = str(path.relative_to(APP))
            assert relative in TORNADO_CLIENT_ONLY, f"{relative} imports {module}: domain rooms know no HTTP"
            assert module in ("tornado.httpclient", "tornado.netutil", "tornado.simple_httpclient"), module


def test_every_room_is_known() -> None:
    rooms = {_room(p) for p in APP.rglob("*.py")}
    http_side = {"handlers", "server", "forwarded", "cli", "__main__", "__init__", "admin", "migrations"}
    assert rooms - http_side <= set(ALLOWED), f"rooms without rules: {rooms - http_side - set(ALLOWED)}"
