"""Citations of articles as Ukrainian lawyers write them, found in a piece of text and resolved against the corpus:
"ст. 625 ЦК України", "частини другої статті 16 ЦПК", "п. 3 ч. 1 ст. 284 КАС", "статтею 1 Закону України «Про …»".

The patterns are plain runs and fixed alternatives with no nested repetition, so a scan is linear in the text
(tests/test_regex_audit.py runs each on adversarial input); resolving costs three queries whatever the count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from app.corpus.laws import formats, queries
from app.corpus.records import RecordNotFound
from app.corpus.text import fold
from app.db import Database

MAX_TEXT = 400_000
MAX_CITATIONS = 500
ARTICLE_TEXT_CHARS = 4000  # each cited article's text is cut here; get_legislation_article reads the rest
_THREAD_ABOVE = 20_000  # scan longer texts in a thread, off the event loop

_ORDINALS = {
    "перш": 1,
    "друг": 2,
    "трет": 3,
    "четверт": 4,
    "пʼят": 5,
    "шост": 6,
    "сьом": 7,
    "восьм": 8,
    "девʼят": 9,
    "десят": 10,
    "одинадцят": 11,
    "дванадцят": 12,
    "тринадцят": 13,
    "чотирнадцят": 14,
    "пʼятнадцят": 15,
    "шістнадцят": 16,
    "сімнадцят": 17,
    "вісімнадцят": 18,
    "девʼятнадцят": 19,
    "двадцят": 20,
}
_APOS = "['ʼ’`]"
_ORDINAL = "(?:" + "|".join(sorted((s.replace("ʼ", _APOS) for s in _ORDINALS), key=len, reverse=True)) + ")[а-яії]{0,4}"
_NUMBER = r"[0-9]{1,5}(?:[-‑][0-9]{1,3})?[⁰¹²³⁴⁵⁶⁷⁸⁹]{0,3}"
_SMALL = rf"(?:[0-9]{{1,3}}|{_ORDINAL})"

# A citation is found from its article word (a literal the regex engine scans for quickly), then read forwards
# (the number, a list of numbers) and backwards (the part and point before it) with anchored patterns.
_ARTICLE_WORD = re.compile(r"ст(?:\.|атт|атей)", re.IGNORECASE)
_ARTICLE = re.compile(
    r"(?:ст\.|ст(?:аттями|аттею|аттям|аттях|аття|атті|аттю|атей))"
    rf"\s{{0,3}}(?P<article>{_NUMBER})"
    rf"(?P<more>(?:\s{{0,2}}(?:,|і|та)\s{{1,2}}{_NUMBER}){{0,20}})",
    re.IGNORECASE,
)
_BEFORE = re.compile(
    # The lookahead lets the scan pass over every other letter at once (the rest is optional).
    r"(?=[пч])"
    rf"(?:(?:п\.|пп\.|пункт[а-яі]{{0,3}})\s{{0,3}}(?P<point>{_SMALL})\s{{1,3}})?"
    rf"(?:(?:ч\.|частин[а-яіи]{{0,3}})\s{{0,3}}(?P<part>{_SMALL})\s{{1,3}})?$",
    re.IGNORECASE,
)
_BEHIND = 80  # characters before the article word that may hold its part and point
_LETTERS = frozenset("абвгґдеєжзиіїйклмнопрстуфхцчшщьюяАБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯabcdefghijklmnopqrstuvwxyz")
_MORE_NUMBER = re.compile(_NUMBER)
# What follows the article number and names the act: an abbreviation, a code's name, the Constitution, or a law's
# title in guillemets. Matched at the start of the (folded, for names) text after the citation.
_ABBREVIATION = re.compile(
    r"^\s{1,3}(ЦПК|ЦК|ГПК|ГК|КПК|КК|КАС|КУпАП|ПК|СК|ЗК|КЗпП)(?![А-Яа-яІіЇїЄєҐґA-Za-z])(?:\s{1,2}України)?"
)
_LAW_TITLE = re.compile(r"^\s{1,3}Закон[а-яуі]{0,3}\s{1,3}України\s{1,3}[«\"„“]([^»\"“”\n]{3,300})[»\"“”]")
_CODE_NAME = re.compile(
    r"^\s{1,3}(?:"
    r"(?P<c0>конституці[яїєюі])"
    r"|"
    r"(?P<c1>цивільн[а-яі]{1,4}\s{1,3}процесуальн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c2>цивільн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c3>господарськ[а-яі]{1,4}\s{1,3}процесуальн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c4>господарськ[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c5>кримінальн[а-яі]{1,4}\s{1,3}процесуальн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c6>кримінальн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c7>кодекс[а-яі]{0,3}\s{1,3}адміністративного\s{1,3}судочинства)"
    r"|"
    r"(?P<c8>кодекс[а-яі]{0,3}\s{1,3}україни\s{1,3}про\s{1,3}адміністративні)"
    r"|"
    r"(?P<c9>кодекс[а-яі]{0,3}\s{1,3}законів\s{1,3}про\s{1,3}працю)"
    r"|"
    r"(?P<c10>податков[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c11>сімейн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r"|"
    r"(?P<c12>земельн[а-яі]{1,4}\s{1,3}кодекс[а-яу]{0,3}(?:\s{1,2}україни)?)"
    r")"
)
_CODES = {
    "c0": "Конституція",
    "c1": "ЦПК",
    "c2": "ЦК",
    "c3": "ГПК",
    "c4": "ГК",
    "c5": "КПК",
    "c6": "КК",
    "c7": "КАС",
    "c8": "КУпАП",
    "c9": "КЗпП",
    "c10": "ПК",
    "c11": "СК",
    "c12": "ЗК",
}
_NAME_CHARS = 120  # the longest code name with its spaces
_LOOKAHEAD = 340


@dataclass
class Citation:
    start: int
    end: int
    quote: str
    act: str  # an abbreviation (ЦК) or a law's title (Про ...)
    article: str
    part: int | None
    point: int | None


def _small(value: str | None) -> int | None:
    if not value:
        return None
    if value.isdigit():
        return int(value)
    folded = fold(value)
    for stem in sorted(_ORDINALS, key=len, reverse=True):
        if folded.startswith(stem):
            return _ORDINALS[stem]
    return None


def _act_after(text: str, at: int) -> tuple[str, int] | None:
    """The act named right after position `at`, and where its name ends."""
    window = text[at : at + _LOOKAHEAD]
    match = _ABBREVIATION.match(window)
    if match:
        return match.group(1), at + match.end()
    match = _LAW_TITLE.match(window)
    if match:
        return match.group(1).strip(), at + match.end()
    match = _CODE_NAME.match(fold(window[:_NAME_CHARS]))
    if match and match.lastgroup:
        return _CODES[match.lastgroup], at + match.end()
    return None


def find_citations(text: str) -> list[Citation]:
    """The citations of articles in `text` that name their act, in order (a list of articles gives one each)."""
    found: list[Citation] = []
    position = 0
    while len(found) < MAX_CITATIONS:
        anchor = _ARTICLE_WORD.search(text, position)
        if anchor is None:
            break
        at = anchor.start()
        position = anchor.end()
        if at and text[at - 1] in _LETTERS:  # inside a word (вартості, частина)
            continue
        match = _ARTICLE.match(text, at)
        if match is None:
            continue
        position = match.end()
        act = _act_after(text, match.end())
        if act is None:
            continue
        name, end = act
        head = _BEFORE.search(text, max(0, at - _BEHIND), at)
        start, part, point = at, None, None
        if head is not None and head.start() < at and (head.start() == 0 or text[head.start() - 1] not in _LETTERS):
            start = head.start()
            part, point = _small(head.group("part")), _small(head.group("point"))
        numbers = [match.group("article"), *_MORE_NUMBER.findall(match.group("more") or "")]
        for i, number in enumerate(numbers):
            found.append(
                Citation(
                    start,
                    end,
                    " ".join(text[start:end].split()),
                    name,
                    number.replace("‑", "-"),
                    part if i == 0 else None,
                    point if i == 0 else None,
                )
            )
        position = end
    return found[:MAX_CITATIONS]


async def resolve_citations(db: Database, text: str, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """Each citation with its act, the article's text on the date, the act's status and the edition's link."""
    day = as_of or formats.today()
    citations = await asyncio.to_thread(find_citations, text) if len(text) > _THREAD_ABOVE else find_citations(text)
    names = list(dict.fromkeys(c.act for c in citations))
    # Codes cited by abbreviation come in one query; laws cited by title one by one.
    by_key = {
        fold(r["nreg"]): r
        for r in await db.fetch_all(
            f"SELECT {queries.ACT_COLUMNS} FROM legislative_acts a WHERE secondlayer_fold(a.nreg) = ANY(%(keys)s)",
            {"keys": [fold(formats.ABBREVIATIONS[n]) for n in names if n in formats.ABBREVIATIONS]},
        )
    }
    acts: dict[str, dict[str, Any] | None] = {}
    for name in names:
        if name in formats.ABBREVIATIONS:
            acts[name] = by_key.get(fold(formats.ABBREVIATIONS[name]))
            continue
        try:
            acts[name] = await queries.find_act(db, name)
        except RecordNotFound:
            acts[name] = None
    nregs = sorted({a["nreg"] for a in acts.values() if a})
    editions = {
        r["nreg"]: r
        for r in await db.fetch_all(
            "SELECT DISTINCT ON (e.nreg) e.nreg, e.edition_date, e.event, e.cause, e.articles, "
            "(SELECT name FROM legislation_dictionary WHERE dictionary = 'podia' AND code = e.event) AS event_name "
            "FROM legislation_editions e WHERE e.nreg = ANY(%(nregs)s) AND e.edition_date <= %(day)s "
            "ORDER BY e.nreg, e.edition_date DESC",
            {"nregs": nregs, "day": day},
        )
    }
    wanted = {
        (acts[c.act]["nreg"], formats.number_key(c.article))  # type: ignore[index]
        for c in citations
        if acts[c.act] and acts[c.act]["nreg"] in editions  # type: ignore[index]
    }
    articles: dict[tuple[str, str], dict[str, Any]] = {}
    if wanted:
        keys = sorted(wanted)
        rows = await db.fetch_all(
            "SELECT s.nreg, s.number_key, s.number, s.title, t.body FROM legislation_structure s "
            "JOIN unnest(%(nregs)s::text[], %(days)s::date[], %(keys)s::text[]) AS w(nreg, day, key) "
            "  ON s.nreg = w.nreg AND s.edition_date = w.day AND s.number_key = w.key "
            "JOIN legislation_texts t ON t.hash = s.text_hash WHERE s.kind = 'article'",
            {
                "nregs": [k[0] for k in keys],
                "days": [editions[k[0]]["edition_date"] for k in keys],
                "keys": [k[1] for k in keys],
            },
        )
        articles = {(r["nreg"], r["number_key"]): r for r in rows}
    results = [_resolved(c, acts[c.act], editions, articles, day) for c in citations]
    return {"as_of_date": day.isoformat(), "count": len(results), "citations": results}


def _resolved(
    citation: Citation,
    act: dict[str, Any] | None,
    editions: dict[str, dict[str, Any]],
    articles: dict[tuple[str, str], dict[str, Any]],
    day: dt.date,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "quote": citation.quote,
        "start": citation.start,
        "end": citation.end,
        "act_cited": citation.act,
        "article": citation.article,
        "part": citation.part,
        "point": citation.point,
        "found": False,
        "act": None,
        "edition": None,
        "title": None,
        "text": None,
        "truncated": False,
        "url": None,
        "message": None,
    }
    if act is None:
        record["message"] = f"no act {citation.act!r} in the corpus"
        return record
    record["act"] = queries.act_record(act)
    record["url"] = record["act"]["url"]
    edition = editions.get(act["nreg"])
    if edition is None:
        record["message"] = f"{act['nreg']} has no edition in force on {day:%d.%m.%Y}"
        return record
    record["edition"] = queries.edition_record(act["nreg"], edition)
    record["url"] = record["edition"]["url"]
    if edition["articles"] is None:
        record["message"] = f"the text of {act['nreg']}'s edition of {edition['edition_date']:%d.%m.%Y} is not loaded"
        return record
    found = articles.get((act["nreg"], formats.number_key(citation.article)))
    if found is None:
        record["message"] = (
            f"{act['nreg']} has no article {citation.article} in its edition of {edition['edition_date']:%d.%m.%Y}"
        )
        return record
    body = found["body"]
    record.update(
        found=True,
        article=found["number"],
        title=found["title"],
        text=body[:ARTICLE_TEXT_CHARS],
        truncated=len(body) > ARTICLE_TEXT_CHARS,
    )
    return record
