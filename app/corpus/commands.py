"""`secondlayer import ...`, and the step of `secondlayer bootstrap` that loads the demo corpus into an empty corpus.

`import` has one sub-command per source, each official dataset's family listing its own (`official_imports()`).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, Any

from app.cli import Command, Context, Handler, Result, common_options
from app.corpus.provenance import DATASETS, record_count
from app.db import Database

MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class ImportCommand:
    """One `secondlayer import NAME` sub-command: the same shape as app.cli.Command."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Handler


# Loads one family's demo data (its generated official-format files, through its importer): (what, records).
DemoLoader = Callable[[Database, IO[str] | None], Awaitable[tuple[str, int]]]


def official_imports() -> list[ImportCommand]:
    """The official datasets' import sub-commands; each family's module lists its own `IMPORTS`."""
    # Family modules are imported here, not at the top: they build on ImportCommand from this module.
    from app.corpus.edr.commands import IMPORTS as EDR
    from app.corpus.edrsr.commands import IMPORTS as EDRSR
    from app.corpus.laws import commands as laws
    from app.corpus.rada.commands import IMPORTS as RADA

    return [*EDRSR, *RADA, *laws.IMPORTS, *EDR]


def demo_loaders() -> list[DemoLoader]:
    """Each family's demo loader (its generated official-format files through its importer), for `bootstrap`."""
    from app.corpus.edr.demo import load_demo_register
    from app.corpus.edrsr.commands import load_demo as edrsr_demo
    from app.corpus.laws import commands as laws
    from app.corpus.rada.commands import DEMO_LOADERS as RADA

    return [edrsr_demo, *RADA, laws.load_demo, load_demo_register]


def _import_table() -> dict[str, ImportCommand]:
    return {cmd.name: cmd for cmd in official_imports()}


def _import_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="import_kind", metavar="SOURCE_KIND", parser_class=type(p))
    sub.required = True
    for cmd in _import_table().values():
        q = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        common_options(q, argparse.SUPPRESS)
        cmd.configure(q)


async def _import(ctx: Context) -> Result:
    return await _import_table()[ctx.args.import_kind].handler(ctx)


async def corpus_is_empty(db: Database) -> bool:
    for dataset in DATASETS.values():
        if await record_count(db, dataset.table):
            return False
    return True


async def load_demo_data(db: Database, progress: IO[str] | None = None) -> dict[str, int]:
    """Load every family's demo data (idempotent: each goes through its importer's upsert): records by family."""
    loaded: dict[str, int] = {}
    for loader in demo_loaders():
        what, count = await loader(db, progress)
        loaded[what] = count
    return loaded


async def demo_corpus_step(db: Database, progress: IO[str] | None = None) -> tuple[dict[str, Any], str]:
    """Load the demo corpus when every corpus table is empty, so a new user's first search finds something."""
    if not await corpus_is_empty(db):
        return {"demo_corpus_loaded": False}, "the corpus holds data already; demo corpus not loaded"
    loaded = await load_demo_data(db, progress)
    parts = ", ".join(f"{n} {what}" for what, n in loaded.items())
    return {"demo_corpus_loaded": True, "demo_corpus": loaded}, f"loaded the demo corpus: {parts}"


COMMANDS = [
    Command(
        "import",
        "load an official dataset (edrsr, edrsr-texts, rada-laws, rada-bills, rada-deputies, edr), with a progress bar",
        _import,
        _import_args,
    ),
]
