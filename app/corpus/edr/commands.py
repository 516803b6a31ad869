"""`secondlayer import edr SOURCE [--strict] [--batch-size N]`, and the scheduled sync of the register from its URL."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import IO, Any

import psycopg2

from app.cli import CommandError, Context, Result
from app.config import Settings
from app.corpus.commands import MAX_ERRORS_SHOWN, ImportCommand
from app.corpus.download import DownloadError, downloads_dir, is_url, local_file
from app.corpus.edr.load import BATCH, SourceError, StrictStop, load, publication_of, xml_sources
from app.corpus.progress import Progress
from app.corpus.provenance import import_run, last_import, set_publication
from app.db import Database


class EdrImportError(Exception):
    """The import could not run or was stopped; the message is one line for a person."""


async def import_edr(
    db: Database,
    settings: Settings,
    source: str,
    *,
    strict: bool = False,
    actor: str = "cli",
    progress: IO[str] | None = None,
    batch_size: int = BATCH,
) -> dict[str, Any]:
    """Import a ЄДР dump (file, zip or URL) with its provenance; the summary as a dict. EdrImportError on failure."""
    previous = await last_import(db, "edr", source=source) if is_url(source) else None
    try:
        async with import_run(db, "edr", source, actor=actor) as run:
            try:
                got = await local_file(
                    source,
                    downloads_dir(settings),
                    etag=previous["etag"] if previous else None,
                    last_modified=previous["last_modified"] if previous else None,
                    progress=progress,
                )
            except DownloadError as exc:
                raise EdrImportError(str(exc)) from None
            if got.not_modified:
                run.outcome = "unchanged"
                run.note("skipped", "the publication is the one imported last (ETag/Last-Modified)")
                return {"source": source, "import_id": run.id, "skipped": True, **run.counts()}
            await set_publication(db, run, etag=got.etag, last_modified=got.last_modified)
            try:
                sources = xml_sources(got.path)
            except SourceError as exc:
                raise EdrImportError(str(exc)) from None
            bar = Progress("edr", sum(s.size for s in sources), progress) if progress is not None else None
            # The checkpoint's key: the source as given (a local path made absolute) and, for a URL, the
            # publisher's ETag/Last-Modified; the files' sizes (and mtimes, for lack of those) complete it.
            label = source if is_url(source) else str(got.path.resolve())
            validator = got.etag or got.last_modified
            publication = f"{validator};{publication_of(sources)}" if validator and is_url(source) else None
            try:
                result = await asyncio.to_thread(
                    load,
                    db.url,
                    sources,
                    run,
                    run_id=run.id,
                    strict=strict,
                    progress=bar.update if bar is not None else None,
                    source=label,
                    publication=publication,
                    batch_size=batch_size,
                )
            except StrictStop:
                run.failure_status = "rolled_back"
                raise
            except (psycopg2.Error, OSError) as exc:
                kept = "" if strict else "; the batches committed so far are kept: run the same import again to resume"
                raise EdrImportError(f"the import stopped: {str(exc).strip() or type(exc).__name__}{kept}") from exc
            if bar is not None:
                bar.finish(result.elements)
            return {
                "source": source,
                "import_id": run.id,
                "skipped": False,
                "kinds": result.kinds,
                "elements": result.elements,
                "entities": result.entities,
                "vanished": result.vanished,
                "complete": result.complete,
                "resumed_from": result.resumed_from,
                **run.counts(),
                "problems": run.problems,
            }
    except StrictStop as exc:
        raise EdrImportError(str(exc)) from None


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="UO_FULL_out.xml, FOP_FULL_out.xml, FSU_FULL_out.xml, uo.zip/fop.zip/fsu.zip, a legacy "
        "15.1-EX_XML_EDR_UO.xml / 15.2-EX_XML_EDR_FOP.xml, or an http(s) URL of any of them",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first bad element and import nothing")
    p.add_argument(
        "--batch-size",
        type=_batch_size,
        default=BATCH,
        metavar="N",
        help=f"entities per batch: one COPY, one merge, one commit with the checkpoint (default {BATCH})",
    )


def _batch_size(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to 100000, got {raw!r}")
    return value


async def _handler(ctx: Context) -> Result:
    db = await ctx.db()
    try:
        summary = await import_edr(
            db,
            ctx.settings,
            ctx.args.source,
            strict=ctx.args.strict,
            progress=sys.stderr,
            batch_size=ctx.args.batch_size,
        )
    except EdrImportError as exc:
        raise CommandError(str(exc)) from None
    for problem in summary.get("problems", [])[:MAX_ERRORS_SHOWN]:
        print(f"{problem['where']}: {problem['reason']}", file=sys.stderr)
    if summary["bad"] > MAX_ERRORS_SHOWN:
        print(f"... and {summary['bad'] - MAX_ERRORS_SHOWN} more bad elements", file=sys.stderr)
    if summary["skipped"]:
        return summary, f"{ctx.args.source} is unchanged since the last import (import {summary['import_id']}); skipped"
    resumed = f" (resumed after element {summary['resumed_from']:,})" if summary["resumed_from"] else ""
    text = (
        f"imported {summary['entities']} ЄДР entities ({', '.join(summary['kinds']) or 'none'}) from "
        f"{ctx.args.source}: {summary['added']} new, {summary['updated']} updated, {summary['unchanged']} unchanged, "
        f"{summary['vanished']} vanished, {summary['bad']} bad elements (import {summary['import_id']}){resumed}"
    )
    return summary, text


async def sync_edr(db: Database, settings: Settings, url: str, progress: IO[str] | None) -> dict[str, Any]:
    """The scheduled sync: the same import from the configured URL (skipped when the publication is unchanged)."""
    if not url:
        raise EdrImportError(
            "SYNC_EDR_URL is not set: give it the download URL of the register's uo.zip (or fop.zip, fsu.zip) "
            "resource on data.gov.ua"
        )
    return await import_edr(db, settings, url, actor="schedule", progress=progress)


IMPORTS = [
    ImportCommand(
        "edr",
        "load the ЄДР register (legal entities, entrepreneurs, associations) from its official XML dump",
        _args,
        _handler,
    )
]
