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
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg2
from lxml import etree

from app.corpus.edr.parse import Entity, kind_from_name, read_elements

BATCH = 2000  # entities buffered before a COPY


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
            )
            for m in members
        ]
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        raise SourceError(f"{path} is neither an XML file nor a zip archive")
    return [XmlSource(str(path), kind_from_name(path.name), path.stat().st_size, lambda: path.open("rb"))]


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

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.seen(len(data))
        return data


# ---- COPY lines ----------------------------------------------------------------------------------------


def _field(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if type(value) is str:
        text = value
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, dict | list):
        # Keys come in the parser's fixed order, so the text (and the fingerprint) is stable without sorting.
        text = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
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


def _line(values: list[Any]) -> str:
    return "\t".join(_field(v) for v in values) + "\n"


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
) ON COMMIT DROP;
CREATE TEMP TABLE edr_stage_persons (
    seq bigint, company_id text, role text, position int, name text, code text, share numeric,
    share_percent numeric, details text
) ON COMMIT DROP;
CREATE TEMP TABLE edr_stage_links (
    seq bigint, company_id text, relation text, position int, name text, code text, details jsonb
) ON COMMIT DROP;
CREATE TEMP TABLE edr_skipped (id text) ON COMMIT DROP;
"""
_COPY = {
    "edr_stage": f"COPY edr_stage (seq, {COMPANY_COLUMNS}, fingerprint) FROM STDIN",
    "edr_stage_persons": f"COPY edr_stage_persons (seq, {PERSON_COLUMNS}) FROM STDIN",
    "edr_stage_links": f"COPY edr_stage_links (seq, {LINK_COLUMNS}) FROM STDIN",
    "edr_skipped": "COPY edr_skipped (id) FROM STDIN",
}

_UPDATED_COLUMNS = [c.strip() for c in COMPANY_COLUMNS.split(",") if c.strip() != "id"]
_MERGE = f"""
CREATE TEMP TABLE edr_latest ON COMMIT DROP AS
    SELECT DISTINCT ON (id) * FROM edr_stage ORDER BY id, seq DESC;
CREATE UNIQUE INDEX ON edr_latest (id);
ANALYZE edr_latest;
CREATE TEMP TABLE edr_changed ON COMMIT DROP AS
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
_VANISH = """
WITH gone AS (
    UPDATE companies c SET vanished_at = now(), updated_at = now()
    WHERE c.kind = ANY(%(kinds)s) AND c.vanished_at IS NULL AND NOT c.demo
      AND NOT EXISTS (SELECT 1 FROM edr_latest l WHERE l.id = c.id)
      AND NOT EXISTS (SELECT 1 FROM edr_skipped s WHERE s.id = c.id)
    RETURNING c.id
)
INSERT INTO company_history (company_id, field, value, import_id)
    SELECT id, 'presence', 'vanished', %(run)s::bigint FROM gone
"""


@dataclass
class LoadResult:
    elements: int = 0
    entities: int = 0  # distinct entities kept
    vanished: int = 0
    kinds: list[str] = field(default_factory=list)
    complete: bool = True  # every file read to its end (else nothing is marked vanished)


class _Stager:
    """Buffers COPY lines and sends them to the staging tables every BATCH entities."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.buffers: dict[str, list[str]] = {name: [] for name in _COPY}
        self.pending = 0

    def add(self, entity: Entity, seq: int) -> None:
        company, persons, links = entity_lines(entity, seq)
        self.buffers["edr_stage"].append(company)
        self.buffers["edr_stage_persons"].extend(persons)
        self.buffers["edr_stage_links"].extend(links)
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()

    def skipped(self, entity_id: str) -> None:
        self.buffers["edr_skipped"].append(_line([entity_id]))

    def flush(self) -> None:
        for table, lines in self.buffers.items():
            if lines:
                self.cursor.copy_expert(_COPY[table], io.StringIO("".join(lines)))
                lines.clear()
        self.pending = 0


def load(
    dsn: str,
    sources: list[XmlSource],
    run: Run,
    *,
    run_id: int | None,
    strict: bool = False,
    demo: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Read every source and merge it into the register in one transaction (blocking: run it in a thread)."""
    result = LoadResult()
    kinds: set[str] = set()
    done_bytes = 0

    def seen(count: int) -> None:
        nonlocal done_bytes
        done_bytes += count

    def bad(where: str, reason: str) -> None:
        run.problem(where, reason)
        if strict:
            raise StrictStop(where, reason)

    with _connection(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(_STAGING)
        stager = _Stager(cursor)
        for source in sources:
            with _opened(source) as raw:
                stream: Any = _Counting(raw, seen)
                try:
                    for parsed in read_elements(stream, source.kind_hint):
                        where = f"{source.name}: element {parsed.number} (line {parsed.line})"
                        if parsed.entity is None:
                            if parsed.entity_id:
                                stager.skipped(parsed.entity_id)
                            bad(where, parsed.error or "unreadable")
                            continue
                        result.elements += 1
                        kinds.add(parsed.entity.kind)
                        for warning in parsed.entity.warnings:
                            bad(where, f"{warning}; kept as published")
                        stager.add(parsed.entity, result.elements)
                        if progress is not None and result.elements % 500 == 0:
                            progress(done_bytes, result.elements)
                except etree.XMLSyntaxError as exc:
                    result.complete = False
                    where = f"{source.name}: line {exc.lineno or 0}"
                    bad(where, f"malformed XML, the rest of the file is unreadable: {exc.msg}")
        stager.flush()
        cursor.execute("SELECT count(DISTINCT id) FROM edr_stage")
        result.entities = int(cursor.fetchone()[0])
        params = {"run": run_id, "demo": demo, "kinds": sorted(kinds)}
        if not demo:
            cursor.execute("DELETE FROM companies WHERE demo")
        cursor.execute(_MERGE, params)
        cursor.execute("SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM edr_changed")
        added, updated = cursor.fetchone()
        run.added += int(added)
        run.updated += int(updated)
        run.unchanged += result.entities - int(added) - int(updated)
        if result.complete and kinds:
            cursor.execute(_VANISH, params)
            result.vanished = cursor.rowcount
        elif kinds:
            run.note("vanished_not_marked", "a file could not be read to its end")
        run.note("vanished", result.vanished)
        cursor.execute("ANALYZE companies; ANALYZE company_persons; ANALYZE company_links")
        conn.commit()
    if progress is not None:
        progress(done_bytes, result.elements)
    result.kinds = sorted(kinds)
    return result


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
