"""Writing the Rada's legislation into the corpus: dictionaries, cards, events, relations, editions and their
structure.

Everything is written on one psycopg2 connection of the import's own, whose calls run in a worker thread (COPY
needs a synchronous connection, and parsing is CPU work that stays off the event loop). The card list (~293,000
lines of doc.txt), the events (~660,000 lines of doc-dates.txt) and the relations are read as streams, in
batches: each batch is COPYed into a staging table and merged in one statement, and committed with a checkpoint
(the file's sha256 and the last line merged) written in the same transaction into the run's record, so a run that
fails resumes after the last batch it merged when it is started again on the same file. Rows equal to the stored
ones are left alone, so importing the same publication twice changes nothing. An act's editions are committed one
by one. With `strict`, the first bad line, element or missing text stops the import and nothing it wrote stays:
the whole run is then one transaction, rolled back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from app.corpus.download import DownloadError, SourceTree, cache_path, download
from app.corpus.laws import formats
from app.corpus.laws.formats import BadInput, Card, Edition, Element
from app.corpus.provenance import ImportRun as Run
from app.corpus.provenance import last_import, set_publication
from app.corpus.text import fold
from app.db import Database

BATCH = 10000  # lines of doc.txt / doc-dates.txt / links.csv per COPY and merge
ROWS_PER_INSERT = 1000
# Editions' event kinds that are editions in doc-dates.txt, used when an act has no card JSON: 0 Редакція,
# 6 Нова редакція, 4 Прийняття (the first text).
EDITION_EVENTS = (0, 4, 6)
# Of these, the ones whose cause (pidstava) is an act that amended the act: 0 Редакція, 6 Нова редакція.
AMENDING_EVENTS = (0, 6)


class StrictStop(Exception):
    """A bad line, element or text under --strict: the import stops and everything it wrote is rolled back."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}; stopped (--strict) and rolled back, nothing was imported")


def _where(source: SourceTree, relpath: str) -> str:
    """The path to ask the source for: registration numbers hold Cyrillic and `/` (254к/96-вр), which a URL
    carries percent-encoded and a mirror directory as they are."""
    from urllib.parse import quote

    return quote(relpath, safe="/") if source.is_url else relpath


def _say(progress: IO[str] | None, message: str) -> None:
    if progress is not None:
        progress.write(message + "\n")
        progress.flush()


# ---- COPY ----------------------------------------------------------------------------------------------------


def copy_value(value: Any) -> str:
    """One field of COPY's text format."""
    kind = type(value)
    if kind is str:
        return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if kind is list:
        return "{" + ",".join(str(int(v)) for v in value) + "}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def copy_lines(rows: list[tuple[Any, ...]]) -> io.StringIO:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(copy_value(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    return buffer


CARD_STAGE_COLUMNS = (
    "line",
    "key",
    "nreg",
    "dokid",
    "title",
    "status",
    "types",
    "issuers",
    "official_number",
    "adopted_on",
    "card_edition",
    "edition_count",
    "demo",
)
CARD_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS laws_card_stage (
        line bigint NOT NULL, key text NOT NULL, nreg text NOT NULL, dokid bigint, title text NOT NULL,
        status integer, types integer[] NOT NULL, issuers integer[] NOT NULL, official_number text,
        adopted_on date, card_edition date, edition_count integer, demo boolean NOT NULL
    )
"""
_CARD_FIELDS = (
    "dokid",
    "title",
    "status",
    "types",
    "issuers",
    "official_number",
    "adopted_on",
    "card_edition",
    "edition_count",
    "demo",
)


def _kept(column: str, new: str = "EXCLUDED", old: str = "a") -> str:
    """A field a source leaves empty keeps its stored value: doc.txt and the card JSON carry different fields."""
    if column in ("types", "issuers"):
        return f"coalesce(nullif({new}.{column}, '{{}}'), {old}.{column})"
    return f"coalesce({new}.{column}, {old}.{column})"


# Each staged card is looked up by its number (the primary key, or the folded number's unique index), one probe a
# card: a hash join would fold every stored number (~293,000) for every batch.
PROBES_ONLY = "SET enable_hashjoin = off; SET enable_mergejoin = off"
PROBES_DONE = "RESET enable_hashjoin; RESET enable_mergejoin"
# Cards stored exactly as staged leave the stage first: proposing them to the merge would compute their search
# vector and lock their rows for nothing.
CARD_UNCHANGED = f"""
    DELETE FROM laws_card_stage s USING legislative_acts a
    WHERE a.nreg = s.nreg
      AND ({", ".join(f"a.{c}" for c in _CARD_FIELDS)}) IS NOT DISTINCT FROM
          ({", ".join(_kept(c, "s") for c in _CARD_FIELDS)})
"""
# A card whose number differs from a stored one only by letter case or apostrophe (two spellings of one act)
# would break the unique key on the folded number: it leaves the stage and is reported.
CARD_SPELLINGS = """
    DELETE FROM laws_card_stage s USING legislative_acts a
    WHERE secondlayer_fold(a.nreg) = s.key AND a.nreg <> s.nreg
    RETURNING s.line, s.nreg, a.nreg
"""
CARD_MERGE = f"""
    INSERT INTO legislative_acts AS a (nreg, {", ".join(_CARD_FIELDS)})
    SELECT nreg, {", ".join(_CARD_FIELDS)} FROM laws_card_stage
    ON CONFLICT (nreg) DO UPDATE SET {", ".join(f"{c} = {_kept(c)}" for c in _CARD_FIELDS)}, updated_at = now()
    RETURNING (xmax = 0) AS inserted
"""

EVENT_STAGE_COLUMNS = ("line", "nreg", "event_date", "event", "cause")
EVENT_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS laws_event_stage (
        line bigint NOT NULL, nreg text NOT NULL, event_date date NOT NULL, event integer NOT NULL, cause text NOT NULL
    )
"""
EVENT_MERGE = """
    INSERT INTO legislation_events (nreg, event_date, event, cause)
    SELECT DISTINCT nreg, event_date, event, cause FROM laws_event_stage
    ON CONFLICT DO NOTHING
"""
# An edition's cause is the act that amended the act (vidnosh 1); `pidstava` may name several, comma-separated.
_AMENDED_BY_EVENTS = f"""
    INSERT INTO legislation_relations AS r (nreg, relation, related, since, origin)
    SELECT trim(c.cause), {formats.AMENDS}, s.nreg, min(s.event_date), 'editions'
    FROM laws_event_stage s CROSS JOIN LATERAL unnest(string_to_array(s.cause, ',')) AS c(cause)
    WHERE s.event IN ({", ".join(str(e) for e in AMENDING_EVENTS)}) AND trim(c.cause) <> ''
    GROUP BY trim(c.cause), s.nreg
    ON CONFLICT (nreg, relation, related) DO UPDATE SET since = EXCLUDED.since
    WHERE r.since IS NULL OR EXCLUDED.since < r.since
"""

RELATION_STAGE_COLUMNS = ("line", "source", "source_dokid", "kind", "target", "target_dokid", "since")
RELATION_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS laws_relation_stage (
        line bigint NOT NULL, source text NOT NULL, source_dokid boolean NOT NULL, kind integer NOT NULL,
        target text NOT NULL, target_dokid boolean NOT NULL, since date, nreg text, related text
    )
"""
# Ends given by dokid become registration numbers through the cards; what no card resolves is counted and left.
_RELATION_RESOLVE = """
    UPDATE laws_relation_stage s SET
        nreg = CASE WHEN s.source_dokid THEN (SELECT a.nreg FROM legislative_acts a WHERE a.dokid = s.source::bigint
                                              ORDER BY a.nreg LIMIT 1) ELSE s.source END,
        related = CASE WHEN s.target_dokid THEN (SELECT a.nreg FROM legislative_acts a
                                                 WHERE a.dokid = s.target::bigint ORDER BY a.nreg LIMIT 1)
                       ELSE s.target END
"""
RELATION_MERGE = """
    INSERT INTO legislation_relations AS r (nreg, relation, related, since, origin)
    SELECT DISTINCT ON (nreg, kind, related) nreg, kind, related, since, 'relations' FROM laws_relation_stage
    WHERE nreg IS NOT NULL AND related IS NOT NULL ORDER BY nreg, kind, related, since NULLS LAST
    ON CONFLICT (nreg, relation, related) DO UPDATE SET since = coalesce(EXCLUDED.since, r.since),
        origin = 'relations'
    WHERE (r.since, r.origin) IS DISTINCT FROM (coalesce(EXCLUDED.since, r.since), 'relations')
"""


# ---- the connection ----------------------------------------------------------------------------------------


class Loader:
    """The import's own connection and its rules: every call runs in a worker thread; `checkpoint` commits
    (except under strict, where only `finish` does); `problem` reports a bad input, and under strict stops."""

    def __init__(self, dsn: str, run: Run, *, strict: bool = False, demo: bool = False, batch: int = BATCH) -> None:
        self.run, self.strict, self.demo, self.batch = run, strict, demo, batch
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = False

    def problem(self, where: str, reason: str) -> None:
        self.run.problem(where, reason)
        if self.strict:
            raise StrictStop(where, reason)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(function, *args)

    def execute(self, sql: str, params: Any = None) -> psycopg2.extensions.cursor:
        cur = self.conn.cursor()
        cur.execute(sql, params)
        return cur

    def fetch_all(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.execute(sql, params) as cur:
            return list(cur.fetchall())

    def fetch_value(self, sql: str, params: Any = None) -> Any:
        with self.execute(sql, params) as cur:
            row = cur.fetchone()
        return None if row is None else row[0]

    def checkpoint(self) -> None:
        if not self.strict:
            self.conn.commit()

    def finish(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()  # uncommitted work is rolled back

    def copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"TRUNCATE {table}")
            cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", copy_lines(rows))

    def save_checkpoint(self, name: str, sha256: str, line: int) -> dict[str, Any]:
        """Record, in the batch's own transaction, that `name` (with this digest) is merged up to `line`; the
        checkpoints to keep in the run once that transaction has committed."""
        marks = {**self.run.details.get("checkpoint", {}), name: {"sha256": sha256, "line": line}}
        self.execute(
            "UPDATE data_imports SET details = jsonb_set(details, '{checkpoint}', %s::jsonb) WHERE id = %s",
            (json.dumps(marks), self.run.id),
        ).close()
        return marks


# ---- streamed files ----------------------------------------------------------------------------------------


def lines_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a file, or of the .txt/.csv inside a .zip; windows-1251 line by line."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.lower().endswith((".txt", ".csv"))), None)
            if member is None:
                raise BadInput(f"{path.name} holds no .txt file")
            with archive.open(member) as stream:
                yield from _decoded(stream)
    else:
        with path.open("rb") as stream:
            yield from _decoded(stream)


def _decoded(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(stream, 1):
        line = formats.decode(raw).rstrip("\r\n")
        if line.strip():
            yield number, line


def _next_batch(lines: Iterator[tuple[int, str]], size: int) -> list[tuple[int, str]]:
    batch = []
    for item in lines:
        batch.append(item)
        if len(batch) >= size:
            break
    return batch


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def resume_points(db: Database, run: Run) -> dict[str, Any]:
    """The checkpoints of the previous run from the same source, when it did not finish: {file: {sha256, line}}."""
    row = await db.fetch_one(
        "SELECT status, details FROM data_imports WHERE dataset = %(d)s AND source = %(s)s AND id < %(id)s "
        "ORDER BY id DESC LIMIT 1",
        {"d": run.dataset, "s": run.source, "id": run.id},
    )
    if row is None or row["status"] == "succeeded":
        return {}
    marks = (row["details"] or {}).get("checkpoint")
    return marks if isinstance(marks, dict) else {}


class Stream:
    """One streamed file: its batches, each parsed, merged and committed with its checkpoint."""

    def __init__(self, loader: Loader, name: str, path: Path, resume: dict[str, Any], progress: IO[str] | None):
        self.loader, self.name, self.path, self.resume, self.progress = loader, name, path, resume, progress
        self.sha256 = ""
        self.lines = 0

    async def run(self, merge_batch: Callable[[list[tuple[int, str]]], int]) -> int:
        """Feed every batch after the checkpoint to `merge_batch` (in the worker thread); the lines read."""
        loader = self.loader
        if not loader.strict:
            self.sha256 = await loader.call(file_sha256, self.path)
        mark = self.resume.get(self.name) if not loader.strict else None
        skip = int(mark["line"]) if isinstance(mark, dict) and mark.get("sha256") == self.sha256 else 0
        if skip:
            loader.run.note(f"resumed_{self.name}", f"after line {skip:,} (the previous run merged up to there)")
            _say(self.progress, f"{self.name}: resuming after line {skip:,}")
        lines = lines_of(self.path)
        while True:
            batch = await loader.call(_next_batch, lines, loader.batch)
            if not batch:
                break
            self.lines += len(batch)
            batch = [item for item in batch if item[0] > skip]
            if not batch:
                continue
            await loader.call(self._merge, merge_batch, batch)
            _say(self.progress, f"{self.name}: {batch[-1][0]:,} lines")
        return self.lines

    def _merge(self, merge_batch: Callable[[list[tuple[int, str]]], int], batch: list[tuple[int, str]]) -> None:
        try:
            merge_batch(batch)
            marks = None if self.loader.strict else self.loader.save_checkpoint(self.name, self.sha256, batch[-1][0])
            self.loader.checkpoint()
            if marks is not None:  # only once committed: a rolled-back batch's checkpoint is never recorded
                self.loader.run.details["checkpoint"] = marks
        except BaseException:
            if not self.loader.strict:
                self.loader.conn.rollback()
            raise


# ---- cards -------------------------------------------------------------------------------------------------


def card_row(line: int, card: Card, demo: bool) -> tuple[Any, ...]:
    return (
        line,
        fold(card.nreg),
        card.nreg,
        card.dokid,
        card.title,
        card.status,
        card.types,
        card.issuers,
        card.official_number,
        card.adopted_on,
        card.current_edition,
        card.edition_count,
        demo,
    )


def merge_cards(loader: Loader, cards: list[tuple[int, str, Card]]) -> tuple[int, int, int]:
    """COPY one batch of cards into the stage and merge it: (added, updated, unchanged). The same number twice in
    a batch (in any spelling): the later line wins."""
    unique: dict[str, tuple[int, str, Card]] = {}
    for item in cards:
        unique[fold(item[2].nreg)] = item
    places = {line: where for line, where, _ in unique.values()}
    loader.execute(CARD_STAGE).close()
    rows = [card_row(line, c, loader.demo) for line, _, c in unique.values()]
    loader.copy("laws_card_stage", CARD_STAGE_COLUMNS, rows)
    loader.execute(PROBES_ONLY).close()
    try:
        with loader.execute(CARD_UNCHANGED) as cur:
            unchanged = cur.rowcount
        spelled = loader.fetch_all(CARD_SPELLINGS)
    finally:
        loader.execute(PROBES_DONE).close()
    for line, nreg, stored in spelled:
        loader.problem(places[line], f"{nreg}: already stored as {stored} (the same number spelled otherwise)")
    result = loader.fetch_all(CARD_MERGE)
    added = sum(1 for (inserted,) in result if inserted)
    return added, len(result) - added, int(unchanged)


async def import_cards(
    loader: Loader,
    db: Database,
    source: SourceTree,
    resume: dict[str, Any],
    *,
    progress: IO[str] | None = None,
) -> int:
    """Every card of doc.txt (columns from doc-stru.csv); returns the number of lines read."""
    run = loader.run
    structure = await source.read(formats.STRUCTURE_PATH)
    if structure is None:
        raise BadInput(f"missing {source.describe(formats.STRUCTURE_PATH)}: it names doc.txt's columns")
    columns = formats.read_structure(structure)
    found = await _card_list(db, source, run, progress)
    if found is None:
        run.note("cards", "unchanged since the last import (the publisher answered 304)")
        return 0
    where, path = found

    def merge(batch: list[tuple[int, str]]) -> int:
        cards = []
        for number, line in batch:
            try:
                cards.append((number, f"{where}:{number}", formats.parse_doc_line(line, columns)))
            except BadInput as exc:
                loader.problem(f"{where}:{number}", str(exc))
        added, updated, unchanged = merge_cards(loader, cards) if cards else (0, 0, 0)
        run.added, run.updated, run.unchanged = run.added + added, run.updated + updated, run.unchanged + unchanged
        return len(cards)

    return await Stream(loader, "doc.txt", path, resume, progress).run(merge)


async def _card_list(db: Database, source: SourceTree, run: Run, progress: IO[str] | None) -> tuple[str, Path] | None:
    """Where doc.txt (or doc.zip) is, as a local file; None when a URL source answers that it has not changed
    since the last import from it (its ETag / Last-Modified, recorded with that import)."""
    candidates = (formats.DOC_PATH, f"{formats.CSV_DIR}/doc.zip")
    if not source.is_url:
        for where in candidates:
            path = await source.local(where)
            if path is not None:
                return where, path
        raise BadInput(f"missing {source.describe(formats.DOC_PATH)} (and doc.zip)")
    previous = await last_import(db, run.dataset, source=run.source)
    for where in candidates:
        url = source.describe(where)
        try:
            got = await download(
                url,
                cache_path(source.cache_dir, url),
                etag=previous["etag"] if previous else None,
                last_modified=previous["last_modified"] if previous else None,
                headers=source.headers,
                progress=progress,
            )
        except DownloadError as exc:
            if exc.status in (404, 410):
                continue
            raise
        await set_publication(db, run, etag=got.etag, last_modified=got.last_modified)
        if got.not_modified:
            return None
        return where, got.path
    raise BadInput(f"missing {source.describe(formats.DOC_PATH)} (and doc.zip)")


# ---- dictionaries, events and relations --------------------------------------------------------------------


def write_dictionary(loader: Loader, name: str, entries: dict[int, str]) -> None:
    if not entries:
        return
    with loader.conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO legislation_dictionary AS d (dictionary, code, name) VALUES %s "
            "ON CONFLICT (dictionary, code) DO UPDATE SET name = EXCLUDED.name WHERE d.name <> EXCLUDED.name",
            [(name, code, label) for code, label in entries.items()],
            page_size=ROWS_PER_INSERT,
        )


async def import_dictionaries(loader: Loader, source: SourceTree) -> dict[str, int]:
    """stan, podia, typ and org (one name a code); vidnosh with both readings of a relation, the second kept as
    the dictionary `vidnosh_reverse`."""
    loaded = {}
    for name in (*formats.DICTIONARIES, formats.RELATION_KINDS):
        path = f"{formats.CSV_DIR}/{name}.txt"
        raw = await source.read(path)
        if raw is None:
            if name == formats.RELATION_KINDS:
                loader.run.note("relation_kinds", f"{path} missing: relations are named by their codes")
            else:
                loader.problem(path, "dictionary missing; its codes are shown as numbers")
            continue
        entries = await loader.call(formats.parse_dictionary_columns, raw)
        if not entries:
            loader.problem(path, "no `code<TAB>name` line in it; its codes are shown as numbers")
            continue
        await loader.call(write_dictionary, loader, name, {code: names[0] for code, names in entries.items()})
        if name == formats.RELATION_KINDS:
            reverse = {code: names[1] for code, names in entries.items() if len(names) > 1 and names[1]}
            await loader.call(write_dictionary, loader, "vidnosh_reverse", reverse)
        loaded[name] = len(entries)
    await loader.call(loader.checkpoint)
    return loaded


def merge_events(loader: Loader, events: list[tuple[int, formats.Event]]) -> int:
    """COPY one batch of events into the stage, merge it, and record the amendments its editions name; the events
    added."""
    loader.execute(EVENT_STAGE).close()
    rows = [(line, e.nreg, e.date, e.event, e.cause or "") for line, e in events]
    loader.copy("laws_event_stage", EVENT_STAGE_COLUMNS, rows)
    with loader.execute(EVENT_MERGE) as cur:
        added = cur.rowcount
    loader.execute(_AMENDED_BY_EVENTS).close()
    return int(added)


async def _optional_file(source: SourceTree, paths: tuple[str, ...]) -> tuple[str, Path] | None:
    for where in paths:
        path = await source.local(_where(source, where))
        if path is not None:
            return where, path
    return None


async def import_events(
    loader: Loader, source: SourceTree, resume: dict[str, Any], *, progress: IO[str] | None = None
) -> dict[str, int]:
    """doc-dates.txt (or doc-dates.zip): every event of every act."""
    found = await _optional_file(source, (formats.DATES_PATH, f"{formats.CSV_DIR}/doc-dates.zip"))
    if found is None:
        loader.problem(
            formats.DATES_PATH, "missing: the acts' events (and editions of acts without a card) are not known"
        )
        return {"lines": 0, "added": 0}
    where, path = found
    counts = {"lines": 0, "added": 0, "events": 0}

    def merge(batch: list[tuple[int, str]]) -> int:
        events = []
        for number, line in batch:
            try:
                event = formats.parse_event_line(line)
            except BadInput as exc:
                loader.problem(f"{where}:{number}", str(exc))
                continue
            if event is not None:
                events.append((number, event))
        counts["events"] += len(events)
        counts["added"] += merge_events(loader, events) if events else 0
        return len(events)

    counts["lines"] = await Stream(loader, "doc-dates.txt", path, resume, progress).run(merge)
    return {"lines": counts["lines"], "added": counts["added"], "unchanged": counts["events"] - counts["added"]}


def merge_relations(loader: Loader, relations: list[tuple[int, formats.Relation]]) -> tuple[int, int]:
    """(merged, unresolved) of one batch: an end given by a dokid no card has is left out."""
    loader.execute(RELATION_STAGE).close()
    rows = [(line, r.source, r.source_dokid, r.kind, r.target, r.target_dokid, r.since) for line, r in relations]
    loader.copy("laws_relation_stage", RELATION_STAGE_COLUMNS, rows)
    loader.execute(_RELATION_RESOLVE).close()
    unresolved = int(
        loader.fetch_value("SELECT count(*) FROM laws_relation_stage WHERE nreg IS NULL OR related IS NULL")
    )
    with loader.execute(RELATION_MERGE) as cur:
        merged = cur.rowcount
    return int(merged), unresolved


async def import_relations(
    loader: Loader, source: SourceTree, resume: dict[str, Any], *, progress: IO[str] | None = None
) -> dict[str, Any]:
    """The relations file, when the source has it (its absence is noted, not a problem)."""
    found = await _optional_file(source, (formats.RELATIONS_PATH,))
    if found is None:
        return {"file": f"{formats.RELATIONS_PATH} not published by this source"}
    where, path = found
    first = await loader.call(lambda: next(lines_of(path), None))
    if first is None:
        return {"file": f"{where} is empty"}
    header = formats.is_relation_header(first[1])
    try:
        if header:
            names = first[1].replace(";", "\t").replace(",", "\t").split("\t")
            columns = formats.relation_columns([n.strip().strip('"') for n in names])
        else:
            structure = await source.read(formats.RELATIONS_STRUCTURE_PATH)
            if structure is None:
                raise BadInput(f"no header line and no {formats.RELATIONS_STRUCTURE_PATH} naming its columns")
            columns = formats.relation_columns(formats.structure_columns(structure))
    except BadInput as exc:
        loader.problem(where, f"{exc}; no relation was read from it")
        return {"file": where, "merged": 0}
    counts = {"merged": 0, "unresolved": 0}

    def merge(batch: list[tuple[int, str]]) -> int:
        relations = []
        for number, line in batch:
            if header and number == first[0]:
                continue
            try:
                relations.append((number, formats.parse_relation_line(line, columns)))
            except BadInput as exc:
                loader.problem(f"{where}:{number}", str(exc))
        if relations:
            merged, unresolved = merge_relations(loader, relations)
            counts["merged"] += merged
            counts["unresolved"] += unresolved
        return len(relations)

    lines = await Stream(loader, "links.csv", path, resume, progress).run(merge)
    return {"file": where, "lines": lines, **counts}


# ---- editions ---------------------------------------------------------------------------------------------


def _editions_from_events(loader: Loader, nreg: str) -> list[Edition]:
    rows = loader.fetch_all(
        "SELECT event_date, min(event), string_agg(DISTINCT nullif(cause, ''), ',') FROM legislation_events "
        "WHERE nreg = %s AND event = ANY(%s) GROUP BY event_date ORDER BY event_date",
        (nreg, list(EDITION_EVENTS)),
    )
    return [Edition(day, event, cause) for day, event, cause in rows]


def _known_nreg(loader: Loader, wanted: str) -> str | None:
    key = formats.ABBREVIATIONS.get(wanted.strip(), wanted.strip())
    found = loader.fetch_value("SELECT nreg FROM legislative_acts WHERE secondlayer_fold(nreg) = %s", (fold(key),))
    return None if found is None else str(found)


def _act_exists(loader: Loader, nreg: str) -> bool:
    return loader.fetch_value("SELECT 1 FROM legislative_acts WHERE nreg = %s", (nreg,)) is not None


def save_editions(loader: Loader, nreg: str, editions: list[Edition]) -> set[dt.date]:
    """The act's list of editions, and the amendments their causes name; the editions whose text is loaded."""
    with loader.conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO legislation_editions AS e (nreg, edition_date, event, cause) VALUES %s "
            "ON CONFLICT (nreg, edition_date) DO UPDATE SET event = EXCLUDED.event, cause = EXCLUDED.cause "
            "WHERE (e.event, e.cause) IS DISTINCT FROM (EXCLUDED.event, EXCLUDED.cause)",
            [(nreg, e.date, e.event, e.cause) for e in editions],
            page_size=ROWS_PER_INSERT,
        )
        amendments: dict[str, dt.date] = {}
        for e in editions:
            if e.event in AMENDING_EVENTS:
                for cause in formats.causes(e.cause):
                    amendments.setdefault(cause, e.date)
        if amendments:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO legislation_relations AS r (nreg, relation, related, since, origin) VALUES %s "
                "ON CONFLICT (nreg, relation, related) DO UPDATE SET since = EXCLUDED.since "
                "WHERE r.since IS NULL OR EXCLUDED.since < r.since",
                [(cause, formats.AMENDS, nreg, day, "editions") for cause, day in amendments.items()],
            )
    loader.checkpoint()
    rows = loader.fetch_all(
        "SELECT edition_date FROM legislation_editions WHERE nreg = %s AND articles IS NOT NULL", (nreg,)
    )
    return {day for (day,) in rows}


def save_edition(loader: Loader, nreg: str, edition: dt.date, elements: list[Element]) -> None:
    """An edition's structure, committed (except under strict); its article texts are added once per distinct
    content."""
    texts = {e.text_hash: e for e in elements if e.kind == "article"}
    with loader.conn.cursor() as cur:
        if texts:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO legislation_texts (hash, title, body) VALUES %s ON CONFLICT DO NOTHING",
                [(h, e.title, e.text or "") for h, e in texts.items()],
                page_size=ROWS_PER_INSERT,
            )
        cur.execute("DELETE FROM legislation_structure WHERE nreg = %s AND edition_date = %s", (nreg, edition))
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO legislation_structure (nreg, edition_date, position, kind, number, number_key, title, "
            "text_hash) VALUES %s",
            [
                (nreg, edition, position, e.kind, e.number, formats.number_key(e.number), e.title, e.text_hash)
                for position, e in enumerate(elements, 1)
            ],
            page_size=ROWS_PER_INSERT,
        )
        articles = sum(1 for e in elements if e.kind == "article")
        cur.execute(
            "UPDATE legislation_editions SET articles = %s WHERE nreg = %s AND edition_date = %s",
            (articles, nreg, edition),
        )
    loader.checkpoint()


def _structure(raw: bytes) -> list[Element]:
    return formats.split_structure(formats.text_lines(raw))


async def import_act_texts(loader: Loader, source: SourceTree, wanted: str, *, progress: IO[str] | None = None) -> None:
    """One act's card JSON, editions and edition texts; editions already loaded are not read again."""
    run = loader.run
    nreg = await loader.call(_known_nreg, loader, wanted) or wanted.strip()
    where = formats.card_path(nreg)
    raw = await source.read(_where(source, where))
    editions: list[Edition] = []
    if raw is not None:
        try:
            card, editions = formats.parse_card_json(raw)
        except BadInput as exc:
            loader.problem(where, str(exc))
        else:
            nreg = card.nreg
            known = await loader.call(_act_exists, loader, card.nreg)
            counts = await loader.call(merge_cards, loader, [(0, where, card)])
            await loader.call(loader.checkpoint)
            if not known:  # a card JSON completes a card doc.txt already counted
                run.added, run.updated = run.added + counts[0], run.updated + counts[1]
    if not await loader.call(_act_exists, loader, nreg):
        loader.problem(where, f"{wanted}: no such act in doc.txt and no card JSON")
        return
    if not editions:
        editions = await loader.call(_editions_from_events, loader, nreg)
    if not editions:
        loader.problem(where, f"{nreg}: no editions listed (card JSON eds or doc-dates.txt)")
        return
    loaded = await loader.call(save_editions, loader, nreg, editions)
    for edition in editions:
        if edition.date in loaded:
            run.unchanged += 1
            continue
        path = formats.edition_path(nreg, edition.date)
        text = await source.read(_where(source, path))
        if text is None:
            loader.problem(path, f"{nreg}: edition of {edition.date:%d.%m.%Y} is listed but its text is missing")
            continue
        try:
            elements = await asyncio.to_thread(_structure, text)
        except BadInput as exc:
            loader.problem(path, f"{nreg}, edition of {edition.date:%d.%m.%Y}: {exc}")
            continue
        await loader.call(save_edition, loader, nreg, edition.date, elements)
        run.added += 1
        _say(progress, f"{nreg}: edition {edition.date:%Y-%m-%d}, {len(elements)} elements")


def _all_acts(loader: Loader) -> list[str]:
    return [nreg for (nreg,) in loader.fetch_all("SELECT nreg FROM legislative_acts ORDER BY nreg")]


async def import_rada_laws(
    db: Database,
    source: SourceTree,
    run: Run,
    *,
    acts: list[str] | None = None,
    all_texts: bool = False,
    demo: bool = False,
    strict: bool = False,
    batch: int = BATCH,
    progress: IO[str] | None = None,
) -> None:
    """The whole import: dictionaries, cards, events, relations, then editions and texts of the acts named.
    StrictStop under `strict` (nothing written stays)."""
    resume = {} if strict else await resume_points(db, run)
    if resume:  # carried forward: a resumed run that fails before its first batch still knows where to resume
        run.details["checkpoint"] = {name: dict(mark) for name, mark in resume.items() if isinstance(mark, dict)}
    loader = await asyncio.to_thread(Loader, db.url, run, strict=strict, demo=demo, batch=batch)
    try:
        run.note("dictionaries", await import_dictionaries(loader, source))
        run.note("card_lines", await import_cards(loader, db, source, resume, progress=progress))
        events = await import_events(loader, source, resume, progress=progress)
        run.note("events_added", events["added"])
        run.note("events", events)
        run.note("relations", await import_relations(loader, source, resume, progress=progress))
        wanted = await loader.call(_all_acts, loader) if all_texts else list(acts or formats.DEFAULT_ACTS)
        for nreg in wanted:
            await import_act_texts(loader, source, nreg, progress=progress)
        run.note("text_acts", len(wanted))
        await loader.call(lambda: loader.execute("ANALYZE legislation_structure").close())
        await loader.call(loader.finish)
    finally:
        await asyncio.to_thread(loader.close)
