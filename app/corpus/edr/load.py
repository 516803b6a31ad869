"""Loading ЄДР dumps: parsed entities are COPYed into staging tables, then merged into the register in one step.

The whole load is one transaction on a connection of its own, run in a thread (psycopg2's COPY needs a
synchronous connection, and parsing is CPU work that must stay off the event loop): a failure, or a bad element
under --strict, leaves the register as it was. The merge writes only entities whose fingerprint changed, replaces
their people and links, records status and head changes in `company_history`, and marks the entities of the same
kind that the new full dump no longer holds as vanished (their rows stay). Demo rows are removed by a real
import.
"""

from __future__ import annotations

import hashlib
import io
import json
import queue
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg2
from lxml import etree

from app.corpus.edr.parse import Entity, kind_from_name, read_elements

BATCH = 2000  # entities in one batch: one COPY into staging, one merge, one transaction with the checkpoint
_HTML = re.compile(rb"(?:<!--.{0,200}?-->\s{0,20})?<(?:!doctype\s{1,5}html|html)[\s>]", re.IGNORECASE | re.DOTALL)


class Run(Protocol):
    """What the load reports into: provenance's import run (app.corpus.provenance.import_run)."""

    added: int
    updated: int
    unchanged: int
    bad: int

    def problem(self, where: str, reason: str) -> None: ...

    def note(self, key: str, value: Any) -> None: ...


class SourceError(ValueError):
    """The source is not a dump this importer reads; the message says why."""


class StrictStop(Exception):
    """A bad element under --strict: the load is rolled back."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}; stopped (--strict) and rolled back, nothing was imported")


@dataclass(frozen=True)
class XmlSource:
    """One XML file to read: a file, or a member of a zip archive."""

    name: str  # for messages: the path, or path!member
    kind_hint: str | None
    size: int
    open: Callable[[], IO[bytes]]
    identity: str = ""  # what changes with a new publication: the size and the mtime (a zip member's CRC)


def xml_sources(path: Path) -> list[XmlSource]:
    """The XML dumps in a file: itself, or every .xml member of a zip (uo.zip, fop.zip, fsu.zip)."""
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    with path.open("rb") as stream:
        head = stream.read(512)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if m.filename.lower().endswith(".xml") and not m.is_dir()]
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{path} is not a readable zip archive: {exc}") from None
        if not members:
            raise SourceError(f"{path} holds no .xml file")
        return [
            XmlSource(
                f"{path}!{m.filename}",
                kind_from_name(m.filename) or kind_from_name(path.name),
                m.file_size,
                _member_opener(path, m.filename),
                f"{m.file_size}:{m.CRC:08x}",
            )
            for m in members
        ]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        raise SourceError(f"{path} is neither an XML file nor a zip archive")
    if _HTML.match(stripped):
        raise SourceError(
            f"{path} is a web page (HTML), not a dump: a dataset's page on data.gov.ua is not its file; give the URL "
            "of the uo.zip, fop.zip or fsu.zip resource itself (its download link)"
        )
    stat = path.stat()
    return [
        XmlSource(
            str(path),
            kind_from_name(path.name),
            stat.st_size,
            lambda: path.open("rb"),
            f"{stat.st_size}:{stat.st_mtime_ns}",
        )
    ]


def _member_opener(path: Path, member: str) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        archive = zipfile.ZipFile(path)
        stream = archive.open(member)
        stream._archive = archive  # type: ignore[attr-defined]  # kept open as long as the member is read
        return stream

    return open_member


class _Counting:
    """A read-only stream that counts the bytes read, for the progress bar (lxml only calls read)."""

    def __init__(self, raw: IO[bytes], seen: Callable[[int], None]) -> None:
        self.raw, self.seen = raw, seen
        self.tail = b""  # the last bytes read: whether the file ends with its root's closing tag

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.seen(len(data))
        if data:
            self.tail = (self.tail + data)[-64:]
        return data

    def ended(self) -> bool:
        """Whether the file ends with `</DATA>`, the root of every ЄДР dump: else it was cut short (lxml's
        recovery closes what is open at the end of the data, so a truncated file otherwise reads as whole)."""
        return self.tail.rstrip().endswith(b"</DATA>")


# ---- COPY lines ----------------------------------------------------------------------------------------


# One encoder for every value: json.dumps with options builds a new JSONEncoder on each call.
_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _escape(text: str) -> str:
    # Plain `in` tests first: most values need no escaping, and translate() with a mapping is slow per character.
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


def _field(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is dict or kind is list:
        # Keys come in the parser's fixed order, so the text (and the fingerprint) is stable without sorting.
        return _escape(_JSON(value))
    if kind is int:
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return _escape(value.isoformat())
    return _escape(str(value))


def _line(values: list[Any]) -> str:
    return "\t".join([_field(v) for v in values]) + "\n"


COMPANY_COLUMNS = (
    "id, kind, edrpou, name, short_name, status, status_code, address, region, registered_on, capital, head, "
    "activities, kveds, termination, bankruptcy, tax_registrations, details"
)
PERSON_COLUMNS = "company_id, role, position, name, code, share, share_percent, details"
LINK_COLUMNS = "company_id, relation, position, name, code, details"


def entity_lines(entity: Entity, seq: int) -> tuple[str, list[str], list[str]]:
    """The staging COPY lines of one entity (company, people, links), the company's ending in its fingerprint."""
    company = [
        entity.id,
        entity.kind,
        entity.edrpou,
        entity.name,
        entity.short_name,
        entity.status,
        entity.status_code,
        entity.address,
        entity.region,
        entity.registered_on,
        entity.capital,
        entity.head,
        entity.activities,
        entity.kveds,
        entity.termination,
        entity.bankruptcy,
        entity.tax_registrations,
        entity.details,
    ]
    positions: dict[str, int] = {}
    persons = []
    for person in entity.persons:
        positions[person.role] = positions.get(person.role, 0) + 1
        persons.append(
            _line(
                [
                    entity.id,
                    person.role,
                    positions[person.role],
                    person.name,
                    person.code,
                    person.share,
                    person.share_percent,
                    person.details,
                ]
            )
        )
    links = []
    for link in entity.links:
        positions[link.relation] = positions.get(link.relation, 0) + 1
        links.append(_line([entity.id, link.relation, positions[link.relation], link.name, link.code, link.details]))
    body = _line(company)
    digest = hashlib.blake2b(body.encode(), digest_size=16)
    for part in (*persons, *links):
        digest.update(part.encode())
    prefix = f"{seq}\t"
    return (
        prefix + body[:-1] + "\t" + digest.hexdigest() + "\n",
        [prefix + p for p in persons],
        [prefix + li for li in links],
    )


# ---- staging and merge ---------------------------------------------------------------------------------

_STAGING = """
CREATE TEMP TABLE edr_stage (
    seq bigint, id text, kind text, edrpou text, name text, short_name text, status text, status_code text,
    address text, region text, registered_on date, capital numeric, head text, activities jsonb, kveds jsonb,
    termination jsonb, bankruptcy jsonb, tax_registrations jsonb, details jsonb, fingerprint text
);
CREATE TEMP TABLE edr_stage_persons (
    seq bigint, company_id text, role text, position int, name text, code text, share numeric,
    share_percent numeric, details text
);
CREATE TEMP TABLE edr_stage_links (
    seq bigint, company_id text, relation text, position int, name text, code text, details jsonb
);
CREATE TEMP TABLE edr_skipped (id text);
"""
_COPY = {
    "edr_stage": f"COPY edr_stage (seq, {COMPANY_COLUMNS}, fingerprint) FROM STDIN",
    "edr_stage_persons": f"COPY edr_stage_persons (seq, {PERSON_COLUMNS}) FROM STDIN",
    "edr_stage_links": f"COPY edr_stage_links (seq, {LINK_COLUMNS}) FROM STDIN",
    "edr_skipped": "COPY edr_skipped (id) FROM STDIN",
}

_UPDATED_COLUMNS = [c.strip() for c in COMPANY_COLUMNS.split(",") if c.strip() != "id"]
# One batch's merge: the staged entities (the last of an id wins) against the register, writing only those whose
# fingerprint changed, then the ids the batch held recorded against the checkpoint, then the staging emptied.
_MERGE = f"""
CREATE TEMP TABLE edr_latest AS
    SELECT DISTINCT ON (id) * FROM edr_stage ORDER BY id, seq DESC;
CREATE UNIQUE INDEX ON edr_latest (id);
ANALYZE edr_latest;
CREATE TEMP TABLE edr_changed AS
    SELECT l.id, l.seq, c.id IS NULL AS is_new, c.status AS old_status, c.head AS old_head,
           c.vanished_at IS NOT NULL AS returned
    FROM edr_latest l LEFT JOIN companies c ON c.id = l.id
    WHERE c.id IS NULL OR c.fingerprint <> l.fingerprint OR c.vanished_at IS NOT NULL OR c.demo <> %(demo)s;
CREATE UNIQUE INDEX ON edr_changed (id);
ANALYZE edr_changed;
INSERT INTO companies ({COMPANY_COLUMNS}, fingerprint, import_id, demo, vanished_at, updated_at)
    SELECT l.id, l.kind, l.edrpou, l.name, l.short_name, l.status, l.status_code, l.address, l.region,
           l.registered_on, l.capital, l.head, l.activities,
           ARRAY(SELECT jsonb_array_elements_text(l.kveds)), l.termination, l.bankruptcy, l.tax_registrations,
           l.details, l.fingerprint, %(run)s::bigint, %(demo)s, NULL, now()
    FROM edr_latest l JOIN edr_changed ch ON ch.id = l.id
ON CONFLICT (id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED_COLUMNS)},
    fingerprint = EXCLUDED.fingerprint, import_id = EXCLUDED.import_id, demo = EXCLUDED.demo,
    vanished_at = NULL, updated_at = now();
DELETE FROM company_persons p USING edr_changed ch WHERE p.company_id = ch.id AND NOT ch.is_new;
DELETE FROM company_links k USING edr_changed ch WHERE k.company_id = ch.id AND NOT ch.is_new;
INSERT INTO company_persons ({PERSON_COLUMNS})
    SELECT {", ".join("p." + c.strip() for c in PERSON_COLUMNS.split(","))}
    FROM edr_stage_persons p JOIN edr_changed ch ON ch.id = p.company_id AND ch.seq = p.seq;
INSERT INTO company_links ({LINK_COLUMNS})
    SELECT {", ".join("k." + c.strip() for c in LINK_COLUMNS.split(","))}
    FROM edr_stage_links k JOIN edr_changed ch ON ch.id = k.company_id AND ch.seq = k.seq;
INSERT INTO company_history (company_id, field, value, import_id)
    SELECT l.id, 'status', l.status, %(run)s::bigint FROM edr_latest l JOIN edr_changed ch ON ch.id = l.id
    WHERE ch.is_new OR ch.old_status IS DISTINCT FROM l.status
    UNION ALL
    SELECT l.id, 'head', l.head, %(run)s::bigint FROM edr_latest l JOIN edr_changed ch ON ch.id = l.id
    WHERE (ch.is_new AND l.head IS NOT NULL) OR (NOT ch.is_new AND ch.old_head IS DISTINCT FROM l.head)
    UNION ALL
    SELECT ch.id, 'presence', 'returned', %(run)s::bigint FROM edr_changed ch WHERE ch.returned;
"""
_MERGE_COUNTS = (
    "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM edr_latest) "
    "FROM edr_changed"
)
# The ids the batch held, against the checkpoint: the entities kept (the rows inserted are the entities this
# publication had not listed before), then those of bad elements (not marked vanished for being skipped).
_SEEN = (
    "INSERT INTO edr_import_seen (checkpoint_id, id) SELECT %(checkpoint)s, id FROM edr_latest ON CONFLICT DO NOTHING"
)
_SEEN_SKIPPED = (
    "INSERT INTO edr_import_seen (checkpoint_id, id) SELECT DISTINCT %(checkpoint)s, id FROM edr_skipped "
    "ON CONFLICT DO NOTHING"
)
_MERGE_DONE = "DROP TABLE edr_latest, edr_changed; TRUNCATE edr_stage, edr_stage_persons, edr_stage_links, edr_skipped"
_CHECKPOINT_MOVE = """
UPDATE edr_import_checkpoints SET file_index = %(file_index)s, element = %(element)s,
    elements = elements + %(elements)s, entities = entities + %(entities)s,
    kinds = ARRAY(SELECT DISTINCT unnest(kinds || %(kinds)s::text[]) ORDER BY 1), updated_at = now()
WHERE id = %(checkpoint)s
"""
# The final step, once every file was read to its end: the entities of the kinds the dump holds that it no
# longer lists (nor listed as a bad element) are marked vanished.
_VANISH = """
WITH gone AS (
    UPDATE companies c SET vanished_at = now(), updated_at = now()
    WHERE c.kind = ANY(%(kinds)s) AND c.vanished_at IS NULL AND NOT c.demo
      AND NOT EXISTS (SELECT 1 FROM edr_import_seen s WHERE s.checkpoint_id = %(checkpoint)s AND s.id = c.id)
    RETURNING c.id
)
INSERT INTO company_history (company_id, field, value, import_id)
    SELECT id, 'presence', 'vanished', %(run)s::bigint FROM gone
"""


@dataclass
class LoadResult:
    elements: int = 0  # elements read by this run (a resumed run does not count those read before)
    entities: int = 0  # distinct entities the publication holds (with those of the run it resumed)
    vanished: int = 0
    kinds: list[str] = field(default_factory=list)
    complete: bool = True  # every file read to its end (else nothing is marked vanished)
    resumed_from: int = 0  # elements a failed earlier run of the same publication had committed
    batches: int = 0


@dataclass
class Batch:
    """One batch of parsed entities as COPY text for each staging table, and where it ends in the source."""

    lines: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in _COPY})
    entities: int = 0
    elements: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    file_index: int = 0
    element: int = 0  # the number of the last element of the batch within its file
    done_bytes: int = 0
    end: bool = False  # the last batch: every file read
    complete: bool = True


def _batches(
    sources: list[XmlSource], start: tuple[int, int], size: int, strict: bool, done: list[int]
) -> Generator[Batch, None, None]:
    """The sources parsed into batches of `size` entities, from after element `start` = (file index, element).

    A batch also ends at the end of each file (a checkpoint names one file), and under --strict right after a bad
    element, so that the import stops there. `done[0]` counts the bytes read, for the progress bar."""
    seq = 0
    batch = Batch()
    complete = True

    def seen(count: int) -> None:
        done[0] += count

    for index, source in enumerate(sources):
        if index < start[0]:
            continue
        skip = start[1] if index == start[0] else 0
        batch.file_index, batch.element = index, skip
        with _opened(source) as raw:
            counting = _Counting(raw, seen)
            try:
                for parsed in read_elements(counting, source.kind_hint, skip):  # type: ignore[arg-type]
                    batch.element = max(batch.element, parsed.number)
                    where = f"{source.name}: element {parsed.number} (line {parsed.line})"
                    if parsed.entity is None:
                        if parsed.entity_id:
                            batch.lines["edr_skipped"].append(_line([parsed.entity_id]))
                        batch.problems.append((where, parsed.error or "unreadable"))
                    else:
                        seq += 1
                        entity = parsed.entity
                        batch.elements += 1
                        batch.kinds.add(entity.kind)
                        for warning in entity.warnings:
                            batch.problems.append((where, f"{warning}; kept as published"))
                        company, persons, links = entity_lines(entity, seq)
                        batch.lines["edr_stage"].append(company)
                        batch.lines["edr_stage_persons"].extend(persons)
                        batch.lines["edr_stage_links"].extend(links)
                        batch.entities += 1
                    if batch.entities >= size or (strict and batch.problems):
                        batch.done_bytes = done[0]
                        yield batch
                        batch = Batch(file_index=index, element=batch.element)
                if not counting.ended():
                    complete = False
                    batch.problems.append(
                        (
                            f"{source.name}: end of file",
                            "the file ends before its closing </DATA>: it was cut short (an interrupted download or "
                            "copy?); what it held is imported, nothing is marked vanished",
                        )
                    )
            except etree.XMLSyntaxError as exc:
                complete = False
                batch.problems.append(
                    (
                        f"{source.name}: line {exc.lineno or 0}",
                        f"malformed XML, the rest of the file is unreadable: {exc.msg}",
                    )
                )
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                complete = False
                batch.problems.append(
                    (f"{source.name}: byte {done[0]}", f"the archive is damaged, the rest is unreadable: {exc}")
                )
        batch.done_bytes = done[0]
        if index == len(sources) - 1:
            break
        yield batch
        batch = Batch(file_index=index + 1, element=0)
    batch.end, batch.complete, batch.done_bytes = True, complete, done[0]
    yield batch


class _Pipeline:
    """Parsing in a thread of its own, a bounded queue of batches ahead of the database writes.

    Parsing is Python work that holds the GIL; the writes wait on the PostgreSQL server with the GIL released,
    so the two overlap. At most QUEUED batches wait, so memory stays bounded whatever the file's size."""

    QUEUED = 2

    def __init__(self, batches: Generator[Batch, None, None]) -> None:
        self.batches = batches
        self.queue: queue.Queue[Batch | BaseException] = queue.Queue(self.QUEUED)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="edr-parse", daemon=True)
        self.thread.start()

    def _put(self, item: Batch | BaseException) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for batch in self.batches:
                if not self._put(batch):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the writer, which raises it in its thread
            self._put(exc)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            item = self.queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.end:
                return

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.batches.close()


def publication_of(sources: list[XmlSource]) -> str:
    """What tells one publication of a source from another: each file's size and mtime (a zip member's CRC)."""
    return ";".join(source.identity for source in sources)


def load(
    dsn: str,
    sources: list[XmlSource],
    run: Run,
    *,
    run_id: int | None,
    strict: bool = False,
    demo: bool = False,
    progress: Callable[[int, int], None] | None = None,
    source: str | None = None,
    publication: str | None = None,
    batch_size: int = BATCH,
    pipeline: bool = True,
) -> LoadResult:
    """Read every source and merge it into the register (blocking: run it in a thread).

    One transaction per batch of `batch_size` entities, with the checkpoint moved in the same transaction: a
    failed or killed run leaves what it committed, and running the same publication again (`source`, by default
    the files' names, and `publication`, by default their sizes and mtimes) resumes after the last committed
    element. The entities that vanished are marked in a final step, only once every file was read to its end.
    Under `strict` (and for the demo) the whole load is one transaction instead, so a bad element leaves nothing
    written: an earlier run's checkpoint of the same source is not resumed then, but started over.
    """
    result = LoadResult()
    label = source or ", ".join(s.name for s in sources)
    key = publication or publication_of(sources)
    per_batch = not strict and not demo
    with _connection(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(_STAGING)
        checkpoint, start, result.resumed_from = _checkpoint(cursor, label, key, run_id, resume=per_batch)
        if result.resumed_from:
            run.note("resumed_from_element", result.resumed_from)
        if not demo:  # a real import replaces the demo rows, with its first batch
            cursor.execute("DELETE FROM companies WHERE demo")
        done = [0]
        produced = _batches(sources, start, batch_size, strict, done)
        stream: Any = _Pipeline(produced) if pipeline else produced
        params: dict[str, Any] = {"run": run_id, "demo": demo, "checkpoint": checkpoint}
        last: Batch | None = None
        try:
            for batch in stream:
                for where, reason in batch.problems:
                    run.problem(where, reason)
                    if strict:
                        raise StrictStop(where, reason)
                counts = _write(cursor, batch, params)
                run.added += counts.added
                run.updated += counts.updated
                run.unchanged += counts.unchanged
                result.elements += batch.elements
                result.batches += 1
                if per_batch:
                    conn.commit()
                if progress is not None:
                    progress(batch.done_bytes, result.elements)
                last = batch
        finally:
            if pipeline:
                stream.close()
            else:
                produced.close()
        if last is None or not last.end:  # the parser always ends with a batch marked end, or raises
            raise RuntimeError("the parser stopped before the end of the dump")
        result.complete = last.complete
        cursor.execute("SELECT kinds, entities FROM edr_import_checkpoints WHERE id = %(checkpoint)s", params)
        kinds, entities = cursor.fetchone()
        result.kinds, result.entities = sorted(kinds), int(entities)
        if result.complete and kinds:
            cursor.execute(_VANISH, {**params, "kinds": result.kinds})
            result.vanished = cursor.rowcount
        elif kinds:
            run.note("vanished_not_marked", "a file could not be read to its end")
        run.note("vanished", result.vanished)
        # The publication was read to its end: nothing is left to resume.
        cursor.execute("DELETE FROM edr_import_checkpoints WHERE id = %(checkpoint)s", params)
        conn.commit()
        conn.autocommit = True
        cursor.execute("ANALYZE companies; ANALYZE company_persons; ANALYZE company_links")
    return result


def _checkpoint(
    cursor: Any, source: str, publication: str, run_id: int | None, *, resume: bool
) -> tuple[int, tuple[int, int], int]:
    """The checkpoint of this publication of the source: its id, where to start, and the elements done before.

    Checkpoints of other publications of the same source are obsolete (the file changed) and go."""
    cursor.execute(
        "SELECT id, file_index, element, elements FROM edr_import_checkpoints "
        "WHERE source = %(source)s AND publication = %(publication)s FOR UPDATE",
        {"source": source, "publication": publication},
    )
    row = cursor.fetchone()
    if row is not None and resume:
        return int(row[0]), (int(row[1]), int(row[2])), int(row[3])
    cursor.execute("DELETE FROM edr_import_checkpoints WHERE source = %(source)s", {"source": source})
    cursor.execute(
        "INSERT INTO edr_import_checkpoints (source, publication, import_id) "
        "VALUES (%(source)s, %(publication)s, %(run)s) RETURNING id",
        {"source": source, "publication": publication, "run": run_id},
    )
    return int(cursor.fetchone()[0]), (0, 0), 0


def _write(cursor: Any, batch: Batch, params: dict[str, Any]) -> Counts:
    """COPY one batch into the staging tables, merge it, and move the checkpoint past it."""
    for table, lines in batch.lines.items():
        if lines:
            cursor.copy_expert(_COPY[table], io.StringIO("".join(lines)))
    added = updated = entities = new = 0
    if batch.entities:
        cursor.execute(_MERGE, params)
        cursor.execute(_MERGE_COUNTS)
        added, updated, entities = cursor.fetchone()
        cursor.execute(_SEEN, params)
        new = cursor.rowcount
        cursor.execute(_MERGE_DONE)
    if batch.lines["edr_skipped"]:
        cursor.execute(_SEEN_SKIPPED, params)
        cursor.execute("TRUNCATE edr_skipped")
    cursor.execute(
        _CHECKPOINT_MOVE,
        {
            **params,
            "file_index": batch.file_index,
            "element": batch.element,
            "elements": batch.elements,
            "entities": new,
            "kinds": sorted(batch.kinds),
        },
    )
    return Counts(added=int(added), updated=int(updated), unchanged=int(entities) - int(added) - int(updated))


@contextmanager
def _connection(dsn: str) -> Iterator[Any]:
    conn = psycopg2.connect(dsn)
    try:
        yield conn
    finally:
        conn.close()  # uncommitted work is rolled back


@contextmanager
def _opened(source: XmlSource) -> Iterator[IO[bytes]]:
    stream = source.open()
    try:
        yield stream
    finally:
        stream.close()
        archive = getattr(stream, "_archive", None)
        if archive is not None:
            archive.close()


@dataclass
class Counts:
    """A Run that only counts and keeps the problems: for loads that are not recorded as an import (the demo)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def problem(self, where: str, reason: str) -> None:
        self.bad += 1
        if len(self.problems) < 100:
            self.problems.append((where, reason))

    def note(self, key: str, value: Any) -> None:
        self.notes[key] = value
