"""Writing the Rada's legislation into the corpus: cards, dictionaries, events, editions and their structure.

Every write is an upsert that leaves unchanged rows alone, so importing the same publication twice changes
nothing; cards and events go in batches (one transaction each), an act's editions one transaction per edition,
so a failure keeps what was written before it and the previous data stays readable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import psycopg2
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from app.corpus.download import DownloadError, SourceTree, cache_path, download
from app.corpus.laws import formats
from app.corpus.laws.formats import BadInput, Card, Edition, Element
from app.corpus.provenance import ImportRun as Run
from app.corpus.provenance import last_import, set_publication
from app.corpus.text import fold
from app.db import Connection, Database
from app.db.tables import (
    legislation_dictionary,
    legislation_editions,
    legislation_events,
    legislation_structure,
    legislation_texts,
    legislative_acts,
)

BATCH = 1000
# Editions' event kinds that are editions in doc-dates.txt, used when an act has no card JSON: 0 Редакція,
# 6 Нова редакція, 4 Прийняття (the first text).
EDITION_EVENTS = (0, 4, 6)


def _where(source: SourceTree, relpath: str) -> str:
    """The path to ask the source for: registration numbers hold Cyrillic and `/` (254к/96-вр), which a URL
    carries percent-encoded and a mirror directory as they are."""
    return quote(relpath, safe="/") if source.is_url else relpath


def _say(progress: IO[str] | None, message: str) -> None:
    if progress is not None:
        progress.write(message + "\n")
        progress.flush()


# ---- cards -------------------------------------------------------------------------------------------------

_CARD_COLUMNS = (
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


def _card_row(card: Card, demo: bool) -> dict[str, Any]:
    return {
        "nreg": card.nreg,
        "dokid": card.dokid,
        "title": card.title,
        "status": card.status,
        "types": card.types,
        "issuers": card.issuers,
        "official_number": card.official_number,
        "adopted_on": card.adopted_on,
        "card_edition": card.current_edition,
        "edition_count": card.edition_count,
        "demo": demo,
    }


async def _upsert_cards(conn: Connection, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(added, updated) of one batch; rows equal to the stored ones are left alone. A field a source leaves
    empty keeps its stored value: doc.txt and the card JSON do not carry the same fields."""
    stmt = insert(legislative_acts).values(rows)
    table = legislative_acts.c
    merged = {
        c: sa.func.coalesce(
            sa.func.nullif(stmt.excluded[c], sa.literal([], legislative_acts.c[c].type))
            if c in ("types", "issuers")
            else stmt.excluded[c],
            table[c],
        )
        for c in _CARD_COLUMNS
    }
    changed = sa.tuple_(*(table[c] for c in _CARD_COLUMNS)).is_distinct_from(sa.tuple_(*merged.values()))
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=["nreg"], set_={**merged, "updated_at": sa.func.now()}, where=changed
    ).returning(sa.literal_column("xmax = 0").label("inserted"))
    result = await conn.fetch_all(upsert)
    added = sum(1 for r in result if r["inserted"])
    return added, len(result) - added


async def save_cards(
    db: Database, cards: list[tuple[str, Card]], run: Run, *, demo: bool = False, count: bool = True
) -> None:
    """One batch of cards, in one transaction; a batch the database refuses (two spellings of one number) is
    retried card by card so that only the offending card is reported. `count`: whether the run counts them
    (a card JSON completes a card doc.txt already counted)."""
    unique: dict[str, tuple[str, dict[str, Any]]] = {}
    for where, card in cards:
        unique[fold(card.nreg)] = (where, _card_row(card, demo))
    if not unique:
        return
    rows = [row for _, row in unique.values()]
    try:
        async with db.transaction() as conn:
            added, updated = await _upsert_cards(conn, rows)
    except psycopg2.IntegrityError:
        added = updated = 0
        for where, row in unique.values():
            try:
                async with db.transaction() as conn:
                    a, u = await _upsert_cards(conn, [row])
            except psycopg2.IntegrityError as exc:
                run.problem(where, f"{row['nreg']}: {str(exc.pgerror or exc).splitlines()[0]}")
                continue
            added, updated = added + a, updated + u
    if count:
        run.added += added
        run.updated += updated
        run.unchanged += len(rows) - added - updated


def _lines_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of doc.txt, or of the doc.txt inside doc.zip; windows-1251 line by line."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.lower().endswith(".txt")), None)
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


def _next_batch(lines: Iterator[tuple[int, str]]) -> list[tuple[int, str]]:
    batch = []
    for item in lines:
        batch.append(item)
        if len(batch) >= BATCH:
            break
    return batch


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
        if got.not_modified:
            await set_publication(db, run, etag=got.etag, last_modified=got.last_modified)
            return None
        await set_publication(db, run, etag=got.etag, last_modified=got.last_modified)
        return where, got.path
    raise BadInput(f"missing {source.describe(formats.DOC_PATH)} (and doc.zip)")


async def import_cards(
    db: Database, source: SourceTree, run: Run, *, demo: bool = False, progress: IO[str] | None = None
) -> int:
    """Every card of doc.txt (columns from doc-stru.csv); returns the number of lines read."""
    structure = await source.read(formats.STRUCTURE_PATH)
    if structure is None:
        raise BadInput(f"missing {source.describe(formats.STRUCTURE_PATH)}: it names doc.txt's columns")
    columns = formats.read_structure(structure)
    found = await _card_list(db, source, run, progress)
    if found is None:
        run.note("cards", "unchanged since the last import (the publisher answered 304)")
        return 0
    where, path = found
    lines = _lines_of(path)
    total = 0
    while True:
        batch = await asyncio.to_thread(_next_batch, lines)
        if not batch:
            break
        cards = []
        for number, line in batch:
            try:
                cards.append((f"{where}:{number}", formats.parse_doc_line(line, columns)))
            except BadInput as exc:
                run.problem(f"{where}:{number}", str(exc))
        await save_cards(db, cards, run, demo=demo)
        total += len(batch)
        _say(progress, f"cards: {total:,} lines")
    return total


# ---- dictionaries and events -----------------------------------------------------------------------------


async def import_dictionaries(db: Database, source: SourceTree, run: Run) -> dict[str, int]:
    loaded = {}
    for name in formats.DICTIONARIES:
        path = f"{formats.CSV_DIR}/{name}.txt"
        raw = await source.read(path)
        if raw is None:
            run.problem(path, "dictionary missing; its codes are shown as numbers")
            continue
        entries = formats.parse_dictionary(raw)
        if entries:
            stmt = insert(legislation_dictionary).values(
                [{"dictionary": name, "code": code, "name": label} for code, label in entries.items()]
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["dictionary", "code"],
                set_={"name": stmt.excluded.name},
                where=legislation_dictionary.c.name != stmt.excluded.name,
            )
            await db.execute(stmt)
        loaded[name] = len(entries)
    return loaded


async def import_events(db: Database, source: SourceTree, run: Run, *, progress: IO[str] | None = None) -> int:
    """doc-dates.txt: every event of every act; returns the events added."""
    path = await source.local(formats.DATES_PATH)
    if path is None:
        run.problem(formats.DATES_PATH, "missing: the acts' events (and editions of acts without a card) are not known")
        return 0
    lines = _lines_of(path)
    added = read = 0
    while True:
        batch = await asyncio.to_thread(_next_batch, lines)
        if not batch:
            break
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for number, line in batch:
            try:
                event = formats.parse_event_line(line)
            except BadInput as exc:
                run.problem(f"{formats.DATES_PATH}:{number}", str(exc))
                continue
            if event is not None:
                row = {"nreg": event.nreg, "event_date": event.date, "event": event.event, "cause": event.cause or ""}
                rows[tuple(row.values())] = row
        if rows:
            stmt = insert(legislation_events).values(list(rows.values())).on_conflict_do_nothing()
            added += await db.execute(stmt)
        read += len(batch)
        _say(progress, f"events: {read:,} lines")
    return added


# ---- editions ---------------------------------------------------------------------------------------------


async def _editions_from_events(db: Database, nreg: str) -> list[Edition]:
    rows = await db.fetch_all(
        "SELECT event_date, min(event) AS event, min(nullif(cause, '')) AS cause FROM legislation_events "
        "WHERE nreg = %(nreg)s AND event = ANY(%(events)s) GROUP BY event_date ORDER BY event_date",
        {"nreg": nreg, "events": list(EDITION_EVENTS)},
    )
    return [Edition(r["event_date"], r["event"], r["cause"]) for r in rows]


async def _known_nreg(db: Database, wanted: str) -> str | None:
    key = formats.ABBREVIATIONS.get(wanted.strip(), wanted.strip())
    found = await db.fetch_value(
        "SELECT nreg FROM legislative_acts WHERE secondlayer_fold(nreg) = %(key)s", {"key": fold(key)}
    )
    return None if found is None else str(found)


async def save_edition(conn: Connection, nreg: str, edition: dt.date, elements: list[Element]) -> None:
    """An edition's structure; its article texts are added once per distinct content."""
    texts = {e.text_hash: e for e in elements if e.kind == "article"}
    if texts:
        stmt = insert(legislation_texts).values(
            [{"hash": h, "title": e.title, "body": e.text or ""} for h, e in texts.items()]
        )
        await conn.execute(stmt.on_conflict_do_nothing())
    await conn.execute(
        sa.delete(legislation_structure).where(
            legislation_structure.c.nreg == nreg, legislation_structure.c.edition_date == edition
        )
    )
    rows = [
        {
            "nreg": nreg,
            "edition_date": edition,
            "position": position,
            "kind": e.kind,
            "number": e.number,
            "number_key": formats.number_key(e.number),
            "title": e.title,
            "text_hash": e.text_hash,
        }
        for position, e in enumerate(elements, 1)
    ]
    for start in range(0, len(rows), BATCH):
        await conn.execute(insert(legislation_structure).values(rows[start : start + BATCH]))
    articles = sum(1 for e in elements if e.kind == "article")
    await conn.execute(
        sa.update(legislation_editions)
        .where(legislation_editions.c.nreg == nreg, legislation_editions.c.edition_date == edition)
        .values(articles=articles)
    )


def _structure(raw: bytes) -> list[Element]:
    return formats.split_structure(formats.text_lines(raw))


async def import_act_texts(
    db: Database, source: SourceTree, wanted: str, run: Run, *, demo: bool = False, progress: IO[str] | None = None
) -> None:
    """One act's card JSON, editions and edition texts; editions already loaded are not read again."""
    nreg = await _known_nreg(db, wanted) or wanted.strip()
    where = formats.card_path(nreg)
    raw = await source.read(_where(source, where))
    editions: list[Edition] = []
    if raw is not None:
        try:
            card, editions = formats.parse_card_json(raw)
        except BadInput as exc:
            run.problem(where, str(exc))
        else:
            nreg = card.nreg
            known = await db.fetch_value("SELECT 1 FROM legislative_acts WHERE nreg = %(n)s", {"n": card.nreg})
            await save_cards(db, [(where, card)], run, demo=demo, count=known is None)
    if await db.fetch_value("SELECT 1 FROM legislative_acts WHERE nreg = %(n)s", {"n": nreg}) is None:
        run.problem(where, f"{wanted}: no such act in doc.txt and no card JSON")
        return
    if not editions:
        editions = await _editions_from_events(db, nreg)
    if not editions:
        run.problem(where, f"{nreg}: no editions listed (card JSON eds or doc-dates.txt)")
        return
    async with db.transaction() as conn:
        stmt = insert(legislation_editions).values(
            [{"nreg": nreg, "edition_date": e.date, "event": e.event, "cause": e.cause} for e in editions]
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["nreg", "edition_date"],
                set_={"event": stmt.excluded.event, "cause": stmt.excluded.cause},
                where=sa.tuple_(legislation_editions.c.event, legislation_editions.c.cause).is_distinct_from(
                    sa.tuple_(stmt.excluded.event, stmt.excluded.cause)
                ),
            )
        )
    loaded = {
        r["edition_date"]
        for r in await db.fetch_all(
            "SELECT edition_date FROM legislation_editions WHERE nreg = %(n)s AND articles IS NOT NULL", {"n": nreg}
        )
    }
    for edition in editions:
        if edition.date in loaded:
            run.unchanged += 1
            continue
        path = formats.edition_path(nreg, edition.date)
        text = await source.read(_where(source, path))
        if text is None:
            run.problem(path, f"{nreg}: edition of {edition.date:%d.%m.%Y} is listed but its text is missing")
            continue
        try:
            elements = await asyncio.to_thread(_structure, text)
        except BadInput as exc:
            run.problem(path, f"{nreg}, edition of {edition.date:%d.%m.%Y}: {exc}")
            continue
        async with db.transaction() as conn:
            await save_edition(conn, nreg, edition.date, elements)
        run.added += 1
        _say(progress, f"{nreg}: edition {edition.date:%Y-%m-%d}, {len(elements)} elements")


async def text_acts(db: Database, acts: list[str] | None, all_texts: bool) -> list[str]:
    if all_texts:
        return [r["nreg"] for r in await db.fetch_all("SELECT nreg FROM legislative_acts ORDER BY nreg")]
    return list(acts) if acts else list(formats.DEFAULT_ACTS)


async def import_rada_laws(
    db: Database,
    source: SourceTree,
    run: Run,
    *,
    acts: list[str] | None = None,
    all_texts: bool = False,
    demo: bool = False,
    progress: IO[str] | None = None,
) -> None:
    """The whole import: dictionaries, cards, events, then editions and texts of the acts named."""
    dictionaries = await import_dictionaries(db, source, run)
    run.note("dictionaries", dictionaries)
    run.note("card_lines", await import_cards(db, source, run, demo=demo, progress=progress))
    run.note("events_added", await import_events(db, source, run, progress=progress))
    wanted = await text_acts(db, acts, all_texts)
    for nreg in wanted:
        await import_act_texts(db, source, nreg, run, demo=demo, progress=progress)
    run.note("text_acts", len(wanted))
    await db.execute("ANALYZE legislation_structure")
