"""Bills from `billinfo-skl{N}.json` (full: initiators, documents, committees, passage) or
`billinfo_list-skl{N}.json` (light: the card and the current phase), streamed element by element.

Rows are upserted by the bill's id in batches, each batch in its own transaction, so a file that breaks half
way keeps what was read before the break. A light file never erases what only the full file carries
(initiators, documents, committees, passage). Initiators keep their name as the feed gives it and their
deputy's person id, so they link to a deputy loaded before or after the bill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from app.corpus.rada.deputies import Run
from app.corpus.rada.feed import (
    ArrayReader,
    BrokenJSON,
    DateWarning,
    bill_card_url,
    integer,
    label,
    parse_date,
    person_name,
)
from app.db import Connection, Database
from app.db.tables import bill_initiators, bills

BATCH = 500
MAX_TEXT = 10000
INITIATOR_KINDS = ("mp", "inner", "outter", "official")
# Columns only the full file carries: a light record leaves them as they are.
FULL_ONLY = ("lead_committee", "executives", "passings", "documents")


@dataclass
class ParsedBill:
    row: dict[str, Any]
    initiators: list[dict[str, Any]] | None  # None: the record has none (light list), keep what is stored
    warnings: list[str] = field(default_factory=list)


class BillError(ValueError):
    """A bill record that cannot be stored; the message says which field."""


def _text(value: Any, name: str, *, required: bool = False) -> str | None:
    text = label(value)
    if text is None:
        if required:
            raise BillError(f"{name}: missing")
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_TEXT]


def _url(value: Any) -> str | None:
    text = label(value)
    return text if text and text.startswith(("http://", "https://")) and len(text) < 2000 else None


def _date(value: Any, name: str, warnings: list[str]) -> str | None:
    try:
        day = parse_date(value)
    except DateWarning as exc:
        warnings.append(f"{name}: {exc}; kept as unknown")
        return None
    return day.isoformat() if day else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _related(items: Any, name: str, warnings: list[str]) -> list[dict[str, Any]]:
    related = []
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        bill_id = integer(item.get("id"))
        related.append(
            {
                "id": bill_id,
                "number": _text(item.get("registrationNumber") or item.get("number"), name),
                "title": _text(item.get("name") or item.get("title"), name),
                "registered_on": _date(item.get("registrationDate"), f"{name}.registrationDate", warnings),
                "url": _url(item.get("url")) or (bill_card_url(bill_id) if bill_id else None),
            }
        )
    return related


def _initiator(item: Any, position: int) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    kind = next((k for k in INITIATOR_KINDS if isinstance(item.get(k), dict)), None)
    body = item[kind] if kind else item
    person = body.get("person") if isinstance(body.get("person"), dict) else None
    organization = _text(body.get("organization"), "organization")
    department = _text(body.get("department"), "department")
    name = person_name(person) if person else None
    name = name or department or organization or _text(body.get("name"), "name")
    if not name:
        return None
    return {
        "position": position,
        "kind": kind or "other",
        "person_id": integer(person.get("id")) if person else None,
        "name": name,
        "post": _text(body.get("post"), "post"),
        "organization": next((o for o in (organization, department) if o and o != name), None),
    }


def _committee(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return label(entry)
    return label(entry.get("department")) or label(entry.get("name"))


def _documents(record: dict[str, Any], warnings: list[str]) -> list[dict[str, Any]] | None:
    sections = [(s, record[s]) for s in ("source", "workflow") if isinstance(record.get(s), list)]
    if not sections:
        return None
    documents = []
    for section, items in sections:
        for item in items:
            if not isinstance(item, dict):
                continue
            files = [_url(f.get("url")) for f in _list(item.get("docFiles")) if isinstance(f, dict)]
            documents.append(
                {
                    "id": integer(item.get("id")),
                    "section": section,
                    "kind_id": integer(item.get("kindId")),
                    "kind": _text(item.get("kind"), "kind"),
                    "number": _text(item.get("registrationNum"), "registrationNum"),
                    "date": _date(item.get("registrationDate"), f"{section}.registrationDate", warnings),
                    "outgoing_number": _text(item.get("outcomingNum"), "outcomingNum"),
                    "outgoing_date": _date(item.get("outcomingDate"), f"{section}.outcomingDate", warnings),
                    "published_on": _date(item.get("publishDate"), f"{section}.publishDate", warnings),
                    "meeting_date": _date(item.get("meetingDate"), f"{section}.meetingDate", warnings),
                    "speaker": person_name(item.get("mainSpeaker")),
                    "urls": [f for f in files if f],
                }
            )
    return documents


def parse_bill(record: Any, convocation: int | None) -> ParsedBill:
    """One element of a billinfo file; BillError when it lacks what a bill needs."""
    if not isinstance(record, dict):
        raise BillError("not an object")
    bill_id = integer(record.get("id"))
    if bill_id is None:
        raise BillError("id: missing or not a number")
    warnings: list[str] = []
    row_convocation = integer(record.get("registrationConvocation")) or convocation
    if row_convocation is None:
        raise BillError("registrationConvocation: missing; pass --convocation")
    phase: dict[str, Any] = record["currentPhase"] if isinstance(record.get("currentPhase"), dict) else {}
    full = any(k in record for k in ("initiators", "source", "workflow", "mainExecutives", "passings"))
    row: dict[str, Any] = {
        "bill_id": bill_id,
        "convocation": row_convocation,
        "number": _text(record.get("registrationNumber"), "registrationNumber", required=True),
        "title": _text(record.get("name"), "name", required=True),
        "registered_on": _date(record.get("registrationDate"), "registrationDate", warnings),
        "session": _text(record.get("registrationSession"), "registrationSession"),
        "bill_type": _text(record.get("type"), "type"),
        "subject": _text(record.get("subject"), "subject"),
        "rubric": _text(record.get("rubric"), "rubric"),
        "phase": _text(phase.get("title"), "currentPhase.title"),
        "phase_date": _date(phase.get("date"), "currentPhase.date", warnings),
        "status": _text(phase.get("status"), "currentPhase.status"),
        "alternatives": _related(record.get("alternative"), "alternative", warnings),
        "bound": _related(record.get("bind"), "bind", warnings),
        "url": _url(record.get("url")) or bill_card_url(bill_id),
    }
    if full:
        leads = [_committee(e) for e in _list(record.get("mainExecutives"))]
        row["lead_committee"] = next((c for c in leads if c), None)
        row["executives"] = [c for c in (_committee(e) for e in _list(record.get("executives"))) if c]
        row["passings"] = [
            {"date": _date(p.get("date"), "passings.date", warnings), "title": _text(p.get("title"), "passings.title")}
            for p in _list(record.get("passings"))
            if isinstance(p, dict)
        ]
        row["documents"] = _documents(record, warnings) or []
    initiators = None
    if "initiators" in record:
        initiators = [i for i in (_initiator(item, n) for n, item in enumerate(_list(record["initiators"]))) if i]
    return ParsedBill(row, initiators, warnings)


@dataclass
class BillsResult:
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: int = 0
    warnings: int = 0
    broken: BrokenJSON | None = None
    convocations: set[int] = field(default_factory=set)


_ALL_COLUMNS = [c.name for c in bills.c if c.name not in ("search", "updated_at", "demo")]


async def _write_batch(conn: Connection, parsed: list[ParsedBill], demo: bool) -> tuple[int, int]:
    """Upsert one batch; (added, updated). Each group of records with the same columns is one statement."""
    added = updated = 0
    written: set[int] = set()
    for full in (True, False):
        group = [p for p in parsed if ("documents" in p.row) == full]
        if not group:
            continue
        columns = [c for c in _ALL_COLUMNS if full or c not in FULL_ONLY]
        stmt = insert(bills).values([{**{c: p.row.get(c) for c in columns}, "demo": demo} for p in group])
        changed = sa.tuple_(*[bills.c[c] for c in columns if c != "bill_id"]).is_distinct_from(
            sa.tuple_(*[stmt.excluded[c] for c in columns if c != "bill_id"])
        )
        update = {c: stmt.excluded[c] for c in columns if c != "bill_id"} | {"updated_at": sa.func.now()}
        result = await conn.fetch_all(
            stmt.on_conflict_do_update(index_elements=["bill_id"], set_=update, where=changed).returning(
                bills.c.bill_id, sa.literal_column("(xmax = 0)").label("inserted")
            )
        )
        added += sum(1 for r in result if r["inserted"])
        updated += sum(1 for r in result if not r["inserted"])
        written |= {r["bill_id"] for r in result}
    with_initiators = [p for p in parsed if p.initiators is not None]
    if with_initiators:
        # A bill whose card is unchanged but whose initiators changed is updated too.
        updated += len(await _replace_initiators(conn, with_initiators) - written)
    return added, updated


async def _replace_initiators(conn: Connection, parsed: list[ParsedBill]) -> set[int]:
    """Replace the initiators of these bills where they differ; the ids of the bills changed."""
    ids = [p.row["bill_id"] for p in parsed]
    stored: dict[int, list[tuple[Any, ...]]] = {}
    rows = await conn.fetch_all(
        sa.select(
            bill_initiators.c.bill_id,
            bill_initiators.c.position,
            bill_initiators.c.kind,
            bill_initiators.c.person_id,
            bill_initiators.c.name,
            bill_initiators.c.post,
            bill_initiators.c.organization,
        )
        .where(bill_initiators.c.bill_id.in_(ids))
        .order_by(bill_initiators.c.bill_id, bill_initiators.c.position)
    )
    for r in rows:
        stored.setdefault(r["bill_id"], []).append(
            (r["position"], r["kind"], r["person_id"], r["name"], r["post"], r["organization"])
        )
    changed = []
    for p in parsed:
        assert p.initiators is not None
        wanted = [
            (i["position"], i["kind"], i["person_id"], i["name"], i["post"], i["organization"]) for i in p.initiators
        ]
        if stored.get(p.row["bill_id"], []) != wanted:
            changed.append(p)
    if not changed:
        return set()
    await conn.execute(
        sa.delete(bill_initiators).where(bill_initiators.c.bill_id.in_([p.row["bill_id"] for p in changed]))
    )
    values = [{**i, "bill_id": p.row["bill_id"]} for p in changed for i in p.initiators or []]
    for start in range(0, len(values), 1000):
        await conn.execute(insert(bill_initiators).values(values[start : start + 1000]))
    return {p.row["bill_id"] for p in changed}


async def import_bills(
    db: Database,
    stream: IO[bytes],
    run: Run,
    *,
    convocation: int | None = None,
    demo: bool = False,
    batch_size: int = BATCH,
) -> BillsResult:
    """Stream one billinfo file into the database. Bad records are reported to `run` and skipped; a break in the
    JSON ends the import after what was read before it was stored (result.broken says where)."""
    result = BillsResult()
    reader = ArrayReader(stream)
    batches: Iterator[list[Any]] = reader.batches(batch_size)
    warnings_kept: list[str] = []
    index = 0
    while True:
        try:
            batch = await asyncio.to_thread(next, batches, None)
        except BrokenJSON as exc:
            result.broken = exc
            break
        if batch is None:
            break
        parsed, problems, warnings = await asyncio.to_thread(_parse_batch, batch, index, convocation)
        index += len(batch)
        result.read += len(batch)
        result.bad += len(problems)
        result.warnings += len(warnings)
        warnings_kept += warnings[: max(0, 20 - len(warnings_kept))]
        result.convocations |= {p.row["convocation"] for p in parsed}
        for place, reason in problems:
            run.problem(place, reason)
        if parsed:
            async with db.transaction() as conn:
                added, updated = await _write_batch(conn, parsed, demo)
            result.added += added
            result.updated += updated
            result.unchanged += len(parsed) - added - updated
            run.added += added
            run.updated += updated
            run.unchanged += len(parsed) - added - updated
    if result.warnings:
        run.note("date_warnings", {"count": result.warnings, "first": warnings_kept})
    run.note("convocations", sorted(result.convocations))
    if result.added or result.updated:
        await db.execute("ANALYZE bills")
        await db.execute("ANALYZE bill_initiators")
    return result


def _parse_batch(
    batch: list[Any], start: int, convocation: int | None
) -> tuple[list[ParsedBill], list[tuple[str, str]], list[str]]:
    """Parsed bills (a bill twice in one batch: the later wins), problems and date warnings of one batch."""
    parsed: dict[int, ParsedBill] = {}
    problems: list[tuple[str, str]] = []
    warnings: list[str] = []
    for offset, record in enumerate(batch):
        try:
            bill = parse_bill(record, convocation)
        except BillError as exc:
            problems.append((f"element {start + offset}", str(exc)))
            continue
        warnings += [f"bill {bill.row['bill_id']}: {w}" for w in bill.warnings]
        parsed[bill.row["bill_id"]] = bill
    return list(parsed.values()), problems, warnings
