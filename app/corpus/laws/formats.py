"""The Rada's legislation open data as published: the card list (`doc.txt`, columns from `doc-stru.csv`), the events
(`doc-dates.txt`), the dictionaries, a card's JSON, and an edition's HTML split into its structure.

Nothing here touches the database; every parser raises `BadInput` with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SOURCE = "https://data.rada.gov.ua"
# The publisher's server answers bulk requests only with this User-Agent (DATA-FORMATS.md §2).
HEADERS = {"User-Agent": "OpenData"}
CSV_DIR = "ogd/zak/laws/data/csv"
DOC_PATH = f"{CSV_DIR}/doc.txt"
STRUCTURE_PATH = "ogd/zak/stru/doc-stru.csv"
DATES_PATH = f"{CSV_DIR}/doc-dates.txt"
DICTIONARIES = ("stan", "podia", "typ", "org")
# Relations between acts: the kinds (`vidnosh.txt`: code, the relation as the acting act reads it, and as the act
# acted upon reads it), and the relations themselves. The publisher lists `links.csv` beside doc.txt, but no public
# parser we found documents its columns, so they are read like doc.txt's: from a header line when the file has one,
# else from the structure file `links-stru.csv` (one line per column, the name first).
RELATION_KINDS = "vidnosh"
RELATIONS_PATH = f"{CSV_DIR}/links.csv"
RELATIONS_STRUCTURE_PATH = "ogd/zak/stru/links-stru.csv"
# The relation an edition's cause stands in (vidnosh 1: змінює / змінюється); DATA-FORMATS.md §2 names 1, 5, 22.
AMENDS = 1
RELATION_NAMES = {
    1: ("змінює", "змінюється"),
    5: ("роз'яснює", "роз'яснюється"),
    22: ("визнає нечинним", "втрачає чинність"),
}
MAX_TEXT_CHARS = 2_000_000  # an edition's text beyond this is cut (the Tax Code is ~3 MB of HTML, ~1.5 M chars)

# The acts whose editions are loaded by default, with the abbreviations lawyers cite them by.
ABBREVIATIONS: dict[str, str] = {
    "Конституція": "254к/96-вр",
    "ЦК": "435-15",
    "ЦПК": "1618-15",
    "ГК": "436-15",
    "ГПК": "1798-12",
    "КК": "2341-14",
    "КПК": "4651-17",
    "КАС": "2747-15",
    "КУпАП": "80731-10",
    "ПК": "2755-17",
    "СК": "2947-14",
    "ЗК": "2768-14",
    "КЗпП": "322-08",
}
DEFAULT_ACTS = tuple(ABBREVIATIONS.values())


def today() -> dt.date:
    """Today in Kyiv: editions take effect on Kyiv's calendar date."""
    try:
        return dt.datetime.now(ZoneInfo("Europe/Kyiv")).date()
    except ZoneInfoNotFoundError:
        return dt.datetime.now(dt.UTC).date()


class BadInput(ValueError):
    """A file, line or element that cannot be read; the message says why."""


# ---- paths and URLs --------------------------------------------------------------------------------------


def card_path(nreg: str) -> str:
    return f"laws/card/{nreg}.json"


def edition_path(nreg: str, date: dt.date) -> str:
    return f"laws/show/{nreg}/ed{date:%Y%m%d}"


def act_url(nreg: str) -> str:
    return f"https://zakon.rada.gov.ua/laws/show/{quote(nreg, safe='/')}"


def edition_url(nreg: str, date: dt.date) -> str:
    return f"{act_url(nreg)}/ed{date:%Y%m%d}"


def decode(raw: bytes) -> str:
    """The publisher writes windows-1251; a file that is valid UTF-8 (a re-saved mirror) is read as such."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace")


def parse_date(value: Any) -> dt.date | None:
    """YYYYMMDD, YYYY-MM-DD or DD.MM.YYYY; empty, zero or impossible dates (year 0006, 3013) are unknown."""
    text = str(value).strip() if value is not None else ""
    if not text or text.strip("0") == "":
        return None
    try:
        if len(text) == 8 and text.isascii() and text.isdigit():
            day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        elif len(text) >= 10 and text[4] == "-":
            day = dt.date.fromisoformat(text[:10])
        elif len(text) == 10 and text[2] == "." and text[5] == ".":
            day = dt.date(int(text[6:]), int(text[3:5]), int(text[:2]))
        else:
            raise BadInput(f"not a date: {text!r}")
    except ValueError as exc:
        if isinstance(exc, BadInput):
            raise
        return None
    return day if 1900 <= day.year <= 2100 else None


def _int(value: Any, name: str) -> int | None:
    """A code (a 32-bit integer in the database) or a dokid (64-bit); anything else names the field at fault."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 18:
        raise BadInput(f"{name} is not a number: {text[:40]!r}")
    number = int(text)
    if not name.startswith("dokid") and not -(2**31) <= number < 2**31:
        raise BadInput(f"{name} is out of range: {text}")
    return number


_CONTROLS = dict.fromkeys(range(32), " ")


def _clean(value: Any) -> str:
    """Text without control characters (the feeds carry some), spaces collapsed."""
    text = str(value)
    if not text.isprintable():  # most fields have no control character: skip the character-by-character pass
        text = text.translate(_CONTROLS)
    return " ".join(text.split())


# ---- cards -----------------------------------------------------------------------------------------------


@dataclass
class Card:
    nreg: str
    title: str
    dokid: int | None = None
    status: int | None = None
    types: list[int] = field(default_factory=list)
    issuers: list[int] = field(default_factory=list)
    official_number: str | None = None
    adopted_on: dt.date | None = None
    current_edition: dt.date | None = None
    edition_count: int | None = None


@dataclass(frozen=True)
class Edition:
    date: dt.date
    event: int | None
    cause: str | None  # the act that caused it (pidstava)


def structure_columns(raw: bytes) -> list[str]:
    """The column names a structure file (doc-stru.csv) lists, in order: the first field of each line (fields
    separated by commas, or by `;` or tabs in a re-saved copy)."""
    columns = []
    for line in decode(raw).splitlines():
        sep = _separator(line, ",")
        name = line.split(sep, 1)[0].strip().strip('"').strip().lower()
        if name:
            columns.append(name)
    return columns


def read_structure(raw: bytes) -> list[str]:
    """The column names of doc.txt, in order, from doc-stru.csv."""
    columns = structure_columns(raw)
    if "nreg" not in columns or "nazva" not in columns:
        raise BadInput("the structure file names no nreg and nazva columns: is it doc-stru.csv?")
    return columns


def _separator(line: str, default: str = "\t") -> str:
    for sep in ("\t", ";", ","):
        if sep in line:
            return sep
    return default


def _fields(line: str, sep: str) -> list[str]:
    """A line's fields; a field wholly in double quotes loses them (a re-saved copy quotes text)."""
    values = []
    for value in line.rstrip("\r\n").split(sep):
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('""', '"')
        values.append(value)
    return values


def _multi(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split("|") if part.strip()]


def card_from_fields(fields: dict[str, Any]) -> Card:
    """A card from the fields of a doc.txt line or a card JSON; BadInput names the field at fault."""
    nreg = _clean(fields.get("nreg") or "")
    title = _clean(fields.get("nazva") or "")
    if not nreg:
        raise BadInput("no registration number (nreg)")
    if len(nreg) > 100:
        raise BadInput(f"registration number too long: {nreg[:40]!r}…")
    if not title:
        raise BadInput(f"{nreg}: no title (nazva)")
    card = Card(nreg=nreg, title=title[:4000])
    card.dokid = _int(fields.get("dokid"), "dokid")
    card.status = _int(fields.get("status"), "status")
    card.types = [t for t in (_int(v, "types") for v in _multi(fields.get("types"))) if t is not None]
    adopted = []
    for organ in _multi(fields.get("organs")):
        code, _, rest = organ.partition(":")
        issuer = _int(code, "organs")
        if issuer is not None:
            card.issuers.append(issuer)
        day, _, number = rest.partition(":")
        when = parse_date(day) if day else None
        if when:
            adopted.append(when)
        if number.strip() and card.official_number is None:
            card.official_number = _clean(number)[:200]
    card.adopted_on = min(adopted) if adopted else None
    card.current_edition = parse_date(fields.get("datred"))
    card.edition_count = _int(fields.get("edcnt"), "edcnt")
    return card


def parse_doc_line(line: str, columns: list[str]) -> Card:
    values = line.rstrip("\r\n").split("\t")
    if len(values) != len(columns):
        raise BadInput(f"{len(values)} columns where the structure file has {len(columns)}")
    return card_from_fields(dict(zip(columns, values, strict=True)))


def parse_card_json(raw: bytes) -> tuple[Card, list[Edition]]:
    """A card JSON (laws/card/{nreg}.json): the card and its editions (`eds`, future ones included)."""
    try:
        data = json.loads(decode(raw))
    except ValueError as exc:
        raise BadInput(f"not JSON: {exc}") from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise BadInput("not a card: expected a JSON object")
    card = card_from_fields(data)
    editions: dict[dt.date, Edition] = {}
    eds = data.get("eds") or []
    if not isinstance(eds, list):
        raise BadInput(f"{card.nreg}: eds is not a list")
    for item in eds:
        if not isinstance(item, dict):
            continue
        day = parse_date(item.get("datred"))
        if day is None:
            continue
        cause = _clean(item.get("pidstava") or "") or None
        editions[day] = Edition(day, _int(item.get("podid"), "podid"), cause)
    return card, sorted(editions.values(), key=lambda e: e.date)


def parse_dictionary(raw: bytes) -> dict[int, str]:
    """`code<TAB>name` lines as published (windows-1251, no header); a header line, `;`-separated or quoted copies
    are read too, and lines without a numeric code are skipped."""
    return {code: names[0] for code, names in parse_dictionary_columns(raw).items()}


def parse_dictionary_columns(raw: bytes) -> dict[int, list[str]]:
    """Every dictionary line's code and the names after it: vidnosh.txt has two (`1<TAB>Змінює документ<TAB>
    Змінюється документом`), the others one. A name may hold the separator only in the last column."""
    found: dict[int, list[str]] = {}
    for line in decode(raw).splitlines():
        sep = _separator(line)
        code, _, rest = line.partition(sep)
        code = code.strip().strip('"').strip()
        if not (code.isascii() and code.isdigit() and len(code) < 10):
            continue
        # Tab-separated columns; after `;` or `,` the rest of the line is the name (it may hold commas).
        names = _fields(rest, sep) if sep == "\t" else _fields(rest, "\x00")
        names = [_clean(n)[:500] for n in names]
        if names and names[0]:
            found[int(code)] = names
    return found


@dataclass(frozen=True)
class Event:
    date: dt.date
    nreg: str
    event: int
    cause: str | None


def parse_event_line(line: str) -> Event | None:
    """One doc-dates.txt line (`poddat, nreg, podid, pidstava`, tab-separated as published; `;` in a re-saved
    copy); None for a header line."""
    values = _fields(line, "\t" if "\t" in line else (";" if ";" in line else "\t"))
    if values and values[0].lower() == "poddat":
        return None
    if len(values) < 3:
        raise BadInput(f"{len(values)} columns where poddat, nreg, podid[, pidstava] are expected")
    day = parse_date(values[0])
    if day is None:
        raise BadInput(f"no usable event date: {values[0][:20]!r}")
    nreg = _clean(values[1])
    if not nreg or len(nreg) > 100:
        raise BadInput("no registration number (nreg)")
    event = _int(values[2], "podid")
    if event is None:
        raise BadInput("no event kind (podid)")
    cause = _clean(values[3]) if len(values) > 3 and values[3] else None
    return Event(day, nreg, event, (cause or None) and cause[:100])


def causes(pidstava: str | None) -> list[str]:
    """The acts an edition's `pidstava` names: one registration number, or several separated by commas (the Tax
    Code's edition of 01.01.2026 has `4536-20,4698-20`)."""
    return [c for c in (_clean(part) for part in (pidstava or "").replace(";", ",").split(",")) if c][:20]


# ---- relations between acts ---------------------------------------------------------------------------------

_FROM = ("nreg1", "nreg", "dokid1", "dokid")
_TO = ("nreg2", "dokid2")
_KIND = ("vidnosh", "idvid", "vid")
_SINCE = ("datvid", "poddat", "data")


@dataclass(frozen=True)
class Relation:
    """`source` <kind> `target`; either end a registration number, or a dokid when `*_dokid`."""

    source: str
    source_dokid: bool
    kind: int
    target: str
    target_dokid: bool
    since: dt.date | None


def relation_columns(names: list[str]) -> list[str]:
    """The relations file's columns, checked: one for each end and one for the kind (`vidnosh`)."""
    names = [n.strip().lower() for n in names]
    missing = [" or ".join(group) for group in (_FROM, _KIND, _TO) if not any(name in names for name in group)]
    if missing:
        raise BadInput(f"the relations file's columns ({', '.join(names)}) lack {'; '.join(missing)}")
    return names


def is_relation_header(line: str) -> bool:
    names = [n.lower() for n in _fields(line, _separator(line))]
    return any(n in names for n in _KIND) and any(n in names for n in _FROM)


def parse_relation_line(line: str, columns: list[str]) -> Relation:
    values = _fields(line, _separator(line))
    if len(values) != len(columns):
        raise BadInput(f"{len(values)} columns where the relations file has {len(columns)}")
    row = dict(zip(columns, values, strict=True))

    def end(names: tuple[str, ...]) -> tuple[str, bool]:
        for name in names:
            value = _clean(row.get(name) or "")
            if value:
                dokid = name.startswith("dokid")
                if dokid and _int(value, name) is None:
                    break
                if len(value) > 100:
                    raise BadInput(f"{name} too long: {value[:40]!r}…")
                return value, dokid
        raise BadInput(f"no act in {' or '.join(names)}")

    source, source_dokid = end(_FROM)
    target, target_dokid = end(_TO)
    kind = next((_int(row[n], n) for n in _KIND if n in row), None)
    if kind is None:
        raise BadInput("no relation kind (vidnosh)")
    since = next((parse_date(row[n]) for n in _SINCE if row.get(n)), None)
    return Relation(source, source_dokid, kind, target, target_dokid, since)


# ---- an edition's text -----------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_PLAIN = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_BLOCKS = frozenset("p div br h1 h2 h3 h4 h5 h6 li tr table pre blockquote section article".split())


class _TextOf(HTMLParser):
    """The text of an HTML page, one line per block; digits in <sup> become superscripts (article `1²`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.sup = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag == "sup":
            self.sup += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag == "sup":
            self.sup = max(0, self.sup - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data.translate(_SUPERSCRIPT) if self.sup else data)


def text_lines(raw: bytes) -> list[str]:
    """An edition's HTML (or plain text) as non-empty lines of text."""
    page = decode(raw)[:MAX_TEXT_CHARS]
    parser = _TextOf()
    parser.feed(page)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    return [_clean(line) for line in text.split("\n") if _clean(line)]


# Anchored at the start of a line; each part is a plain run, so the match is linear (tests/test_regex_audit.py).
_ARTICLE = re.compile(r"^(?:Стаття|СТАТТЯ)\s+([0-9]+(?:[-‑][0-9]+)?[⁰¹²³⁴⁵⁶⁷⁸⁹]*)(?=[.\s]|$)")
_DIVISION = re.compile(
    r"^(Книга|КНИГА|Розділ|РОЗДІЛ|Глава|ГЛАВА)\s+"
    r"([0-9IVXLCІХ]+(?:[-‑][0-9]+)?[⁰¹²³⁴⁵⁶⁷⁸⁹]*|[А-ЯІЇЄҐ][А-ЯІЇЄҐа-яіїєґ'ʼ’]{2,11})\.?(?=\s|$)"
)
_KINDS = {"книга": "book", "розділ": "section", "глава": "chapter"}


def number_key(number: str) -> str:
    """The form an article number is looked up by: `16¹`, `16-1` and `16‑1` are all `16-1`; `ст. 625` is `625`."""
    text = number.strip().replace("‑", "-").replace("–", "-")
    for prefix in ("стаття", "ст."):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    base = text.rstrip("⁰¹²³⁴⁵⁶⁷⁸⁹")
    if base != text:
        return f"{base}-{text[len(base) :].translate(_PLAIN)}"
    return text


@dataclass
class Element:
    """One element of an edition's structure: a book, section, chapter (title only) or article (with text)."""

    kind: str  # book, section, chapter, article
    number: str
    title: str | None
    text: str | None = None

    @property
    def text_hash(self) -> str | None:
        if self.kind != "article":
            return None
        return content_hash(self.title, self.text or "")


def content_hash(title: str | None, text: str) -> str:
    return hashlib.sha256(f"{title or ''}\x00{text}".encode()).hexdigest()


def split_structure(lines: list[str]) -> list[Element]:
    """Books, sections, chapters and articles in order; BadInput when there is no article heading at all."""
    elements: list[Element] = []
    body: list[str] = []
    article: Element | None = None
    pending_title: Element | None = None  # a division whose title is on the next line
    seen: set[str] = set()

    def close() -> None:
        if article is not None:
            article.text = "\n".join(body)

    for line in lines:
        heading = _ARTICLE.match(line)
        if heading:
            close()
            number = heading.group(1).replace("‑", "-")
            title = line[heading.end() :].lstrip(". ").strip() or None
            key = number_key(number)
            if key in seen:  # a repeated number (a quoted article in a transitional provision) stays text
                body.append(line)
                continue
            seen.add(key)
            article = Element("article", number, title)
            elements.append(article)
            body, pending_title = [], None
            continue
        division = _DIVISION.match(line)
        rest = line[division.end() :].strip() if division else ""
        if division and not rest[:1].islower() and not rest.endswith((";", ",")):
            close()
            article, body = None, []
            element = Element(_KINDS[division.group(1).lower()], division.group(2), rest or None)
            elements.append(element)
            pending_title = None if rest else element
            continue
        if pending_title is not None:
            pending_title.title, pending_title = line, None
            continue
        if article is not None:
            body.append(line)
    close()
    if not any(e.kind == "article" for e in elements):
        raise BadInput("no article headings (`Стаття N.`) in the text")
    return elements
