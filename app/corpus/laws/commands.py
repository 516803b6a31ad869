"""`secondlayer import rada-laws [SOURCE] [--acts ...] [--all-texts] [--strict]`, the demo loader of `bootstrap`,
and the scheduled sync: all three run `store.import_rada_laws` inside a recorded import run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

import psycopg2

from app.cli import CommandError, Context, Result
from app.config import Settings
from app.corpus.commands import ImportCommand
from app.corpus.download import DownloadError, SourceTree, downloads_dir
from app.corpus.laws import formats, store
from app.corpus.laws.formats import BadInput
from app.corpus.provenance import ImportRun, import_run
from app.db import Database

DATASET = "rada-laws"
DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo" / "rada-laws"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source",
        nargs="?",
        default=formats.DEFAULT_SOURCE,
        metavar="SOURCE",
        help=f"the publisher's base URL or a directory mirroring its paths (default {formats.DEFAULT_SOURCE})",
    )
    p.add_argument(
        "--acts",
        metavar="NREG[,NREG...]",
        help="acts whose editions and texts to load: registration numbers or abbreviations (ЦК, КУпАП, ...); "
        "default: the Constitution and the main codes",
    )
    p.add_argument("--all-texts", action="store_true", help="load the editions and texts of every act (long)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first bad card, event, relation or edition text and roll back: nothing is imported",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=store.BATCH,
        help=f"lines of doc.txt, doc-dates.txt and links.csv per merge and checkpoint (default {store.BATCH})",
    )


def _acts(value: str | None) -> list[str] | None:
    if value is None:
        return None
    acts = [a.strip() for a in value.split(",") if a.strip()]
    if not acts:
        raise CommandError("--acts names no act")
    return acts


async def run_import(
    db: Database,
    cache_dir: Path,
    source: str,
    *,
    actor: str,
    acts: list[str] | None = None,
    all_texts: bool = False,
    demo: bool = False,
    strict: bool = False,
    batch: int = store.BATCH,
    progress: IO[str] | None = None,
) -> ImportRun:
    """One recorded import from `source` (a base URL or a directory); BadInput/DownloadError/StrictStop name what
    failed (a strict stop is recorded as rolled back)."""
    tree = SourceTree.open(source, cache_dir, headers=formats.HEADERS)
    async with import_run(db, DATASET, tree.root, actor=actor) as run:
        try:
            await store.import_rada_laws(
                db,
                tree,
                run,
                acts=acts,
                all_texts=all_texts,
                demo=demo,
                strict=strict,
                batch=batch,
                progress=progress,
            )
        except store.StrictStop:
            run.failure_status = "rolled_back"
            raise
    return run


def _summary(run: ImportRun) -> dict[str, Any]:
    return {
        "dataset": DATASET,
        "source": run.source,
        **run.counts(),
        "problems": run.problems,
        "details": run.details,
    }


async def _import(ctx: Context) -> Result:
    acts = _acts(ctx.args.acts)
    if not 1 <= ctx.args.batch_size <= 1_000_000:
        raise CommandError("--batch-size must be between 1 and 1000000")
    db = await ctx.db()
    try:
        run = await run_import(
            db,
            downloads_dir(ctx.settings) / DATASET,
            ctx.args.source,
            actor="cli",
            acts=acts,
            all_texts=ctx.args.all_texts,
            strict=ctx.args.strict,
            batch=ctx.args.batch_size,
            progress=sys.stderr,
        )
    except (BadInput, DownloadError, store.StrictStop) as exc:
        raise CommandError(str(exc)) from None
    except psycopg2.Error as exc:
        message = (exc.pgerror or str(exc) or type(exc).__name__).strip().splitlines()[0]
        raise CommandError(
            f"the database refused a batch: {message}; the batches merged before it are kept, and the next run "
            "from the same source resumes after them"
        ) from None
    for problem in run.problems[:50]:
        print(f"{problem['where']}: {problem['reason']}", file=sys.stderr)
    if run.bad > 50:
        print(f"... and {run.bad - 50} more problems", file=sys.stderr)
    text = (
        f"imported legislation from {run.source}: {run.added} added, {run.updated} updated, "
        f"{run.unchanged} unchanged (cards and edition texts), {run.bad} problems; "
        f"events {run.details.get('events', {}).get('added', 0)} added"
    )
    return _summary(run), text


async def load_demo(db: Database, progress: IO[str] | None) -> tuple[str, int]:
    """The demo mirror (app/demo/rada-laws) through the importer: every act that has a card JSON gets its texts."""
    cards = DEMO_DIR / "laws" / "card"
    acts = sorted(str(p.relative_to(cards))[: -len(".json")] for p in cards.glob("**/*.json"))
    # A directory source downloads nothing: the cache directory is never written.
    run = await run_import(
        db, DEMO_DIR, str(DEMO_DIR), actor="bootstrap", acts=acts, demo=True, strict=True, progress=progress
    )
    if run.bad:
        raise RuntimeError(f"the demo legislation mirror has problems: {run.problems[:3]}")
    count = await db.fetch_value("SELECT count(*) FROM legislative_acts")
    return "legislation", int(count)


async def sync(db: Database, settings: Settings, url: str, progress: IO[str] | None) -> dict[str, Any]:
    run = await run_import(db, downloads_dir(settings) / DATASET, url, actor="sync", progress=progress)
    return _summary(run)


IMPORTS = [
    ImportCommand(
        DATASET,
        "load legislation from the Rada's open data (cards, events, dictionaries, editions and texts)",
        _args,
        _import,
    )
]
