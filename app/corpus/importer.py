"""The corpus importer: JSON Lines in, batched upserts out, one line at a time so memory stays flat.

Each kind has one record schema (documented in the README). A bad line is reported with its number and
skipped; in strict mode the first bad line stops the import and everything it wrote is rolled back, since
the whole import then runs in one transaction. Re-importing a file changes nothing: rows are upserted by
their natural key.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg2
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from app.db import Connection, Database
from app.db.tables import court_decisions

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
MAX_ERRORS_KEPT = 100
MAX_LINE_BYTES = 64 * 1024 * 1024


class LineError(ValueError):
    """A record that cannot be imported; the message names the field."""


class ImportAborted(Exception):
    """A strict import met a bad line and rolled back everything it wrote."""

    def __init__(self, summary: ImportSummary, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.summary = summary
        self.line = line
        self.message = message


@dataclass
class ImportSummary:
    kind: str
    path: str
    strict: bool
    lines: int = 0  # non-blank lines read
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    articles: int = 0  # legislation only: articles written
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    seconds: float = 0.0
    rolled_back: bool = False

    @property
    def imported(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, Any]:
        result = {
            "kind": self.kind,
            "file": self.path,
            "strict": self.strict,
            "lines": self.lines,
            "imported": self.imported,
            "inserted": self.inserted,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rolled_back": self.rolled_back,
        }
        if self.kind == "legislation":
            result["articles"] = self.articles
        return result


# ---- field checks ---------------------------------------------------------------------------------


def _storable(value: str, name: str) -> str:
    """`value`, or LineError when PostgreSQL cannot store it: text holds no NUL character, and a lone surrogate
    (legal as a JSON escape) is not UTF-8. Either made psycopg2 raise mid-import, past the per-row handling."""
    if "\x00" in value:
        raise LineError(f"{name}: contains a NUL character (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LineError(f"{name}: contains an unpaired surrogate (\\u{ord(value[exc.start]):04x})") from None
    return value


def _text(record: dict[str, Any], name: str, *, required: bool = True, max_length: int = 10000) -> str | None:
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise LineError(f"{name}: required")
        return None
    if not isinstance(value, str):
        raise LineError(f"{name}: must be a string")
    value = _storable(value.strip(), name)
    if len(value) > max_length:
        raise LineError(f"{name}: longer than {max_length} characters")
    return value


def _long_text(record: dict[str, Any], name: str, *, required: bool = True) -> str:
    return _text(record, name, required=required, max_length=20_000_000) or ""


def _date(record: dict[str, Any], name: str, *, required: bool = True) -> dt.date | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise LineError(f"{name}: required (YYYY-MM-DD)")
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise LineError(f"{name}: not a date in the form YYYY-MM-DD: {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LineError(f"{name}: no such date: {value!r}") from None


def _url(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = _text(record, name, required=required, max_length=2000)
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise LineError(f"{name}: must be an http(s) URL")
    return value


def _bool(record: dict[str, Any], name: str) -> bool:
    value = record.get(name, False)
    if not isinstance(value, bool):
        raise LineError(f"{name}: must be true or false")
    return value


def _int(
    record: dict[str, Any], name: str, *, required: bool = True, minimum: int = 1, maximum: int = 2**62
) -> int | None:
    value = record.get(name)
    if value is None:
        if required:
            raise LineError(f"{name}: required")
        return None
    # ASCII only: str.isdigit() also takes ², ① and the like, which int() refuses with a ValueError.
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or value > maximum:
        raise LineError(f"{name}: must be an integer from {minimum} to {maximum}")
    return value


# ---- kinds ------------------------------------------------------------------------------------------

_PROCEEDING_KINDS = {
    "civil": "civil",
    "цивільне": "civil",
    "criminal": "criminal",
    "кримінальне": "criminal",
    "commercial": "commercial",
    "господарське": "commercial",
    "administrative": "administrative",
    "адміністративне": "administrative",
    "administrative_offense": "administrative_offense",
    "адмінправопорушення": "administrative_offense",
    "справи про адміністративні правопорушення": "administrative_offense",
}


def parse_court_decision(record: dict[str, Any]) -> dict[str, Any]:
    kind = _text(record, "proceeding_kind") or ""
    if kind.lower() not in _PROCEEDING_KINDS:
        raise LineError(
            "proceeding_kind: one of civil, criminal, commercial, administrative, "
            f"administrative_offense (or the Ukrainian name), not {kind!r}"
        )
    return {
        "doc_id": _int(record, "doc_id"),
        "case_number": " ".join((_text(record, "case_number", max_length=100) or "").split()),
        "court": _text(record, "court", max_length=500),
        "judge": _text(record, "judge", required=False, max_length=500),
        "judgment_form": _text(record, "judgment_form", max_length=200),
        "proceeding_kind": _PROCEEDING_KINDS[kind.lower()],
        "category": _text(record, "category", required=False, max_length=1000),
        "adjudication_date": _date(record, "adjudication_date"),
        "full_text": _long_text(record, "text"),
        "source_url": _url(record, "source_url"),
        "demo": _bool(record, "demo"),
    }


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # for people: "court decisions"
    table: sa.Table
    key: str
    parse: Callable[[dict[str, Any]], dict[str, Any]]
    demo_file: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "court_decisions",
            "court decisions",
            court_decisions,
            "doc_id",
            parse_court_decision,
            "court_decisions.jsonl",
        ),
    )
}


# ---- writing ----------------------------------------------------------------------------------------


async def _upsert(conn: Connection, kind: Kind, rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Write rows (and an act's articles); (inserted, updated, articles)."""
    table = kind.table
    values = [{k: v for k, v in row.items() if k != "articles"} for row in rows]
    stmt = insert(table).values(values)
    update: dict[str, Any] = {c: stmt.excluded[c] for c in values[0] if c != kind.key}
    update["updated_at"] = sa.func.now()
    # xmax is 0 on a freshly inserted row version: it tells inserts from updates.
    upsert: Any = stmt.on_conflict_do_update(index_elements=[kind.key], set_=update).returning(
        sa.literal_column("(xmax = 0)").label("inserted")
    )
    result = await conn.fetch_all(upsert)
    inserted = sum(1 for r in result if r["inserted"])
    return inserted, len(result) - inserted, 0


def _db_message(exc: psycopg2.Error) -> str:
    text = (exc.pgerror or str(exc)).strip().splitlines()
    return "rejected by the database: " + (text[0].removeprefix("ERROR:").strip() if text else type(exc).__name__)


class _Writer:
    """Buffers parsed rows and writes them in batches, each in a transaction (strict: one for everything)."""

    def __init__(
        self, db: Database, kind: Kind, summary: ImportSummary, batch_size: int, report: Callable[[int, str], None]
    ) -> None:
        self.db, self.kind, self.summary, self.batch_size, self.report = db, kind, summary, batch_size, report
        self.batch: list[tuple[int, dict[str, Any]]] = []
        self.keys: set[Any] = set()
        self.weight = 0
        self.conn: Connection | None = None  # the strict import's single transaction

    async def add(self, line: int, row: dict[str, Any]) -> None:
        if row[self.kind.key] in self.keys:
            await self.flush()  # one upsert may not touch a row twice
        self.batch.append((line, row))
        self.keys.add(row[self.kind.key])
        self.weight += 1 + len(row.get("articles", ()))
        if self.weight >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch, self.weight = self.batch, [], 0
        self.keys = set()
        if self.conn is not None:
            await self._write(self.conn, batch)
        else:
            async with self.db.transaction() as conn:
                await self._write(conn, batch)

    async def _write(self, conn: Connection, batch: list[tuple[int, dict[str, Any]]]) -> None:
        await conn.execute("SAVEPOINT corpus_batch")
        try:
            counts = await _upsert(conn, self.kind, [row for _, row in batch])
        except psycopg2.Error:
            # Something the checks let through (a duplicate key in another letter case, ...): find the line.
            await conn.execute("ROLLBACK TO SAVEPOINT corpus_batch")
            for line, row in batch:
                await conn.execute("SAVEPOINT corpus_row")
                try:
                    self._count(await _upsert(conn, self.kind, [row]))
                except psycopg2.Error as exc:
                    await conn.execute("ROLLBACK TO SAVEPOINT corpus_row")
                    self.report(line, _db_message(exc))
                else:
                    await conn.execute("RELEASE SAVEPOINT corpus_row")
        else:
            self._count(counts)
        await conn.execute("RELEASE SAVEPOINT corpus_batch")

    def _count(self, counts: tuple[int, int, int]) -> None:
        self.summary.inserted += counts[0]
        self.summary.updated += counts[1]
        self.summary.articles += counts[2]


def _records(stream: IO[bytes]) -> Iterator[tuple[int, int, Any]]:
    """(line number, bytes read so far, decoded JSON or a LineError) for each non-blank line."""
    done = 0
    for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b""), start=1):
        done += len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            for rest in iter(lambda: stream.readline(MAX_LINE_BYTES), b""):  # skip to the end of the line
                done += len(rest)
                if rest.endswith(b"\n"):
                    break
            yield number, done, LineError(f"longer than {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, done, LineError("not UTF-8 text")
            continue
        try:
            yield number, done, json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, done, LineError(f"not valid JSON: {exc.msg} at column {exc.colno}")
        except RecursionError:
            yield number, done, LineError("not valid JSON: nested too deeply")
        except ValueError as exc:  # an integer literal past Python's 4300-digit limit
            yield number, done, LineError(f"not valid JSON: {exc}")


async def import_file(
    db: Database,
    kind_name: str,
    path: Path | str,
    *,
    strict: bool = False,
    batch_size: int = 500,
    progress: Progress | None = None,
    on_error: Callable[[int, str], None] | None = None,
) -> ImportSummary:
    """Import a JSON Lines file of one kind; raises ImportAborted (nothing written) in strict mode on a bad line."""
    kind = KINDS[kind_name]
    path = Path(path)
    summary = ImportSummary(kind=kind.name, path=str(path), strict=strict)
    started = time.monotonic()
    first_error: list[tuple[int, str]] = []

    def report(line: int, message: str) -> None:
        summary.skipped += 1
        if len(summary.errors) < MAX_ERRORS_KEPT:
            summary.errors.append({"line": line, "error": message})
        if not first_error:
            first_error.append((line, message))
        if on_error is not None:
            on_error(line, message)

    writer = _Writer(db, kind, summary, batch_size, report)

    async def run(stream: IO[bytes]) -> None:
        for number, done, record in _records(stream):
            summary.lines += 1
            if progress is not None:
                progress.update(done, summary.lines)
            if not isinstance(record, LineError):
                try:
                    if not isinstance(record, dict):
                        raise LineError("each line must be a JSON object")
                    record = kind.parse(record)
                except LineError as exc:
                    record = exc
            if isinstance(record, LineError):
                report(number, str(record))
            else:
                await writer.add(number, record)
            if strict and first_error:
                raise _StrictStop
        await writer.flush()
        if strict and first_error:
            raise _StrictStop

    # Blocking reads are fine here: imports run from the CLI, where nothing else shares the event loop.
    with path.open("rb") as stream:  # noqa: ASYNC230
        try:
            if strict:
                async with db.transaction() as conn:
                    writer.conn = conn
                    await run(stream)
            else:
                await run(stream)
        except _StrictStop:
            summary.rolled_back = True
            summary.inserted = summary.updated = summary.articles = 0
            summary.seconds = time.monotonic() - started
            if progress is not None:
                progress.finish(summary.lines)
            line, message = first_error[0]
            raise ImportAborted(summary, line, message) from None
    if summary.imported:
        # Fresh statistics: search picks its plan from the planner's estimate of how many rows match.
        await db.execute(f"ANALYZE {kind.table.name}")
    summary.seconds = time.monotonic() - started
    if progress is not None:
        progress.finish(summary.lines)
    return summary


class _StrictStop(Exception):
    """Raised inside the strict import's transaction so that it rolls back."""


# ---- progress -------------------------------------------------------------------------------------


class Progress:
    """A progress bar with rate and ETA on a stream (stderr): redrawn in place on a terminal, else a line
    every few seconds, so logs of a long import show it moving."""

    def __init__(self, label: str, total_bytes: int, stream: IO[str] | None = None, width: int = 24) -> None:
        self.label = label
        self.total = max(total_bytes, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last = self.started
        self.done = 0
        self.interval = 0.1 if self.tty else 5.0

    def update(self, done_bytes: int, lines: int) -> None:
        self.done = done_bytes
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._draw(lines, final=False)

    def finish(self, lines: int) -> None:
        self.done = self.total
        self._draw(lines, final=True)

    def _draw(self, lines: int, *, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * self.width)
        rate = lines / elapsed
        if final:
            tail = f"done in {_clock(elapsed)}"
        elif fraction > 0:
            tail = f"ETA {_clock(elapsed * (1 - fraction) / fraction)}"
        else:
            tail = "ETA --:--"
        text = (
            f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {fraction * 100:5.1f}%  "
            f"{lines:,} lines  {rate:,.0f} lines/s  {tail}"
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# ---- the demo corpus --------------------------------------------------------------------------------


async def corpus_counts(db: Database) -> dict[str, int]:
    row = await db.fetch_one(
        "SELECT (SELECT count(*) FROM court_decisions) AS court_decisions, "
        "(SELECT count(*) FROM legislative_acts) AS legislation, (SELECT count(*) FROM bills) AS bills"
    )
    assert row is not None
    return {k: int(v) for k, v in row.items()}


async def load_demo_corpus(db: Database, *, progress_stream: IO[str] | None = None) -> dict[str, int]:
    """Import every demo file (app/demo/*.jsonl); returns the rows imported per kind."""
    loaded = {}
    for kind in KINDS.values():
        path = DEMO_DIR / kind.demo_file
        progress = Progress(f"demo {kind.name}", path.stat().st_size, progress_stream) if progress_stream else None
        summary = await import_file(db, kind.name, path, strict=True, progress=progress)
        loaded[kind.name] = summary.imported
    return loaded
