"""`secondlayer import rada-deputies SOURCE` and `secondlayer import rada-bills SOURCE`, the demo's Parliament
(the real deputies file and the generated bills file, loaded through the same importers) and the scheduled
syncs of both datasets.

SOURCE is a file, a directory mirroring the publisher's (`ogd/mps/skl{N}/`, `ogd/zpr/skl{N}/`), or a URL: a
file's URL or the base URL of such a directory. Downloads keep the publisher's ETag and Last-Modified, and a
publication already imported unchanged is not imported again.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.cli import CommandError, Context, Result
from app.config import Settings
from app.corpus.download import DownloadError, SourceTree, download, downloads_dir
from app.corpus.provenance import import_run, last_import
from app.corpus.rada.bills import import_bills
from app.corpus.rada.deputies import FileError, import_deputies
from app.db import Database

DEMO_DIR = Path(__file__).resolve().parent.parent.parent / "demo" / "rada"
DEMO_DEPUTIES = DEMO_DIR / "mps-data-skl9.json"
DEMO_BILLS = DEMO_DIR / "billinfo-skl9.json"
DEPUTIES_URL = "https://data.rada.gov.ua/ogd/mps/skl9/mps-data.json"
BILLS_URL = "https://data.rada.gov.ua/ogd/zpr/skl9/"
_SKL = re.compile(r"skl(\d{1,2})")


@dataclass
class Source:
    """A local file to read, what to call it in provenance, and the publisher's validators when downloaded."""

    path: Path | None
    described: str
    etag: str | None = None
    last_modified: str | None = None
    unchanged: bool = False


def _convocation(args: argparse.Namespace, spec: str) -> int | None:
    if args.convocation is not None:
        if not 1 <= args.convocation <= 20:
            raise CommandError("--convocation must be between 1 and 20")
        return int(args.convocation)
    match = _SKL.search(spec)
    return int(match.group(1)) if match else None


async def _resolve(
    db: Database, settings: Settings, dataset: str, spec: str, candidates: list[str], progress: IO[str] | None
) -> Source:
    """The file to import: `spec` itself, or the first of `candidates` found under it (a directory or base URL)."""
    is_url = spec.startswith(("http://", "https://"))
    if not is_url:
        path = Path(spec)
        if path.is_file():
            return Source(path, str(path.resolve()))
        if not path.is_dir():
            raise CommandError(f"no such file or directory: {spec}")
    if is_url and spec.rsplit("?", 1)[0].endswith(".json"):
        return await _download(db, settings, dataset, spec, progress)
    tree = SourceTree.open(spec, downloads_dir(settings) / dataset)
    for relpath in candidates:
        if tree.is_url:
            url = tree.describe(relpath)
            try:
                return await _download(db, settings, dataset, url, progress)
            except DownloadError as exc:
                if "404" in str(exc):
                    continue
                raise CommandError(str(exc)) from None
        local = await tree.local(relpath)
        if local is not None:
            return Source(local, tree.describe(relpath))
    raise CommandError(f"{spec} holds none of: " + ", ".join(candidates))


async def _download(db: Database, settings: Settings, dataset: str, url: str, progress: IO[str] | None) -> Source:
    previous = await last_import(db, dataset, source=url)
    dest = downloads_dir(settings) / dataset / re.sub(r"[^A-Za-z0-9._-]", "_", url.split("://", 1)[1])[-180:]
    dest.parent.mkdir(parents=True, exist_ok=True)
    etag = previous.get("etag") if previous and dest.exists() else None
    modified = previous.get("last_modified") if previous and dest.exists() else None
    try:
        got = await download(url, dest, etag=etag, last_modified=modified, progress=progress)
    except DownloadError as exc:
        raise CommandError(str(exc)) from None
    return Source(got.path, url, got.etag, got.last_modified, unchanged=got.not_modified)


def _args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="a file, a directory mirroring the publisher's, or a URL")
    parser.add_argument("--convocation", type=int, help="the convocation (скликання), e.g. 9; else read from SOURCE")


def _actor(ctx: Context) -> str:
    return "cli"


async def _import_deputies(ctx: Context) -> Result:
    spec = ctx.args.source
    convocation = _convocation(ctx.args, spec)
    db = await ctx.db()
    names = ["mps-data.json"] + ([f"mps-data-skl{convocation}.json"] if convocation else [])
    source = await _resolve(db, ctx.settings, "rada-deputies", spec, names, sys.stderr)
    if source.unchanged:
        return {"dataset": "rada-deputies", "source": source.described, "unchanged_publication": True}, (
            f"{source.described} has not changed since it was last imported; nothing to do"
        )
    summary = await deputies_from(db, source, convocation, actor=_actor(ctx))
    text = (
        f"imported {summary['deputies']} deputy records from {source.described}: {summary['added']} new, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['bad']} bad; "
        f"{summary['bodies']} factions, committees and commissions"
    )
    return {"dataset": "rada-deputies", "source": source.described, **summary}, text


async def deputies_from(
    db: Database, source: Source, convocation: int | None, *, actor: str, demo: bool = False
) -> dict[str, Any]:
    assert source.path is not None
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {source.described}: {exc.strerror or exc}") from None
    try:
        async with import_run(
            db, "rada-deputies", source.described, actor=actor, etag=source.etag, last_modified=source.last_modified
        ) as run:
            summary = await import_deputies(db, data, run, convocation=convocation, demo=demo)
    except FileError as exc:
        raise CommandError(f"{source.described}: {exc}; nothing was imported") from None
    return {**summary, "run_id": run.id}


async def _import_bills(ctx: Context) -> Result:
    spec = ctx.args.source
    convocation = _convocation(ctx.args, spec)
    db = await ctx.db()
    if convocation is None and not Path(spec).is_file() and not spec.rsplit("?", 1)[0].endswith(".json"):
        raise CommandError("say which convocation with --convocation N (SOURCE does not name one as skl{N})")
    names = [f"billinfo-skl{convocation}.json", f"billinfo_list-skl{convocation}.json"]
    source = await _resolve(db, ctx.settings, "rada-bills", spec, names, sys.stderr)
    if source.unchanged:
        return {"dataset": "rada-bills", "source": source.described, "unchanged_publication": True}, (
            f"{source.described} has not changed since it was last imported; nothing to do"
        )
    summary = await bills_from(db, source, convocation, actor=_actor(ctx))
    text = (
        f"imported {summary['read']} bills from {source.described}: {summary['added']} new, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['bad']} bad"
        + (f"; {summary['date_warnings']} impossible dates kept as unknown" if summary["date_warnings"] else "")
    )
    return {"dataset": "rada-bills", "source": source.described, **summary}, text


async def bills_from(
    db: Database, source: Source, convocation: int | None, *, actor: str, demo: bool = False
) -> dict[str, Any]:
    assert source.path is not None
    try:
        stream = source.path.open("rb")  # noqa: SIM115 - closed below; reads happen in a thread
    except OSError as exc:
        raise CommandError(f"cannot read {source.described}: {exc.strerror or exc}") from None
    with stream:
        try:
            async with import_run(
                db, "rada-bills", source.described, actor=actor, etag=source.etag, last_modified=source.last_modified
            ) as run:
                result = await import_bills(db, stream, run, convocation=convocation, demo=demo)
                if result.broken is not None:
                    run.problem(f"byte {result.broken.offset}", result.broken.reason)
                    # What was read before the break stays (each batch committed); the run itself failed.
                    raise _Broken(result.broken.offset, result.broken.reason, result.read)
        except _Broken as exc:
            raise CommandError(
                f"{source.described}: broken JSON at byte {exc.offset} ({exc.reason}); the {exc.read} bills read "
                "before it were imported"
            ) from None
    return {
        "read": result.read,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "bad": result.bad,
        "date_warnings": result.warnings,
        "convocations": sorted(result.convocations),
        "run_id": run.id,
    }


class _Broken(Exception):
    def __init__(self, offset: int, reason: str, read: int) -> None:
        super().__init__(f"broken JSON at byte {offset}: {reason}")
        self.offset, self.reason, self.read = offset, reason, read


async def load_demo_deputies(db: Database, progress: IO[str] | None = None) -> tuple[str, int]:
    """The real 9th-convocation deputies file, as published."""
    summary = await deputies_from(db, Source(DEMO_DEPUTIES, str(DEMO_DEPUTIES)), 9, actor="bootstrap")
    return "deputies", int(summary["deputies"])


async def load_demo_bills(db: Database, progress: IO[str] | None = None) -> tuple[str, int]:
    """The generated bills file in the official full format (scripts/make_demo_rada_bills.py), marked demo."""
    summary = await bills_from(db, Source(DEMO_BILLS, str(DEMO_BILLS)), 9, actor="bootstrap", demo=True)
    return "bills", int(summary["read"])
