"""`secondlayer import ...`, and the step of `secondlayer bootstrap` that loads the demo corpus into an empty corpus.

`import` has one sub-command per source: the official datasets (`official_imports()`, each family's module
listing its own) and the JSON Lines kinds that remain from before the official importers (`import
court_decisions FILE`, ...).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.cli import Command, CommandError, Context, Handler, Result, common_options
from app.corpus.importer import KINDS, ImportAborted, Progress, corpus_counts, import_file, load_demo_corpus
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


def _jsonl_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE", help="JSON Lines file, one record per line")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line and roll back everything imported")
    p.add_argument("--batch-size", type=int, default=500, help="rows per upsert (default 500)")


def _file_size(path: Path) -> int:
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    return path.stat().st_size


async def _import_jsonl(ctx: Context) -> Result:
    kind = KINDS[ctx.args.import_kind]
    path: Path = ctx.args.file
    size = _file_size(path)
    if not 1 <= ctx.args.batch_size <= 10000:
        raise CommandError("--batch-size must be between 1 and 10000")
    db = await ctx.db()
    shown = 0

    def report(line: int, message: str) -> None:
        nonlocal shown
        shown += 1
        if shown <= MAX_ERRORS_SHOWN:
            print(f"{path}:{line}: {message}", file=sys.stderr)

    progress = Progress(kind.name, size, sys.stderr)
    try:
        summary = await import_file(
            db,
            kind.name,
            path,
            strict=ctx.args.strict,
            batch_size=ctx.args.batch_size,
            progress=progress,
            on_error=report,
        )
    except ImportAborted as exc:
        raise CommandError(
            f"{path}:{exc.line}: {exc.message}; stopped (--strict) and rolled back, nothing was imported"
        ) from None
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    if shown > MAX_ERRORS_SHOWN:
        print(f"... and {shown - MAX_ERRORS_SHOWN} more bad lines", file=sys.stderr)
    if summary.lines and not summary.imported:
        raise CommandError(f"no line of {path} could be imported ({summary.skipped} bad lines)")
    text = (
        f"imported {summary.imported} {kind.label} from {path} in {summary.seconds:.1f} s: "
        f"{summary.inserted} new, {summary.updated} updated, {summary.skipped} bad lines skipped"
    )
    return summary.as_dict(), text


def official_imports() -> list[ImportCommand]:
    """The official datasets' import sub-commands; each family's module lists its own `IMPORTS`."""
    # Family modules are imported here, not at the top: they build on ImportCommand from this module.
    from app.corpus.edr.commands import IMPORTS as EDR
    from app.corpus.laws import commands as laws
    from app.corpus.rada.commands import IMPORTS as RADA

    return [*RADA, *laws.IMPORTS, *EDR]


def demo_loaders() -> list[DemoLoader]:
    """Each family's demo loader (its generated official-format files through its importer), for `bootstrap`."""
    from app.corpus.edr.demo import load_demo_register
    from app.corpus.laws import commands as laws
    from app.corpus.rada.commands import DEMO_LOADERS as RADA

    return [*RADA, laws.load_demo, load_demo_register]


def _import_table() -> dict[str, ImportCommand]:
    legacy = [
        ImportCommand(
            name, f"load {kind.label} from a JSON Lines file (the format of our own)", _jsonl_args, _import_jsonl
        )
        for name, kind in KINDS.items()
    ]
    return {cmd.name: cmd for cmd in [*official_imports(), *legacy]}


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
    if any((await corpus_counts(db)).values()):
        return False
    for dataset in DATASETS.values():
        if await record_count(db, dataset.table):
            return False
    return True


async def load_demo_data(db: Database, progress: IO[str] | None = None) -> dict[str, int]:
    """Load every family's demo data (idempotent: each goes through its importer's upsert): records by family."""
    loaded = await load_demo_corpus(db)
    for loader in demo_loaders():
        what, count = await loader(db, progress)
        loaded[what] = count
    return loaded


async def demo_corpus_step(db: Database, progress: IO[str] | None = None) -> tuple[dict[str, Any], str]:
    """Load the demo corpus when every corpus table is empty, so a new user's first search finds something."""
    if not await corpus_is_empty(db):
        return {"demo_corpus_loaded": False}, "the corpus holds data already; demo corpus not loaded"
    loaded = await load_demo_data(db, progress)
    parts = ", ".join(f"{n} {KINDS[what].label if what in KINDS else what}" for what, n in loaded.items())
    return {"demo_corpus_loaded": True, "demo_corpus": loaded}, f"loaded the demo corpus: {parts}"


COMMANDS = [
    Command(
        "import",
        "load an official dataset (edrsr, rada-laws, rada-bills, rada-deputies, edr) or a JSON Lines file",
        _import,
        _import_args,
    ),
]
