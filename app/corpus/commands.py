"""`secondlayer import KIND FILE`, and the step of `secondlayer bootstrap` that loads the demo corpus into an empty
corpus."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.cli import Command, CommandError, Context, Result
from app.corpus.importer import KINDS, ImportAborted, Progress, corpus_counts, import_file, load_demo_corpus
from app.db import Database

MAX_ERRORS_SHOWN = 50


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=list(KINDS), metavar="KIND", help="one of: " + ", ".join(KINDS))
    p.add_argument("file", type=Path, metavar="FILE", help="JSON Lines file, one record per line")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line and roll back everything imported")
    p.add_argument("--batch-size", type=int, default=500, help="rows per upsert (default 500)")


def _file_size(path: Path) -> int:
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    return path.stat().st_size


async def _import(ctx: Context) -> Result:
    kind = KINDS[ctx.args.kind]
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
    if kind.name == "legislation":
        text += f"; {summary.articles} articles"
    return summary.as_dict(), text


async def demo_corpus_step(db: Database) -> tuple[dict[str, Any], str]:
    """Load the demo corpus when every corpus table is empty, so a new user's first search finds something."""
    counts = await corpus_counts(db)
    if any(counts.values()):
        return {"demo_corpus_loaded": False}, "the corpus holds data already; demo corpus not loaded"
    loaded = await load_demo_corpus(db)
    parts = ", ".join(f"{n} {KINDS[k].label}" for k, n in loaded.items())
    return {"demo_corpus_loaded": True, "demo_corpus": loaded}, f"loaded the demo corpus (invented data): {parts}"


COMMANDS = [
    Command("import", "load a corpus file (JSON Lines) into the database, with a progress bar", _import, _import_args),
]
