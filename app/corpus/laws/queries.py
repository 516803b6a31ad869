"""Reading the legislation corpus: an act by number, abbreviation or title; the edition in force on a date; an
article's text on that date and its history; the table of contents. Every record carries its official URL."""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
from typing import Any

from app.corpus.laws import formats
from app.corpus.records import RecordNotFound, text_window
from app.corpus.text import fold
from app.db import Database
from app.db.expressions import contains_pattern

DIFF_MAX_WORDS = 20000  # a diff of longer texts is refused: it would cost seconds, and nobody reads it
TOC_MAX = 5000
RELATIONS_MAX = 500  # per list of an act's relations (the Tax Code has been amended by ~240 acts)

ACT_COLUMNS = (
    "a.nreg, a.dokid, a.title, a.status AS status_code, a.types, a.issuers, a.official_number, a.adopted_on, "
    "a.card_edition, a.edition_count, a.demo, "
    "(SELECT name FROM legislation_dictionary WHERE dictionary = 'stan' AND code = a.status) AS status, "
    "ARRAY(SELECT coalesce(d.name, t::text) FROM unnest(a.types) WITH ORDINALITY AS u(t, i) "
    "      LEFT JOIN legislation_dictionary d ON d.dictionary = 'typ' AND d.code = u.t ORDER BY u.i) AS type_names, "
    "ARRAY(SELECT coalesce(d.name, o::text) FROM unnest(a.issuers) WITH ORDINALITY AS u(o, i) "
    "      LEFT JOIN legislation_dictionary d ON d.dictionary = 'org' AND d.code = u.o ORDER BY u.i) AS issuer_names"
)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _status_word(row: dict[str, Any]) -> str:
    if row.get("status"):
        return str(row["status"])
    return "Не визначено" if row.get("status_code") is None else f"код {row['status_code']}"


def act_record(row: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a card: words for codes, dates as ISO strings, the official URL."""
    return {
        "nreg": row["nreg"],
        "title": row["title"],
        "official_number": row["official_number"],
        "status": _status_word(row),
        "status_code": row["status_code"],
        "types": list(row["type_names"] or []),
        "issuers": list(row["issuer_names"] or []),
        "adopted_on": _iso(row["adopted_on"]),
        "url": formats.act_url(row["nreg"]),
        "demo": bool(row["demo"]),
    }


async def find_act(db: Database, act: str, *, field: str = "act") -> dict[str, Any]:
    """An act by registration number (any letter case), common abbreviation (ЦК, КУпАП) or title."""
    wanted = " ".join(act.split())
    if not wanted:
        raise RecordNotFound(field, "name an act: its registration number, abbreviation (ЦК) or title")
    nreg = formats.ABBREVIATIONS.get(_abbreviation(wanted), wanted)
    row = await db.fetch_one(
        f"SELECT {ACT_COLUMNS} FROM legislative_acts a WHERE secondlayer_fold(a.nreg) = %(key)s",
        {"key": fold(nreg)},
    )
    if row is None:
        # A title: exactly (an index), else the in-force act with the shortest title containing it (a scan).
        row = await db.fetch_one(
            f"SELECT {ACT_COLUMNS} FROM legislative_acts a WHERE secondlayer_fold(a.title) = %(exact)s "
            "ORDER BY (a.status = 5) DESC, a.adopted_on DESC NULLS LAST, a.nreg LIMIT 1",
            {"exact": fold(wanted)},
        )
    if row is None:
        row = await db.fetch_one(
            f"SELECT {ACT_COLUMNS} FROM legislative_acts a "
            r"WHERE secondlayer_fold(a.title) LIKE %(pattern)s ESCAPE '\' "
            "ORDER BY secondlayer_fold(a.title) = %(exact)s DESC, (a.status = 5) DESC, length(a.title), a.nreg LIMIT 1",
            {"pattern": contains_pattern(fold(wanted)), "exact": fold(wanted)},
        )
    if row is None:
        raise RecordNotFound(field, f"no act {act!r}: give its registration number (435-15), abbreviation or title")
    return row


def _abbreviation(text: str) -> str:
    """`ЦК України`, `цк україни` and `ЦКУ` are `ЦК`; the Constitution by any case."""
    folded = fold(text)
    for suffix in (" україни", " украины"):
        folded = folded.removesuffix(suffix)
    if folded == "конституція":
        return "Конституція"
    for abbreviation in formats.ABBREVIATIONS:
        if folded in (fold(abbreviation), fold(abbreviation) + "у"):
            return abbreviation
    return text


async def edition_on(db: Database, nreg: str, day: dt.date) -> dict[str, Any] | None:
    """The edition in force on `day`: the latest listed edition not after it (cards list future ones too)."""
    return await db.fetch_one(
        "SELECT e.edition_date, e.event, e.cause, e.articles, "
        "(SELECT name FROM legislation_dictionary WHERE dictionary = 'podia' AND code = e.event) AS event_name "
        "FROM legislation_editions e WHERE e.nreg = %(nreg)s AND e.edition_date <= %(day)s "
        "ORDER BY e.edition_date DESC LIMIT 1",
        {"nreg": nreg, "day": day},
    )


def edition_record(nreg: str, row: dict[str, Any], *, today: dt.date | None = None) -> dict[str, Any]:
    cause = row["cause"]
    causes = formats.causes(cause)
    record = {
        "date": row["edition_date"].isoformat(),
        "event": row.get("event_name") or (None if row["event"] is None else f"код {row['event']}"),
        "cause": cause,
        "cause_url": formats.act_url(causes[0]) if causes else None,
        "url": formats.edition_url(nreg, row["edition_date"]),
        "text_loaded": row["articles"] is not None,
    }
    if today is not None:
        record["future"] = row["edition_date"] > today
    return record


def _day(value: dt.date | None) -> dt.date:
    return value or formats.today()


async def get_legislation(db: Database, act: str) -> dict[str, Any]:
    """The card, the editions count, the current edition and its table of contents."""
    row = await find_act(db, act)
    nreg, today = row["nreg"], formats.today()
    counts = await db.fetch_one(
        "SELECT count(*) AS editions, count(*) FILTER (WHERE edition_date > %(today)s) AS future "
        "FROM legislation_editions WHERE nreg = %(nreg)s",
        {"nreg": nreg, "today": today},
    )
    assert counts is not None
    current = await edition_on(db, nreg, today)
    contents: list[dict[str, Any]] = []
    if current is not None:
        contents = await db.fetch_all(
            "SELECT kind, number, title FROM legislation_structure WHERE nreg = %(nreg)s AND edition_date = %(day)s "
            "ORDER BY position LIMIT %(max)s",
            {"nreg": nreg, "day": current["edition_date"], "max": TOC_MAX},
        )
    return {
        **act_record(row),
        "card_edition": _iso(row["card_edition"]),
        "editions_count": int(counts["editions"]) or (row["edition_count"] or 0),
        "future_editions": int(counts["future"]),
        "current_edition": edition_record(nreg, current) if current else None,
        "contents": contents,
        **await relations_of(db, nreg),
    }


_RELATION_SQL = """
    SELECT r.{other} AS act, r.relation, r.since, r.origin, a.title,
        (SELECT name FROM legislation_dictionary WHERE dictionary = %(words)s AND code = r.relation) AS words
    FROM legislation_relations r LEFT JOIN legislative_acts a ON a.nreg = r.{other}
    WHERE r.{this} = %(nreg)s {kind} ORDER BY r.since NULLS LAST, r.{other} LIMIT %(max)s
"""


def _relation_record(row: dict[str, Any], direction: str) -> dict[str, Any]:
    code = row["relation"]
    fallback = formats.RELATION_NAMES.get(code)
    words = row["words"] or (fallback[0 if direction == "outgoing" else 1] if fallback else f"код {code}")
    return {
        "act": row["act"],
        "title": row["title"],
        "relation": words,
        "relation_code": code,
        "direction": direction,
        "since": _iso(row["since"]),
        "url": formats.act_url(row["act"]),
    }


async def _relations(db: Database, nreg: str, direction: str, amends: bool) -> list[dict[str, Any]]:
    outgoing = direction == "outgoing"
    sql = _RELATION_SQL.format(
        other="related" if outgoing else "nreg",
        this="nreg" if outgoing else "related",
        kind=f"AND r.relation {'=' if amends else '<>'} {formats.AMENDS}",
    )
    params = {"nreg": nreg, "words": "vidnosh" if outgoing else "vidnosh_reverse", "max": RELATIONS_MAX}
    return [_relation_record(r, direction) for r in await db.fetch_all(sql, params)]


async def relations_of(db: Database, nreg: str) -> dict[str, Any]:
    """What amended the act and what it amends (vidnosh 1, from the relations file and the editions' causes),
    and its other relations (роз'яснює, визнає нечинним, ...) both ways, in the publisher's words."""
    return {
        "amended_by": await _relations(db, nreg, "incoming", True),
        "amends": await _relations(db, nreg, "outgoing", True),
        "relations": [
            *await _relations(db, nreg, "outgoing", False),
            *await _relations(db, nreg, "incoming", False),
        ],
    }


async def list_editions(db: Database, act: str) -> dict[str, Any]:
    row = await find_act(db, act)
    nreg, today = row["nreg"], formats.today()
    rows = await db.fetch_all(
        "SELECT e.edition_date, e.event, e.cause, e.articles, d.name AS event_name, c.title AS cause_title "
        "FROM legislation_editions e "
        "LEFT JOIN legislation_dictionary d ON d.dictionary = 'podia' AND d.code = e.event "
        "LEFT JOIN legislative_acts c ON c.nreg = e.cause "
        "WHERE e.nreg = %(nreg)s ORDER BY e.edition_date",
        {"nreg": nreg},
    )
    current = max((r["edition_date"] for r in rows if r["edition_date"] <= today), default=None)
    named = sorted({c for r in rows for c in formats.causes(r["cause"])})
    titles = {
        t["nreg"]: t["title"]
        for t in await db.fetch_all(
            "SELECT nreg, title FROM legislative_acts WHERE nreg = ANY(%(named)s)", {"named": named}
        )
    }
    editions = []
    for r in rows:
        record = edition_record(nreg, r, today=today)
        record["cause_title"] = r["cause_title"] or next(
            (titles[c] for c in formats.causes(r["cause"]) if c in titles), None
        )
        record["amending_acts"] = [
            {"act": c, "title": titles.get(c), "url": formats.act_url(c)} for c in formats.causes(r["cause"])
        ]
        record["current"] = r["edition_date"] == current
        editions.append(record)
    return {**act_record(row), "count": len(editions), "editions": editions}


async def _article_on(db: Database, row: dict[str, Any], article: str, day: dt.date) -> dict[str, Any]:
    """The article in the edition in force on `day`, or RecordNotFound saying which part is missing."""
    nreg = row["nreg"]
    edition = await edition_on(db, nreg, day)
    if edition is None:
        first = await db.fetch_value(
            "SELECT min(edition_date) FROM legislation_editions WHERE nreg = %(n)s", {"n": nreg}
        )
        where = f"its first edition is of {first:%d.%m.%Y}" if first else "no edition of it is loaded"
        raise RecordNotFound("as_of_date", f"{nreg} has no edition in force on {day:%d.%m.%Y}: {where}")
    if edition["articles"] is None:
        raise RecordNotFound(
            "act",
            f"the text of {nreg}'s edition of {edition['edition_date']:%d.%m.%Y} is not loaded "
            f"(secondlayer import rada-laws --acts {nreg})",
        )
    key = formats.number_key(article)
    found = await db.fetch_one(
        "SELECT s.number, s.title, t.body, s.text_hash FROM legislation_structure s "
        "JOIN legislation_texts t ON t.hash = s.text_hash "
        "WHERE s.nreg = %(nreg)s AND s.number_key = %(key)s AND s.edition_date = %(day)s AND s.kind = 'article'",
        {"nreg": nreg, "key": key, "day": edition["edition_date"]},
    )
    if found is None:
        raise RecordNotFound(
            "article",
            f"{nreg} has no article {article} in its edition of {edition['edition_date']:%d.%m.%Y} "
            f"(in force on {day:%d.%m.%Y})",
        )
    return {"edition": edition, **found}


async def get_article(
    db: Database,
    act: str,
    article: str,
    *,
    as_of: dt.date | None = None,
    offset: int = 0,
    max_chars: int = 20000,
) -> dict[str, Any]:
    """An article's text as in force on a date (default today), naming the edition it comes from."""
    day = _day(as_of)
    fast = await _article_in_one_query(db, act, article, day)
    if fast is not None:
        row, found = fast
    else:  # named by title, or something is missing: the step-by-step path says what
        row = await find_act(db, act)
        found = await _article_on(db, row, article, day)
    edition = edition_record(row["nreg"], found["edition"])
    return {
        "act": act_record(row),
        "article": found["number"],
        "title": found["title"],
        "as_of_date": day.isoformat(),
        "edition": edition,
        "url": edition["url"],
        **text_window(found["body"], offset, max_chars),
    }


async def _article_in_one_query(
    db: Database, act: str, article: str, day: dt.date
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The act (by number or abbreviation), its edition in force on `day` and the article in it, in one round
    trip; None when any of them is missing."""
    nreg = formats.ABBREVIATIONS.get(_abbreviation(" ".join(act.split())), act.strip())
    row = await db.fetch_one(
        f"SELECT {ACT_COLUMNS}, e.edition_date, e.event, e.cause, e.articles, "
        "  (SELECT name FROM legislation_dictionary WHERE dictionary = 'podia' AND code = e.event) AS event_name, "
        "  s.number, s.title AS article_title, s.text_hash, t.body "
        "FROM legislative_acts a "
        "CROSS JOIN LATERAL (SELECT * FROM legislation_editions e WHERE e.nreg = a.nreg "
        "    AND e.edition_date <= %(day)s ORDER BY e.edition_date DESC LIMIT 1) e "
        "JOIN legislation_structure s ON s.nreg = a.nreg AND s.edition_date = e.edition_date "
        "    AND s.number_key = %(key)s AND s.kind = 'article' "
        "JOIN legislation_texts t ON t.hash = s.text_hash "
        "WHERE secondlayer_fold(a.nreg) = %(nreg)s",
        {"nreg": fold(nreg), "day": day, "key": formats.number_key(article)},
    )
    if row is None:
        return None
    edition = {k: row[k] for k in ("edition_date", "event", "cause", "articles", "event_name")}
    found = {"edition": edition, "number": row["number"], "title": row["article_title"], "body": row["body"]}
    return row, found


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """Word-level changes from `old` to `new`: runs of equal, deleted and inserted words."""
    a, b = old.split(), new.split()
    if len(a) + len(b) > DIFF_MAX_WORDS:
        raise ValueError(f"texts too long to compare word by word ({len(a) + len(b)} words)")
    changes = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            changes.append({"op": "equal", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            changes.append({"op": "delete", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            changes.append({"op": "insert", "text": " ".join(b[j1:j2])})
    return changes


async def article_history(
    db: Database, act: str, article: str, *, from_date: dt.date | None = None, to_date: dt.date | None = None
) -> dict[str, Any]:
    """The editions in which the article's text changed (appeared, changed, was removed), each with the amending
    act, and a word-level diff between its text on `from_date` and on `to_date` (default: the last change)."""
    row = await find_act(db, act)
    nreg, key = row["nreg"], formats.number_key(article)
    rows = await db.fetch_all(
        "SELECT e.edition_date, e.event, e.cause, e.articles, s.number, s.text_hash, t.title, "
        "  (SELECT name FROM legislation_dictionary WHERE dictionary = 'podia' AND code = e.event) AS event_name, "
        "  (SELECT title FROM legislative_acts WHERE nreg = e.cause) AS cause_title "
        "FROM legislation_editions e "
        "LEFT JOIN legislation_structure s ON s.nreg = e.nreg AND s.edition_date = e.edition_date "
        "     AND s.number_key = %(key)s AND s.kind = 'article' "
        "LEFT JOIN legislation_texts t ON t.hash = s.text_hash "
        "WHERE e.nreg = %(nreg)s AND e.articles IS NOT NULL ORDER BY e.edition_date",
        {"nreg": nreg, "key": key},
    )
    if not any(r["text_hash"] for r in rows):
        raise RecordNotFound("article", f"{nreg} has no article {article} in any loaded edition")
    changes, previous = [], None
    number = next(r["number"] for r in rows if r["number"])
    for r in rows:
        if r["text_hash"] == previous:
            continue
        change = "added" if previous is None else ("removed" if r["text_hash"] is None else "changed")
        if previous is None and r["text_hash"] is None:
            continue
        record = edition_record(nreg, r)
        record.update({"change": change, "cause_title": r["cause_title"], "title": r["title"]})
        changes.append(record)
        previous = r["text_hash"]
    result: dict[str, Any] = {"act": act_record(row), "article": number, "changes": changes, "diff": None}
    if from_date or to_date or len(changes) > 1:
        if from_date is None or to_date is None:
            dated = [dt.date.fromisoformat(c["date"]) for c in changes]
            to_date = to_date or dated[-1]
            from_date = from_date or max((d for d in dated if d < to_date), default=dated[0])
        result["diff"] = await _diff(db, row, article, from_date, to_date)
    return result


async def _diff(
    db: Database, row: dict[str, Any], article: str, from_date: dt.date, to_date: dt.date
) -> dict[str, Any]:
    texts = []
    for name, day in (("from_date", from_date), ("to_date", to_date)):
        try:
            found = await _article_on(db, row, article, day)
        except RecordNotFound as exc:
            edition = await edition_on(db, row["nreg"], day)
            if exc.field != "article" or edition is None:
                raise RecordNotFound(name, exc.message) from None
            # Not in that edition (not yet added, or removed): compared as an empty text.
            found = {"edition": edition, "title": None, "body": "", "text_hash": None}
        texts.append(found)
    old = f"{texts[0]['title'] or ''}\n{texts[0]['body']}"
    new = f"{texts[1]['title'] or ''}\n{texts[1]['body']}"
    try:
        changes = await asyncio.to_thread(word_diff, old, new)
    except ValueError as exc:
        raise RecordNotFound("article", str(exc)) from None
    return {
        "from_date": from_date.isoformat(),
        "from_edition": edition_record(row["nreg"], texts[0]["edition"]),
        "to_date": to_date.isoformat(),
        "to_edition": edition_record(row["nreg"], texts[1]["edition"]),
        "same": texts[0]["text_hash"] == texts[1]["text_hash"],
        "changes": changes,
    }
