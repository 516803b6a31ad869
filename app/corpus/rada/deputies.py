"""`mps-data.json` of a convocation: deputies (one record per mandate), parties, regions, factions and groups,
committees, subcommittees and commissions, each deputy's posts and attendance counts.

The file is a few MB: it is parsed whole, in a thread, and written in one transaction (all or nothing). A
record that cannot be read is reported with its index and skipped; re-importing the same file changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from app.corpus.rada.feed import BIRTH_YEARS, DateWarning, deputy_url, integer, label, parse_date, plain, strip_control
from app.db import Connection, Database
from app.db.tables import deputies, rada_bodies, rada_dictionaries

DICTIONARIES = ("parties", "regions", "fr_posts", "assistant_types")
ATTENDANCE_PREFIXES = ("presentAuto_", "presentManualy_")


class Run(Protocol):
    """What an import records as it goes (app.corpus.provenance's run)."""

    added: int
    updated: int
    unchanged: int
    bad: int

    def problem(self, where: str, reason: str) -> None: ...

    def note(self, key: str, value: Any) -> None: ...


class FileError(ValueError):
    """The file is not an mps-data.json at all; nothing is written."""


def body_kind(is_fr: Any, body_type: Any) -> str:
    """faction | group | committee | subcommittee | commission | leadership | other, from `is_fr` and `type`."""
    kinds = {3: "faction", 31: "group", 2: "committee", 30: "subcommittee", 4: "commission", 1: "leadership"}
    kind = kinds.get(integer(body_type) or 0)
    if kind is None:
        return "faction" if integer(is_fr) == 1 else "other"
    return kind


@dataclass
class ParsedFile:
    deputies: list[dict[str, Any]] = field(default_factory=list)
    bodies: dict[int, dict[str, Any]] = field(default_factory=dict)
    dictionaries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _date(
    record: dict[str, Any], name: str, where: str, parsed: ParsedFile, years: tuple[int, int] | None = None
) -> Any:
    try:
        return parse_date(record.get(name), years=years)
    except DateWarning as exc:
        parsed.warnings.append((f"{where}.{name}", f"{exc}; kept as unknown"))
        return None


def _deputy(record: Any, index: int, convocation: int | None, parsed: ParsedFile) -> dict[str, Any] | None:
    where = f"mps[{index}]"
    if not isinstance(record, dict):
        parsed.problems.append((where, "not an object"))
        return None
    person_id, rada_id = integer(record.get("id")), integer(record.get("rada_id"))
    surname = label(record.get("surname"))
    missing = [n for n, v in (("id", person_id), ("rada_id", rada_id), ("surname", surname)) if v is None]
    if missing or person_id is None:
        parsed.problems.append((where, "missing or not usable: " + ", ".join(missing)))
        return None
    row_convocation = integer(record.get("convocation")) or convocation
    if row_convocation is None:
        parsed.problems.append((where, "no convocation in the record; pass --convocation"))
        return None
    if convocation is not None and row_convocation != convocation:
        parsed.problems.append((where, f"convocation {row_convocation}, not {convocation} as asked"))
        return None
    posts = []
    seen: set[tuple[int, int | None]] = set()
    for post in record.get("post_frs") or []:
        body_id = integer(post.get("fr_association_id")) if isinstance(post, dict) else None
        if body_id is None:
            continue
        post_id = integer(post.get("fr_post_id"))
        if (body_id, post_id) in seen:
            continue
        seen.add((body_id, post_id))
        body = label(post.get("association_name")) or ""
        kind = body_kind(post.get("is_fr"), post.get("type"))
        posts.append(
            {
                "body_id": body_id,
                "body": body,
                "kind": kind,
                "post_id": post_id,
                "post": label(post.get("post_name")) or "",
            }
        )
        parsed.bodies.setdefault(
            body_id, {"body_id": body_id, "name": body, "kind": kind, "type": integer(post.get("type"))}
        )
    groups = [
        {"organization_id": integer(g.get("organization_id")), "post": label(g.get("post_name")) or ""}
        for g in record.get("post_mps") or []
        if isinstance(g, dict)
    ]
    attendance = {
        k: v
        for k, v in record.items()
        if k.startswith(ATTENDANCE_PREFIXES) and isinstance(v, int) and not isinstance(v, bool)
    }
    return {
        "convocation": row_convocation,
        "person_id": person_id,
        "rada_id": rada_id,
        "surname": surname,
        "firstname": label(record.get("firstname")) or "",
        "patronymic": label(record.get("patronymic")) or "",
        "gender": integer(record.get("gender")),
        "birthday": _date(record, "birthday", where, parsed, BIRTH_YEARS),
        "date_oath": _date(record, "date_oath", where, parsed),
        "resignation_date": _date(record, "resignation_date", where, parsed),
        "resignation_reason": label(record.get("resignation_reason")),
        "district_num": integer(record.get("district_num")),
        "region_id": integer(record.get("region_id")),
        "region_name": label(record.get("region_name")),
        "party_id": integer(record.get("party_id")),
        "party_name": label(record.get("party_name")),
        "num_in_party": integer(record.get("num_in_party")),
        "election_info": plain(record.get("obr_info")),
        "short_info": label(record.get("short_info")),
        "photo": label(record.get("photo")),
        "posts": posts,
        "groups": groups,
        "attendance": attendance,
        "url": deputy_url(person_id),
    }


def parse_deputies_file(data: bytes, convocation: int | None) -> ParsedFile:
    """Everything the file holds, checked; CPU-bound, so callers run it in a thread."""
    try:
        document = json.loads(strip_control(data).decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FileError(f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FileError(f"broken JSON at byte {exc.pos}: {exc.msg}") from None
    except RecursionError:
        raise FileError("broken JSON: nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("mps"), list):
        raise FileError("not an mps-data.json file: expected an object with a list `mps`")
    parsed = ParsedFile()
    for index, record in enumerate(document["mps"]):
        row = _deputy(record, index, convocation, parsed)
        if row is not None:
            parsed.deputies.append(row)
    keys = [(d["convocation"], d["person_id"], d["rada_id"]) for d in parsed.deputies]
    if len(set(keys)) != len(keys):
        unique: dict[tuple[int, int, int], dict[str, Any]] = {}
        for key, row in zip(keys, parsed.deputies, strict=True):
            if key in unique:
                parsed.problems.append((f"mps (id {key[1]}, rada_id {key[2]})", "appears twice; the first is kept"))
            else:
                unique[key] = row
        parsed.deputies = list(unique.values())
    for index, body in enumerate(document.get("fr_associations") or []):
        body_id = integer(body.get("id")) if isinstance(body, dict) else None
        name = label(body.get("name")) if isinstance(body, dict) else None
        if body_id is None or name is None:
            parsed.problems.append((f"fr_associations[{index}]", "missing id or name"))
            continue
        parsed.bodies[body_id] = {
            "body_id": body_id,
            "name": name,
            "kind": body_kind(body.get("is_fr"), body.get("type")),
            "type": integer(body.get("type")),
        }
    for dictionary in DICTIONARIES:
        for entry in document.get(dictionary) or []:
            entry_id = integer(entry.get("id")) if isinstance(entry, dict) else None
            name = label(entry.get("name")) if isinstance(entry, dict) else None
            if entry_id is not None and name is not None:
                parsed.dictionaries.append({"dictionary": dictionary, "entry_id": entry_id, "name": name})
    return parsed


_COMPARED = [c for c in deputies.c if c.name not in ("updated_at", "search", "demo")]


async def _write(conn: Connection, parsed: ParsedFile, convocations: set[int], demo: bool) -> tuple[int, int]:
    """Upsert everything; (added, updated) deputies."""
    for convocation in convocations:
        bodies = [{**b, "convocation": convocation} for b in parsed.bodies.values()]
        if bodies:
            stmt = insert(rada_bodies).values(bodies)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["convocation", "body_id"],
                    set_={"name": stmt.excluded.name, "kind": stmt.excluded.kind, "type": stmt.excluded.type},
                )
            )
        entries = [{**e, "convocation": convocation} for e in parsed.dictionaries]
        for start in range(0, len(entries), 1000):
            stmt = insert(rada_dictionaries).values(entries[start : start + 1000])
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["convocation", "dictionary", "entry_id"], set_={"name": stmt.excluded.name}
                )
            )
    added = updated = 0
    for start in range(0, len(parsed.deputies), 200):
        rows = [{**row, "demo": demo} for row in parsed.deputies[start : start + 200]]
        stmt = insert(deputies).values(rows)
        changed = sa.tuple_(*[deputies.c[c.name] for c in _COMPARED]).is_distinct_from(
            sa.tuple_(*[stmt.excluded[c.name] for c in _COMPARED])
        )
        update = {c.name: stmt.excluded[c.name] for c in _COMPARED} | {"updated_at": sa.func.now()}
        # xmax is 0 on a freshly inserted row version; unchanged rows are not returned at all.
        result = await conn.fetch_all(
            stmt.on_conflict_do_update(
                index_elements=["convocation", "person_id", "rada_id"], set_=update, where=changed
            ).returning(sa.literal_column("(xmax = 0)").label("inserted"))
        )
        added += sum(1 for r in result if r["inserted"])
        updated += sum(1 for r in result if not r["inserted"])
    return added, updated


async def import_deputies(
    db: Database, data: bytes, run: Run, *, convocation: int | None = None, demo: bool = False
) -> dict[str, Any]:
    """Load one mps-data.json (its bytes) into the database, counting into `run`; FileError when it is not one."""
    parsed = await asyncio.to_thread(parse_deputies_file, data, convocation)
    for where, reason in parsed.problems:
        run.problem(where, reason)
    if parsed.warnings:
        run.note(
            "date_warnings", {"count": len(parsed.warnings), "first": [f"{w}: {r}" for w, r in parsed.warnings[:20]]}
        )
    convocations = {d["convocation"] for d in parsed.deputies} or ({convocation} if convocation else set())
    async with db.transaction() as conn:
        added, updated = await _write(conn, parsed, convocations, demo)
    run.added += added
    run.updated += updated
    run.unchanged += len(parsed.deputies) - added - updated
    run.note("bodies", len(parsed.bodies))
    run.note("convocations", sorted(convocations))
    if added or updated:
        await db.execute("ANALYZE deputies")
    return {
        "deputies": len(parsed.deputies),
        "added": added,
        "updated": updated,
        "unchanged": len(parsed.deputies) - added - updated,
        "bad": len(parsed.problems),
        "bodies": len(parsed.bodies),
        "date_warnings": len(parsed.warnings),
        "convocations": sorted(convocations),
    }
