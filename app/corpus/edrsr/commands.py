"""`secondlayer import edrsr SOURCE [--texts SOURCE] [--strict]`, `secondlayer import edrsr-texts [--limit N]`,
the demo publication for `bootstrap`, and the scheduled sync of the current year's archive."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from app.cli import CommandError, Context, Result
from app.config import Settings
from app.corpus.commands import ImportCommand
from app.corpus.download import DownloadError, SourceTree, downloads_dir, fetch_bytes, is_url, local_file
from app.corpus.edrsr.importer import DATASET, DEFAULT_BATCH, ImportFailed, Loaded, load_archive_async
from app.corpus.edrsr.texts import Reader, TextsLoaded, load_texts
from app.corpus.progress import Progress
from app.corpus.provenance import import_run, last_import, set_publication
from app.db import Database

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo" / "edrsr"
DEMO_ARCHIVE = DEMO_DIR / "edrsr_data_2024.zip"
DEMO_TEXTS = DEMO_DIR / "texts"
MAX_PROBLEMS_SHOWN = 50
# data.gov.ua is a CKAN catalogue: each year's archive is a dataset of its own, with its own resource id in its
# download URL, so a sync that must follow the years asks the catalogue's search API (SYNC_EDRSR_URL's default).
CATALOGUE_SEARCH = "/api/3/action/package_search"


def tree_reader(tree: SourceTree) -> Reader:
    """Texts read from a mirror of the register's file paths (a directory or a base URL)."""

    async def read(relpath: str, url: str) -> bytes | None:
        return await tree.read(relpath)

    return read


async def _direct(relpath: str, url: str) -> bytes | None:
    """Texts fetched from their own doc_url."""
    return await fetch_bytes(url)


def _progress(label: str, stream: IO[str] | None) -> Any:
    bar: Progress | None = None

    def update(done: int, total: int, rows: int) -> None:
        nonlocal bar
        if stream is None:
            return
        if bar is None:
            bar = Progress(label, total, stream)
        bar.update(done, rows)

    return update


async def import_edrsr(
    db: Database,
    settings: Settings,
    source: str,
    *,
    texts: str | None = None,
    strict: bool = False,
    actor: str,
    progress: IO[str] | None = None,
    demo: bool = False,
    batch_size: int = DEFAULT_BATCH,
) -> dict[str, Any]:
    """Import one publication from a file, a directory or a URL, recorded in data_imports; ImportFailed or
    DownloadError (with a message for a person) when it cannot be imported."""
    previous = await last_import(db, DATASET, source=source) if is_url(source) else None
    async with import_run(db, DATASET, source, actor=actor) as run:
        if strict:
            run.failure_status = "rolled_back"
        fetched = await local_file(
            source,
            downloads_dir(settings) / DATASET,
            etag=previous["etag"] if previous else None,
            last_modified=previous["last_modified"] if previous else None,
            progress=progress,
        )
        if fetched.etag or fetched.last_modified:
            await set_publication(db, run, etag=fetched.etag, last_modified=fetched.last_modified)
        if fetched.not_modified:
            run.outcome = "unchanged"
            return {"dataset": DATASET, "source": source, "skipped": True, "reason": "not modified since last import"}
        loaded = await load_archive_async(
            db.url,
            fetched.path,
            run,
            strict=strict,
            demo=demo,
            batch_size=batch_size,
            progress=_progress("edrsr documents", progress),
            keep_ids=texts is not None,
        )
        texts_loaded = None
        if texts is not None:
            tree = SourceTree.open(texts, downloads_dir(settings) / DATASET / "texts")
            texts_loaded = await load_texts(db, tree_reader(tree), only=loaded.doc_ids)
            run.note(
                "texts", {"loaded": texts_loaded.loaded, "missing": texts_loaded.missing, "failed": texts_loaded.failed}
            )
        summary = _summary(run, loaded, texts_loaded)
    return {"dataset": DATASET, "source": source, "run_id": run.id, **summary}


def _summary(run: Any, loaded: Loaded, texts: TextsLoaded | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rows": loaded.rows,
        "added": run.added,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "bad": run.bad,
        "years": loaded.years,
        "dictionaries": loaded.dictionaries,
        "seconds": round(loaded.seconds, 2),
        "problems": [{"where": where, "reason": reason} for where, reason in loaded.problems],
    }
    if loaded.resumed_after_line:
        out["resumed_after_line"] = loaded.resumed_after_line
    if texts is not None:
        out["texts"] = {"loaded": texts.loaded, "missing": texts.missing, "failed": texts.failed}
    return out


def _print_problems(problems: list[dict[str, str]], bad: int) -> None:
    """Bad rows on stderr, by file and line, so that a person can fix them."""
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"{problem['where']}: {problem['reason']}", file=sys.stderr)
    shown = min(len(problems), MAX_PROBLEMS_SHOWN)
    if bad > shown:
        print(f"... {bad - shown} more bad rows (see the import's record)", file=sys.stderr)


# ---- commands -------------------------------------------------------------------------------------------


def _edrsr_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="edrsr_data_YYYY.zip, a directory with its files, or its URL")
    p.add_argument("--texts", metavar="SOURCE", help="directory or base URL mirroring the paths of doc_url")
    p.add_argument("--strict", action="store_true", help="any bad row: import nothing")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=f"rows per merge (default {DEFAULT_BATCH})")


async def _edrsr(ctx: Context) -> Result:
    if not 100 <= ctx.args.batch_size <= 1_000_000:
        raise CommandError("--batch-size must be between 100 and 1000000")
    db = await ctx.db()
    try:
        result = await import_edrsr(
            db,
            ctx.settings,
            ctx.args.source,
            texts=ctx.args.texts,
            strict=ctx.args.strict,
            actor="cli",
            progress=sys.stderr,
            batch_size=ctx.args.batch_size,
        )
    except (ImportFailed, DownloadError) as exc:
        raise CommandError(str(exc)) from None
    if result.get("skipped"):
        return result, f"{ctx.args.source}: {result['reason']}; nothing imported"
    _print_problems(result["problems"], result["bad"])
    text = (
        f"imported {ctx.args.source}: {result['rows']} rows, {result['added']} added, {result['updated']} updated, "
        f"{result['unchanged']} unchanged, {result['bad']} bad (years {', '.join(map(str, result['years']))})"
    )
    if "resumed_after_line" in result:
        text += f"; resumed after line {result['resumed_after_line']} (the batches a failed run had merged)"
    if "texts" in result:
        t = result["texts"]
        text += f"; texts: {t['loaded']} loaded, {t['missing']} missing, {t['failed']} unreadable"
    return result, text


def _texts_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=None, help="at most N texts this run")
    p.add_argument("--texts", metavar="SOURCE", help="directory or base URL mirroring doc_url (default: doc_url)")
    p.add_argument("--concurrency", type=int, default=8, help="downloads at once (default 8)")
    p.add_argument("--retry-failed", action="store_true", help="try again the texts that failed before")


async def import_edrsr_texts(
    db: Database,
    settings: Settings,
    *,
    texts: str | None,
    limit: int | None,
    concurrency: int = 8,
    retry_failed: bool = False,
    actor: str,
) -> dict[str, Any]:
    read: Reader = _direct
    if texts is not None:
        read = tree_reader(SourceTree.open(texts, downloads_dir(settings) / DATASET / "texts"))
    async with import_run(db, DATASET, f"texts: {texts or 'doc_url'}", actor=actor) as run:
        result = await load_texts(db, read, limit=limit, concurrency=concurrency, retry_failed=retry_failed)
        run.added += result.loaded
        for where, reason in result.problems:
            run.problem(f"doc_id {where}", reason)
    return {"loaded": result.loaded, "missing": result.missing, "failed": result.failed}


async def _edrsr_texts(ctx: Context) -> Result:
    if ctx.args.limit is not None and ctx.args.limit < 1:
        raise CommandError("--limit must be at least 1")
    if not 1 <= ctx.args.concurrency <= 64:
        raise CommandError("--concurrency must be between 1 and 64")
    db = await ctx.db()
    result = await import_edrsr_texts(
        db,
        ctx.settings,
        texts=ctx.args.texts,
        limit=ctx.args.limit,
        concurrency=ctx.args.concurrency,
        retry_failed=ctx.args.retry_failed,
        actor="cli",
    )
    return result, (
        f"decision texts: {result['loaded']} loaded, {result['missing']} not found, {result['failed']} unreadable"
    )


# ---- demo and sync --------------------------------------------------------------------------------------


async def load_demo(db: Database, progress: IO[str] | None) -> tuple[str, int]:
    """The demo publication (app/demo/edrsr) through the real importer, texts included, recorded as an import."""
    async with import_run(db, DATASET, str(DEMO_ARCHIVE), actor="bootstrap") as run:
        loaded = await load_archive_async(
            db.url, DEMO_ARCHIVE, run, strict=True, demo=True, keep_ids=True, progress=_progress("demo edrsr", progress)
        )
        with tempfile.TemporaryDirectory() as cache:
            tree = SourceTree.open(str(DEMO_TEXTS), Path(cache))
            await load_texts(db, tree_reader(tree), only=loaded.doc_ids)
    return "court decisions", loaded.rows - loaded.bad


async def sync_edrsr(db: Database, settings: Settings, url: str, progress: IO[str] | None) -> dict[str, Any]:
    """The scheduled sync: the configured publication (or this year's, found through the catalogue's search API),
    skipped when the publisher says it has not changed."""
    archive = await current_archive_url(url, _kyiv_today())
    return await import_edrsr(db, settings, archive, actor="scheduler", progress=progress)


def _kyiv_today() -> dt.date:
    from app.corpus.laws.formats import today

    return today()


async def current_archive_url(url: str, today: dt.date) -> str:
    """`url` itself, or for the catalogue's package_search API, the download URL of `edrsr_data_{year}.zip` for
    this year that its answer lists; DownloadError saying what was wrong otherwise."""
    if not urlsplit(url).path.rstrip("/").endswith(CATALOGUE_SEARCH):
        return url
    body = await fetch_bytes(url)
    if body is None:
        raise DownloadError(f"{url}: the catalogue's search API answered 404")
    try:
        answer = json.loads(body)
    except ValueError:
        raise DownloadError(f"{url} did not answer JSON: is it the catalogue's package_search API?") from None
    name = f"edrsr_data_{today.year}.zip"
    result = answer.get("result") if isinstance(answer, dict) else None
    packages = result.get("results") if isinstance(result, dict) else None
    for package in packages if isinstance(packages, list) else []:
        resources = package.get("resources") if isinstance(package, dict) else None
        for resource in resources if isinstance(resources, list) else []:
            link = resource.get("url") if isinstance(resource, dict) else None
            if isinstance(link, str) and is_url(link) and urlsplit(link).path.rsplit("/", 1)[-1] == name:
                return link
    raise DownloadError(
        f"{url}: the catalogue lists no {name} (the year's archive may not be published yet); "
        "set SYNC_EDRSR_URL to the archive's download URL to sync a given one"
    )


IMPORTS = [
    ImportCommand(
        "edrsr",
        "court decisions from the official ЄДРСР archive (edrsr_data_YYYY.zip, its directory, or its URL)",
        _edrsr_args,
        _edrsr,
    ),
    ImportCommand(
        "edrsr-texts",
        "fetch the decision texts still missing (RTF or HTML in windows-1251), resumable",
        _texts_args,
        _edrsr_texts,
    ),
]
