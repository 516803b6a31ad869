"""Reading single records of the corpus: decisions, acts and articles, bills, companies, and ChatGPT's `fetch`.

Long texts come in windows: `offset` and `max_chars` choose the window, `next_offset` says where to read on
(None at the end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.db import Database

DEFAULT_MAX_CHARS = 20000
MAX_CHARS = 100000
DEMO_NOTE = "Демонстраційні дані: вигаданий запис для перевірки SecondLayer, не справжній документ."


class RecordNotFound(LookupError):
    """No record with that key; `field` names the argument that held it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---- urls and titles: `url` is never empty, since ChatGPT cites by it ----------------------------


def court_title(row: dict[str, Any]) -> str:
    """How a Ukrainian lawyer cites a decision: "Рішення Господарського суду міста Києва від 12.03.2024 у справі
    № 910/1234/24". A court name whose words `court_genitive` does not know is put in brackets instead, in the
    nominative, rather than declined wrongly."""
    day, court = _court_date(row["adjudication_date"]), court_genitive(row["court"])
    if court is None:
        return f"{row['judgment_form']} від {day} у справі № {row['case_number']} ({row['court']})"
    return f"{row['judgment_form']} {court} від {day} у справі № {row['case_number']}"


# The nouns a court's name is built around, with their genitive ending and gender; the words before the noun
# are adjectives agreeing with it ("Восьмий апеляційний адміністративний суд", "Велика Палата"), the words after
# it already in the genitive ("міста Києва", "Київської області", "у складі Верховного Суду").
_COURT_NOUNS = {
    "суд": ("суду", "m"),
    "трибунал": ("трибуналу", "m"),
    "палата": ("палати", "f"),
    "колегія": ("колегії", "f"),
}
# Adjective endings, nominative to genitive, by gender: hard and soft stems ("Другий", "Третій"; "Велика", "Третя").
_ADJECTIVE_ENDINGS = {"m": (("ий", "ого"), ("ій", "ього")), "f": (("а", "ої"), ("я", "ьої"))}


def court_genitive(name: str) -> str | None:
    """The court's name in the genitive ("Верховний Суд" -> "Верховного Суду"), or None when its words are not
    adjectives before one of the known nouns (then no declension is guessed)."""
    words = name.split()
    head = next((i for i, word in enumerate(words) if word.lower() in _COURT_NOUNS), None)
    if head is None:
        return None
    genitive, gender = _COURT_NOUNS[words[head].lower()]
    declined = []
    for word in words[:head]:
        stem, hyphen, last = word.rpartition("-")  # "Києво-Святошинський": only the last part declines
        ending = next((pair for pair in _ADJECTIVE_ENDINGS[gender] if last.endswith(pair[0])), None)
        if ending is None or len(last) <= len(ending[0]) + 1:
            return None
        declined.append(stem + hyphen + last[: -len(ending[0])] + ending[1])
    noun = genitive[0].upper() + genitive[1:] if words[head][0].isupper() else genitive
    return " ".join([*declined, noun, *words[head + 1 :]])


def _court_date(value: Any) -> str:
    """A decision's date as Ukrainian citations write it, 12.03.2024 (rows from search carry ISO strings)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return str(value)
    return value.strftime("%d.%m.%Y") if isinstance(value, dt.date) else str(value)


def act_title(row: dict[str, Any]) -> str:
    return f"{row['title']} ({row['nreg']})"


def bill_title(row: dict[str, Any]) -> str:
    return f"Законопроєкт № {row['number']}: {row['title']}"


def text_window(text: str, offset: int, max_chars: int) -> dict[str, Any]:
    """A window of `text` from `offset`, ending at a word boundary when it is cut, with where to read on."""
    length = len(text)
    if offset > length:
        offset = length
    end = min(length, offset + max_chars)
    if end < length:
        cut = text.rfind(" ", offset + max_chars // 2, end)
        if cut > offset:
            end = cut + 1
    return {
        "text": text[offset:end],
        "text_offset": offset,
        "text_length": length,
        "truncated": end < length or offset > 0,
        "next_offset": end if end < length else None,
    }


# ---- ChatGPT's fetch ------------------------------------------------------------------------------

_WHOLE = 10**9  # a window larger than any text: fetch windows the whole document itself


@dataclass(frozen=True)
class Document:
    """One record as `fetch` shows it: labelled header lines, then the body, with the record's fields."""

    title: str
    url: str
    header: str
    body: str
    metadata: dict[str, Any]


def _lines(*pairs: tuple[str, Any]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in pairs if value not in (None, "", []))


async def _court_document(db: Database, key: str) -> Document:
    from app.corpus.edrsr.queries import court_document  # the register's module reads through this one

    return await court_document(db, key)


async def _act_document(db: Database, key: str) -> Document:
    from app.corpus.laws import queries

    act = await queries.get_legislation(db, key)
    current = act["current_edition"]
    header = _lines(
        ("Номер", act["nreg"]),
        ("Вид", ", ".join(act["types"])),
        ("Видавник", ", ".join(act["issuers"])),
        ("Статус", act["status"]),
        ("Прийнято", act["adopted_on"]),
        ("Редакцій", act["editions_count"]),
        ("Чинна редакція", current and f"{current['date']} ({current['url']})"),
    )
    body = "\n".join(
        ("Стаття " if e["kind"] == "article" else "") + f"{e['number']}" + (f". {e['title']}" if e["title"] else "")
        for e in act["contents"]
    )
    metadata = {k: v for k, v in act.items() if k not in ("contents", "url")}
    return Document(act_title(act), act["url"], header, body, metadata)


async def _article_document(db: Database, key: str) -> Document:
    from app.corpus.laws import queries

    reg, _, number = key.rpartition(":") if ":" in key else (key, "", "")
    article = await queries.get_article(db, reg, number, max_chars=_WHOLE)
    act = article["act"]
    title = f"{act['title']}, стаття {article['article']}" + (f". {article['title']}" if article["title"] else "")
    header = _lines(("Редакція", f"{article['edition']['date']}"), ("Статус акта", act["status"]))
    metadata = {
        "nreg": act["nreg"],
        "act_title": act["title"],
        "act_status": act["status"],
        "article": article["article"],
        "title": article["title"],
        "edition": article["edition"],
        "demo": act["demo"],
    }
    return Document(title, article["url"], header, article["text"], metadata)


async def _bill_document(db: Database, key: str) -> Document:
    from app.corpus.rada.queries import bill_document  # the Parliament room imports this module's Document

    return await bill_document(db, key)


async def _deputy_document(db: Database, key: str) -> Document:
    from app.corpus.rada.queries import deputy_document  # the Parliament room imports this module's Document

    return await deputy_document(db, key)


async def _company_document(db: Database, key: str) -> Document:
    from app.corpus.edr.queries import company_document  # the register's module reads records' types

    return await company_document(db, key)


# The kinds of id that search_everything returns ("court:123", "act:435-15", ...), each with its reader.
_DOCUMENTS: dict[str, Callable[[Database, str], Awaitable[Document]]] = {
    "court": _court_document,
    "act": _act_document,
    "article": _article_document,
    "bill": _bill_document,
    "deputy": _deputy_document,
    "company": _company_document,
}
FETCH_KINDS = tuple(_DOCUMENTS)


async def fetch_document(
    db: Database, document_id: str, *, offset: int = 0, max_chars: int = DEFAULT_MAX_CHARS
) -> dict[str, Any]:
    """{id, title, text, url, metadata} for an id returned by search_everything ("court:123", "act:435-15", ...)."""
    kind, _, key = document_id.partition(":")
    key = key.strip()
    read = _DOCUMENTS.get(kind)
    if read is None or not key:
        raise RecordNotFound(
            "id", f"unknown id {document_id!r}: expected one of " + ", ".join(f"{k}:<key>" for k in FETCH_KINDS)
        )
    try:
        doc = await read(db, key)
    except RecordNotFound as exc:
        # The lookups behind fetch name their own arguments (reg_number, article, number, edrpou); fetch's
        # caller sent only `id`, so that is the argument to name.
        raise RecordNotFound("id", exc.message) from None
    full = "\n\n".join(p for p in (DEMO_NOTE if doc.metadata.get("demo") else "", doc.header, doc.body) if p)
    window = text_window(full, offset, max_chars)
    metadata = {
        **doc.metadata,
        **{k: window[k] for k in ("text_offset", "text_length", "truncated", "next_offset")},
        "kind": kind,
    }
    return {"id": f"{kind}:{key}", "title": doc.title, "text": window["text"], "url": doc.url, "metadata": metadata}
