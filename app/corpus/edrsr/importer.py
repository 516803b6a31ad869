"""`secondlayer import edrsr SOURCE`: one publication of the register (archive, directory or URL) into the database.

Dictionaries are upserted first, then documents.csv is read as a stream and written in batches (COPY into a
staging table, one merge per batch, one transaction per batch: memory stays flat and a failure keeps every
batch already merged, which a re-run of the same publication finds unchanged). With `strict`, the file is
checked completely before anything is written, and one bad row means nothing is imported.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg2

from app.corpus.edrsr import format as fmt
from app.corpus.edrsr import store

DATASET = "edrsr"
DEFAULT_BATCH = 50000
STRICT_BATCH = 100_000  # rows per step of the --strict check (nothing is written)
MAX_PROBLEMS_KEPT = 100


class Recorder(Protocol):
    """What the import records as it goes: an import run of app.corpus.provenance."""

    id: int
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
    attaching: float = 0.0  # seconds of the loaded years' index builds and ATTACH, part of `seconds`
    indexing: float = 0.0  # of which the index builds (store.INDEX_BUILDERS at once)
    analyzing: float = 0.0  # seconds of the planner statistics at the end, part of `seconds`
    resumed_after_line: int = 0  # a failed or killed run of the same file committed its batches up to this line
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

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        for batch in fmt.read_batches(stream, courts, STRICT_BATCH):
            if batch.problems:
                line, reason = batch.problems[0]
                loaded.problem(run, f"{fmt.DOCUMENTS}:{line}", reason)
                raise ImportFailed(
                    f"{fmt.DOCUMENTS} line {line}: {reason}; stopped (--strict) and nothing was imported"
                )


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
    """Import one publication (blocking: call it in a thread). `progress(done_bytes, total_bytes, rows)`.

    Each batch is merged with the run's checkpoint in one transaction; a run of the same file after a failed or
    killed one resumes after its last committed batch."""
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
            "and a run of the same file resumes after them"
        ) from None
    except psycopg2.Error as exc:
        raise ImportFailed(
            f"the database refused a batch: {_pg_message(exc)}; that batch was rolled back, and a run of the same "
            "file resumes after the batches merged before it"
        ) from None


def _pg_message(exc: psycopg2.Error) -> str:
    text = (exc.pgerror or str(exc)).strip()
    return text.splitlines()[0] if text else "error"


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
        identity = archive.identity(fmt.DOCUMENTS)
        load = store.begin(conn, dataset=DATASET, run_id=run.id, identity=identity, demo=demo)
        checkpoint: dict[str, Any] | None = None
        if load.after_line:
            checkpoint = {"identity": identity, "line": load.after_line}
            run.note("resumed_after_line", load.after_line)
            loaded.resumed_after_line = load.after_line
        run.note("checkpoint", checkpoint)
        total = archive.size(fmt.DOCUMENTS)
        rows = 0

        def report(done: int) -> None:
            if progress is not None:
                progress(done, total, rows)

        def documents() -> IO[bytes]:
            return _Counting(archive.open(fmt.DOCUMENTS), report)  # type: ignore[return-value]

        for batch in _parsed_in_thread(documents, courts, batch_size, load.after_line):
            rows += batch.read
            for line, reason in batch.problems:
                loaded.problem(run, f"{fmt.DOCUMENTS}:{line}", reason)
                loaded.bad += 1
            if keep_ids:
                loaded.doc_ids.extend(sorted(batch.ids))
            checkpoint = {"identity": identity, "line": batch.last_line}
            if batch.rows:
                _merge(load, batch, checkpoint, run)
            run.note("checkpoint", checkpoint)
        loaded.rows = rows
        if rows and loaded.bad == rows:
            raise ImportFailed(f"no row of {fmt.DOCUMENTS} could be imported ({loaded.bad} bad rows)")
        step = time.monotonic()
        try:
            store.build_loaded_indexes(load, database_url)
            loaded.indexing = time.monotonic() - step
            attached = store.attach_loaded(load)
        except psycopg2.Error as exc:
            raise ImportFailed(
                f"the database refused to index or attach the years loaded apart: {_pg_message(exc)}; every row "
                "read is kept, and a run of the same file builds what is missing and attaches them"
            ) from None
        loaded.attaching = time.monotonic() - step
        if attached:
            run.note("years_loaded_apart", attached)
        store.finish(load)
        run.note("checkpoint", None)
        step = time.monotonic()
        if load.counts.added or load.counts.updated:
            store.analyze(conn)
        loaded.analyzing = time.monotonic() - step
        loaded.years = sorted(load.counts.years)
    finally:
        conn.close()
    loaded.seconds = time.monotonic() - started
    run.note("rows", loaded.rows)
    run.note("years", loaded.years)
    run.note("dictionaries", loaded.dictionaries)
    return loaded


_END = object()


def _parsed_in_thread(
    open_stream: Callable[[], IO[bytes]], courts: set[str], batch_size: int, after_line: int
) -> Iterator[fmt.Batch]:
    """fmt.read_batches run in a thread of its own: the next batch is parsed while the database merges this one
    (psycopg2 releases the GIL while it waits). At most one batch waits, so memory stays flat; the reader's
    exceptions arrive here."""
    waiting: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def parse() -> None:
        outcome: Any = RuntimeError(f"the reader of {fmt.DOCUMENTS} stopped")
        try:
            with open_stream() as stream:
                for batch in fmt.read_batches(stream, courts, batch_size, after_line=after_line):
                    if not put(batch):
                        return
            outcome = _END
        except Exception as exc:  # noqa: BLE001 (handed to the importing thread, which reports it)
            outcome = exc
        finally:
            put(outcome)

    reader = threading.Thread(target=parse, name="edrsr-parse", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _merge(load: store.Load, batch: fmt.Batch, checkpoint: dict[str, Any], run: Recorder) -> None:
    counts = load.counts
    before = (counts.added, counts.updated, counts.unchanged)
    store.merge_batch(load, batch, checkpoint)
    run.added += counts.added - before[0]
    run.updated += counts.updated - before[1]
    run.unchanged += counts.unchanged - before[2]


async def load_archive_async(database_url: str, path: Path, run: Recorder, **options: Any) -> Loaded:
    """load_archive in a worker thread: reading, parsing and COPY stay off the event loop."""
    return await asyncio.to_thread(load_archive, database_url, path, run, **options)
