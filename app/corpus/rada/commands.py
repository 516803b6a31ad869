"""`secondlayer import rada-deputies SOURCE` and `secondlayer import rada-bills SOURCE`, the demo's Parliament
(the real deputies file and the generated bills file, loaded through the same importers) and the scheduled
syncs of both datasets.

SOURCE is a file, a directory mirroring the publisher's (`ogd/mps/skl{N}/`, `ogd/zpr/skl{N}/`), or a URL: a
file's URL or the base URL of such a directory. Downloads keep the publisher's ETag and Last-Modified, and a
publication already imported unchanged is not imported again.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.cli import CommandError, Context, Result
from app.config import Settings
from app.corpus.commands import ImportCommand
from app.corpus.download import DownloadError, SourceTree, downloads_dir, is_url, local_file
from app.corpus.provenance import import_run, last_import
from app.corpus.rada.bills import import_bills
from app.corpus.rada.deputies import FileError, import_deputies
from app.corpus.sync import SyncSpec
from app.db import Database

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo" / "rada"
DEMO_DEPUTIES = DEMO_DIR / "mps-data-skl9.json"
DEMO_BILLS = DEMO_DIR / "billinfo-skl9.json"
_SKL = re.compile(r"skl(\d{1,2})")


@dataclass
class Source:
    """A local file to read, what to call it in provenance, and the publisher's validators when downloaded."""

    path: Path
    described: str
    etag: str | None = None
    last_modified: str | None = None
    unchanged: bool = False


def _convocation(given: int | None, spec: str) -> int | None:
    if given is not None:
        if not 1 <= given <= 20:
            raise CommandError("--convocation must be between 1 and 20")
        return given
    match = _SKL.search(spec)
    return int(match.group(1)) if match else None


def _kind_of(spec: str) -> str:
    """file | dir | url-file | url-dir (a base URL), or CommandError for a path that does not exist."""
    if is_url(spec):
        return "url-file" if spec.split("?", 1)[0].endswith(".json") else "url-dir"
    path = Path(spec).expanduser()
    if path.is_file():
        return "file"
    if path.is_dir():
        return "dir"
    raise CommandError(f"no such file or directory: {spec}")


async def _fetch(db: Database, settings: Settings, dataset: str, url: str, progress: IO[str] | None) -> Source:
    """A publisher's file downloaded (or found unchanged since the last successful import of it)."""
    previous = await last_import(db, dataset, source=url)
    got = await local_file(
        url,
        downloads_dir(settings) / dataset,
        etag=previous["etag"] if previous else None,
        last_modified=previous["last_modified"] if previous else None,
        progress=progress,
    )
    return Source(got.path, url, got.etag, got.last_modified, unchanged=got.not_modified)


async def resolve(
    db: Database, settings: Settings, dataset: str, spec: str, names: list[str], progress: IO[str] | None
) -> Source:
    """The file to import: SOURCE itself, or the first of `names` found under it (a directory or base URL)."""
    kind = await asyncio.to_thread(_kind_of, spec)
    try:
        if kind == "file":
            path = await asyncio.to_thread(lambda: Path(spec).expanduser().resolve())
            return Source(path, str(path))
        if kind == "url-file":
            return await _fetch(db, settings, dataset, spec, progress)
        tree = SourceTree.open(spec, downloads_dir(settings) / dataset)
        for name in names:
            where = tree.describe(name)
            if tree.is_url:
                try:
                    return await _fetch(db, settings, dataset, where, progress)
                except DownloadError as exc:
                    if exc.status in (404, 410):
                        continue
                    raise
            local = await tree.local(name)
            if local is not None:
                return Source(local, where)
    except DownloadError as exc:
        raise CommandError(str(exc)) from None
    raise CommandError(f"{spec} holds none of: " + ", ".join(names))


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", metavar="SOURCE", help="a file, a directory mirroring the publisher's, or its base URL"
    )
    parser.add_argument("--convocation", type=int, help="the convocation (скликання), e.g. 9; else read from SOURCE")


async def _unchanged(db: Database, dataset: str, source: Source, actor: str) -> dict[str, Any]:
    async with import_run(
        db, dataset, source.described, actor=actor, etag=source.etag, last_modified=source.last_modified
    ) as run:
        run.outcome = "unchanged"
    return {"dataset": dataset, "source": source.described, "unchanged_publication": True, "run_id": run.id}


# ---- deputies ---------------------------------------------------------------------------------------------------


async def deputies_from(
    db: Database, source: Source, convocation: int | None, *, actor: str, demo: bool = False
) -> dict[str, Any]:
    """Import one mps-data.json; the summary of what changed."""
    if source.unchanged:
        return await _unchanged(db, "rada-deputies", source, actor)
    try:
        data = await asyncio.to_thread(source.path.read_bytes)
    except OSError as exc:
        raise CommandError(f"cannot read {source.described}: {exc.strerror or exc}") from None
    try:
        async with import_run(
            db, "rada-deputies", source.described, actor=actor, etag=source.etag, last_modified=source.last_modified
        ) as run:
            summary = await import_deputies(db, data, run, convocation=convocation, demo=demo)
    except FileError as exc:
        raise CommandError(f"{source.described}: {exc}; nothing was imported") from None
    return {"dataset": "rada-deputies", "source": source.described, **summary, "run_id": run.id}


async def sync_deputies(
    db: Database, settings: Settings, url: str, progress: IO[str] | None, *, actor: str = "schedule"
) -> dict[str, Any]:
    """Import the deputies of `url` (a file or a base URL): what `import rada-deputies` and the sync run."""
    convocation = _convocation(None, url)
    names = ["mps-data.json"] + ([f"mps-data-skl{convocation}.json"] if convocation else [])
    source = await resolve(db, settings, "rada-deputies", url, names, progress)
    return await deputies_from(db, source, convocation, actor=actor)


async def _import_deputies(ctx: Context) -> Result:
    spec = ctx.args.source
    convocation = _convocation(ctx.args.convocation, spec)
    db = await ctx.db()
    names = ["mps-data.json"] + ([f"mps-data-skl{convocation}.json"] if convocation else [])
    source = await resolve(db, ctx.settings, "rada-deputies", spec, names, sys.stderr)
    summary = await deputies_from(db, source, convocation, actor="cli")
    if summary.get("unchanged_publication"):
        return summary, f"{source.described} has not changed since it was last imported; nothing to do"
    text = (
        f"imported {summary['deputies']} deputy records from {source.described}: {summary['added']} new, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['bad']} bad; "
        f"{summary['bodies']} factions, groups, committees, subcommittees and commissions"
    )
    return summary, text


# ---- bills ------------------------------------------------------------------------------------------------------


class _Broken(Exception):
    def __init__(self, offset: int, reason: str, read: int) -> None:
        super().__init__(f"broken JSON at byte {offset}: {reason}; the {read} bills read before it were imported")
        self.offset, self.reason, self.read = offset, reason, read


async def bills_from(
    db: Database, source: Source, convocation: int | None, *, actor: str, demo: bool = False
) -> dict[str, Any]:
    """Import one billinfo file (full or light); the summary of what changed."""
    if source.unchanged:
        return await _unchanged(db, "rada-bills", source, actor)
    try:
        stream = await asyncio.to_thread(source.path.open, "rb")
    except OSError as exc:
        raise CommandError(f"cannot read {source.described}: {exc.strerror or exc}") from None
    try:
        async with import_run(
            db, "rada-bills", source.described, actor=actor, etag=source.etag, last_modified=source.last_modified
        ) as run:
            result = await import_bills(db, stream, run, convocation=convocation, demo=demo)
            if result.broken is not None:
                run.problem(f"byte {result.broken.offset}", result.broken.reason)
                # The batches read before the break are committed and stay; the run is recorded as failed.
                raise _Broken(result.broken.offset, result.broken.reason, result.read)
    except _Broken as exc:
        raise CommandError(f"{source.described}: {exc}") from None
    finally:
        await asyncio.to_thread(stream.close)
    return {
        "dataset": "rada-bills",
        "source": source.described,
        "read": result.read,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "bad": result.bad,
        "date_warnings": result.warnings,
        "convocations": sorted(result.convocations),
        "run_id": run.id,
    }


def _bill_names(convocation: int | None, spec: str, kind: str) -> list[str]:
    if kind in ("dir", "url-dir") and convocation is None:
        raise CommandError(f"say which convocation with --convocation N ({spec} does not name one as skl{{N}})")
    return [f"billinfo-skl{convocation}.json", f"billinfo_list-skl{convocation}.json"]


async def sync_bills(
    db: Database, settings: Settings, url: str, progress: IO[str] | None, *, actor: str = "schedule"
) -> dict[str, Any]:
    """Import the bills of `url` (a file or a base URL `.../ogd/zpr/skl{N}/`): the full file when published."""
    convocation = _convocation(None, url)
    names = _bill_names(convocation, url, await asyncio.to_thread(_kind_of, url))
    source = await resolve(db, settings, "rada-bills", url, names, progress)
    return await bills_from(db, source, convocation, actor=actor)


async def _import_bills(ctx: Context) -> Result:
    spec = ctx.args.source
    convocation = _convocation(ctx.args.convocation, spec)
    db = await ctx.db()
    names = _bill_names(convocation, spec, await asyncio.to_thread(_kind_of, spec))
    source = await resolve(db, ctx.settings, "rada-bills", spec, names, sys.stderr)
    summary = await bills_from(db, source, convocation, actor="cli")
    if summary.get("unchanged_publication"):
        return summary, f"{source.described} has not changed since it was last imported; nothing to do"
    text = (
        f"imported {summary['read']} bills from {source.described}: {summary['added']} new, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['bad']} bad"
        + (f"; {summary['date_warnings']} impossible dates kept as unknown" if summary["date_warnings"] else "")
    )
    return summary, text


# ---- the demo, and the family's declarations ----------------------------------------------------------------------


async def load_demo_deputies(db: Database, progress: IO[str] | None = None) -> tuple[str, int]:
    """The real 9th-convocation deputies file, as published."""
    summary = await deputies_from(db, Source(DEMO_DEPUTIES, "demo: mps-data-skl9.json"), 9, actor="bootstrap")
    return "deputies", int(summary["deputies"])


async def load_demo_bills(db: Database, progress: IO[str] | None = None) -> tuple[str, int]:
    """The generated bills file in the official full format (scripts/make_demo_rada_bills.py), marked demo."""
    summary = await bills_from(
        db, Source(DEMO_BILLS, "demo: billinfo-skl9.json (generated)"), 9, actor="bootstrap", demo=True
    )
    return "bills", int(summary["read"])


IMPORTS = [
    ImportCommand(
        "rada-deputies",
        "deputies, factions, committees and posts from the Rada's mps-data.json (file, mirror dir or URL)",
        _args,
        _import_deputies,
    ),
    ImportCommand(
        "rada-bills",
        "bills from the Rada's billinfo-skl{N}.json (full) or billinfo_list-skl{N}.json (light): file, mirror or URL",
        _args,
        _import_bills,
    ),
]
DEMO_LOADERS = [load_demo_deputies, load_demo_bills]
SYNCS = [
    SyncSpec("rada-deputies", "sync_rada_deputies_cron", "sync_rada_deputies_url", sync_deputies),
    SyncSpec("rada-bills", "sync_rada_bills_cron", "sync_rada_bills_url", sync_bills),
]
