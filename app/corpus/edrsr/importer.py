"""`secondlayer import edrsr SOURCE`: one publication of the register (archive, directory or URL) into the database.

Dictionaries are upserted first, then documents.csv is read as a stream and written in batches (COPY into a
staging table, one merge per batch, one transaction per batch: memory stays flat and a failure keeps every
batch already merged, which a re-run of the same publication finds unchanged). With `strict`, the file is
checked completely before anything is written, and one bad row means nothing is imported.
"""

from __future__ import annotations

import asyncio
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg2

from app.corpus.edrsr import format as fmt
from app.corpus.edrsr import store

DATASET = "edrsr"
DEFAULT_BATCH = 20000
MAX_PROBLEMS_KEPT = 100


class Recorder(Protocol):
    """What the import records as it goes: an import run of app.corpus.provenance."""

    added: int
    updated: int
    unchanged: int
    bad: int

    def problem(self, where: str, reason: str) -> None: ...

    def note(self, key: str, value: Any) -> None: ...


class ImportFailed(Exception):
    """The publication could not be imported; the message is for a person (and nothing half-merged stays)."""


@dataclass
class Loaded:
    """What one publication brought."""

    rows: int = 0
    bad: int = 0
    years: list[int] = field(default_factory=list)
    dictionaries: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    doc_ids: list[int] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # the first MAX_PROBLEMS_KEPT, for the caller

    def problem(self, run: Recorder, where: str, reason: str) -> None:
        run.problem(where, reason)
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append((where, reason))


class _Counting:
    """A byte stream that counts what was read, for the progress bar."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read
        self.done = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.done += len(data)
        self._on_read(self.done)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def flush(self) -> None:
        pass

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False


def _read_dictionaries(archive: fmt.Archive, run: Recorder, loaded: Loaded) -> dict[str, fmt.Dictionary]:
    if not archive.has("courts.csv"):
        raise ImportFailed(f"{archive.path.name} has no courts.csv: is it an edrsr_data_YYYY archive?")
    dictionaries = {}
    for name in fmt.DICTIONARIES:
        if not archive.has(name):
            run.note(f"missing_{name}", True)
            continue
        with archive.open(name) as stream:
            dictionary = fmt.read_dictionary(stream, name)
        for line, reason in dictionary.problems:
            loaded.problem(run, f"{name}:{line}", reason)
        if name != "courts.csv":
            numeric = {code: row for code, row in dictionary.rows.items() if code.isdigit() and len(code) < 10}
            for code in dictionary.rows.keys() - numeric.keys():
                loaded.problem(run, name, f"code {code!r} is not a number; entry skipped")
            dictionary.rows = numeric
        dictionaries[name] = dictionary
    return dictionaries


def _strict_check(archive: fmt.Archive, courts: set[str], run: Recorder, loaded: Loaded) -> None:
    """Read documents.csv through once; ImportFailed (nothing written) at its first bad row."""
    with archive.open(fmt.DOCUMENTS) as stream:
        for line, item in fmt.read_documents(stream, courts):
            if isinstance(item, str):
                loaded.problem(run, f"{fmt.DOCUMENTS}:{line}", item)
                raise ImportFailed(f"{fmt.DOCUMENTS} line {line}: {item}; stopped (--strict) and nothing was imported")


def load_archive(
    database_url: str,
    path: Path,
    run: Recorder,
    *,
    strict: bool = False,
    demo: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int, int], None] | None = None,
    keep_ids: bool = False,
) -> Loaded:
    """Import one publication (blocking: call it in a thread). `progress(done_bytes, total_bytes, rows)`."""
    started = time.monotonic()
    loaded = Loaded()
    try:
        with fmt.Archive(path) as archive:
            return _load(database_url, archive, run, loaded, strict, demo, batch_size, progress, keep_ids, started)
    except fmt.FormatError as exc:
        raise ImportFailed(str(exc)) from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ImportFailed(
            f"{path.name} is truncated or damaged ({exc}); the batches merged before this point are kept, "
            "and the rest is unchanged"
        ) from None
    except psycopg2.Error as exc:
        message = (exc.pgerror or str(exc)).strip().splitlines()[0] if (exc.pgerror or str(exc)) else "error"
        raise ImportFailed(f"the database refused a batch: {message}; that batch was rolled back") from None


def _load(
    database_url: str,
    archive: fmt.Archive,
    run: Recorder,
    loaded: Loaded,
    strict: bool,
    demo: bool,
    batch_size: int,
    progress: Callable[[int, int, int], None] | None,
    keep_ids: bool,
    started: float,
) -> Loaded:
    dictionaries = _read_dictionaries(archive, run, loaded)
    if not archive.has(fmt.DOCUMENTS):
        raise ImportFailed(f"{archive.path.name} has no {fmt.DOCUMENTS}")
    conn = store.connect(database_url)
    try:
        store.lock(conn)
        courts = set(dictionaries["courts.csv"].rows) | store.known_courts(conn)
        if strict:
            if run.bad:
                raise ImportFailed("the dictionaries have bad rows (see the problems); stopped (--strict)")
            _strict_check(archive, courts, run, loaded)
        loaded.dictionaries = store.write_dictionaries(conn, dictionaries)
        counts = store.Counts()
        total = archive.size(fmt.DOCUMENTS)
        batch: list[tuple[int, fmt.Document]] = []
        rows = 0

        def report(done: int) -> None:
            if progress is not None:
                progress(done, total, rows)

        with archive.open(fmt.DOCUMENTS) as raw:
            stream = _Counting(raw, report)
            for line, item in fmt.read_documents(stream, courts):  # type: ignore[arg-type]
                rows += 1
                if isinstance(item, str):
                    loaded.problem(run, f"{fmt.DOCUMENTS}:{line}", item)
                    loaded.bad += 1
                    continue
                batch.append((line, item))
                if keep_ids:
                    loaded.doc_ids.append(item.doc_id)
                if len(batch) >= batch_size:
                    _merge(conn, batch, demo, counts, run)
                    batch = []
            if batch:
                _merge(conn, batch, demo, counts, run)
        loaded.rows = rows
        if rows and loaded.bad == rows:
            raise ImportFailed(f"no row of {fmt.DOCUMENTS} could be imported ({loaded.bad} bad rows)")
        if counts.added or counts.updated:
            store.analyze(conn)
        loaded.years = sorted(counts.years)
    finally:
        conn.close()
    loaded.seconds = time.monotonic() - started
    run.note("rows", loaded.rows)
    run.note("years", loaded.years)
    run.note("dictionaries", loaded.dictionaries)
    return loaded


def _merge(conn: Any, batch: list[tuple[int, fmt.Document]], demo: bool, counts: store.Counts, run: Recorder) -> None:
    before = (counts.added, counts.updated, counts.unchanged)
    store.merge_batch(conn, batch, demo=demo, counts=counts)
    run.added += counts.added - before[0]
    run.updated += counts.updated - before[1]
    run.unchanged += counts.unchanged - before[2]


async def load_archive_async(database_url: str, path: Path, run: Recorder, **options: Any) -> Loaded:
    """load_archive in a worker thread: reading, parsing and COPY stay off the event loop."""
    return await asyncio.to_thread(load_archive, database_url, path, run, **options)
