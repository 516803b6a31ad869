"""Bills from `billinfo-skl{N}.json` (full: initiators, documents, committees, passage) or
`billinfo_list-skl{N}.json` (light: the card and the current phase), streamed element by element.

Rows are upserted by the bill's id in batches, each batch in its own transaction, so a file that breaks half
way keeps what was read before the break. A light file never erases what only the full file carries
(initiators, documents, committees, passage). Initiators keep their name as the feed gives it and their
deputy's person id, so they link to a deputy loaded before or after the bill.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

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
from app.db.tables import bills

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
class _Batch:
    count: int
    parsed: list[ParsedBill]
    problems: list[tuple[str, str]]
    warnings: list[str]


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


# Column types of a bill row as the batch's JSON carries it (jsonb_to_recordset), in table order.
_TYPES = {
    "bill_id": "bigint",
    "convocation": "integer",
    "number": "text",
    "title": "text",
    "registered_on": "date",
    "session": "text",
    "bill_type": "text",
    "subject": "text",
    "rubric": "text",
    "phase": "text",
    "phase_date": "date",
    "status": "text",
    "lead_committee": "text",
    "executives": "jsonb",
    "passings": "jsonb",
    "alternatives": "jsonb",
    "bound": "jsonb",
    "documents": "jsonb",
    "url": "text",
}
assert set(_TYPES) == {c.name for c in bills.c} - {"search", "updated_at", "demo"}


def _merge_sql(columns: list[str]) -> str:
    """One statement that upserts a batch given as one JSON array (one bound parameter, parsed by the server),
    rewriting only rows that changed; returns (bill_id, inserted) for the rows written."""
    names = ", ".join(columns)
    record = ", ".join(f"{c} {_TYPES[c]}" for c in columns)
    changing = [c for c in columns if c != "bill_id"]
    return (
        f"INSERT INTO bills AS b ({names}, demo) "
        f"SELECT {names}, %(demo)s FROM jsonb_to_recordset(%(rows)s::jsonb) AS r({record}) "
        "ON CONFLICT (bill_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in changing)
        + ", updated_at = now() "
        + f"WHERE ({', '.join(f'b.{c}' for c in changing)}) IS DISTINCT FROM "
        + f"({', '.join(f'EXCLUDED.{c}' for c in changing)}) "
        "RETURNING bill_id, (xmax = 0) AS inserted"
    )


_MERGE_FULL = _merge_sql(list(_TYPES))
_MERGE_LIGHT = _merge_sql([c for c in _TYPES if c not in FULL_ONLY])
_INITIATOR_COLUMNS = ("position", "kind", "person_id", "name", "post", "organization")


async def _write_batch(conn: Connection, parsed: list[ParsedBill], demo: bool) -> tuple[int, int]:
    """Upsert one batch; (added, updated)."""
    added = updated = 0
    written: set[int] = set()
    for full, sql in ((True, _MERGE_FULL), (False, _MERGE_LIGHT)):
        group = [p.row for p in parsed if ("documents" in p.row) == full]
        if not group:
            continue
        result = await conn.fetch_all(sql, {"rows": json.dumps(group, ensure_ascii=False), "demo": demo})
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
        "SELECT bill_id, position, kind, person_id, name, post, organization FROM bill_initiators "
        "WHERE bill_id = ANY(%(ids)s) ORDER BY bill_id, position",
        {"ids": ids},
    )
    for r in rows:
        stored.setdefault(r["bill_id"], []).append(tuple(r[c] for c in _INITIATOR_COLUMNS))
    changed = [
        p
        for p in parsed
        if stored.get(p.row["bill_id"], []) != [tuple(i[c] for c in _INITIATOR_COLUMNS) for i in p.initiators or []]
    ]
    if not changed:
        return set()
    changed_ids = [p.row["bill_id"] for p in changed]
    await conn.execute("DELETE FROM bill_initiators WHERE bill_id = ANY(%(ids)s)", {"ids": changed_ids})
    values = [{**i, "bill_id": p.row["bill_id"]} for p in changed for i in p.initiators or []]
    if values:
        await conn.execute(
            "INSERT INTO bill_initiators (bill_id, position, kind, person_id, name, post, organization) "
            "SELECT bill_id, position, kind, person_id, name, post, organization "
            "FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(bill_id bigint, position integer, kind text, "
            "person_id bigint, name text, post text, organization text)",
            {"rows": json.dumps(values, ensure_ascii=False)},
        )
    return set(changed_ids)


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
    batches: Iterator[list[Any]] = ArrayReader(stream).batches(batch_size)
    counter = [0]

    def produce() -> _Batch | BrokenJSON | None:
        """The next batch read and parsed (in a thread: both are CPU work), the break, or None at the end."""
        try:
            batch = next(batches, None)
        except BrokenJSON as exc:
            return exc
        if batch is None:
            return None
        start = counter[0]
        counter[0] += len(batch)
        return _Batch(len(batch), *_parse_batch(batch, start, convocation))

    warnings_kept: list[str] = []
    # The next batch is read and parsed while the database writes this one.
    pending = asyncio.ensure_future(asyncio.to_thread(produce))
    while True:
        item = await pending
        if item is None or isinstance(item, BrokenJSON):
            result.broken = item
            break
        pending = asyncio.ensure_future(asyncio.to_thread(produce))
        result.read += item.count
        result.bad += len(item.problems)
        result.warnings += len(item.warnings)
        warnings_kept += item.warnings[: max(0, 20 - len(warnings_kept))]
        result.convocations |= {p.row["convocation"] for p in item.parsed}
        for place, reason in item.problems:
            run.problem(place, reason)
        if item.parsed:
            try:
                async with db.transaction() as conn:
                    added, updated = await _write_batch(conn, item.parsed, demo)
            except BaseException:
                pending.cancel()
                raise
            result.added += added
            result.updated += updated
            result.unchanged += len(item.parsed) - added - updated
            run.added += added
            run.updated += updated
            run.unchanged += len(item.parsed) - added - updated
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
