"""Decision texts: the register's files (windows-1251 RTF, or HTML pages named .rtf) as plain text, and loading
them into court_decision_texts for the decisions that still lack one.

Loading is resumable by construction: what is missing is read from the database each time (a decision with a
URL and no text row), and each chunk is written as it completes. Conversion runs in worker threads.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from striprtf.striprtf import rtf_to_text

from app.db import Database

# A reader takes (relative path, full URL) and returns the file's bytes, or None when it is not there.
Reader = Callable[[str, str], Awaitable[bytes | None]]
MAX_TEXT_BYTES = 32 * 1024 * 1024
CHUNK = 200
_CHARSET = re.compile(r"charset\s{0,10}=\s{0,10}[\"']?([A-Za-z0-9_-]{1,40})")
_BLANKS = re.compile(r"\n[ \t\r\f\v]*(?:\n[ \t\r\f\v]*){2,}")
_SPACES = re.compile(r"[ \t\r\f\v]{2,}")
_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "title"}


class TextError(ValueError):
    """The file is not a text we can read."""


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _SPACES.sub(" ", text)
    return _BLANKS.sub("\n\n", text).strip()


def _looks_like_html(head: bytes) -> bool:
    lowered = head.lower()
    return lowered.lstrip().startswith(b"<") or b"<html" in lowered or b"<body" in lowered


def convert(data: bytes) -> tuple[str, str]:
    """(text, format) of one file: format is rtf, html or text. Blocking (call it in a thread)."""
    if len(data) > MAX_TEXT_BYTES:
        raise TextError(f"the file is larger than {MAX_TEXT_BYTES // (1024 * 1024)} MiB")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        # Escaped bytes (\'e0) and any raw 8-bit bytes are both windows-1251 in the register's files.
        text = rtf_to_text(  # type: ignore[no-untyped-call]  # striprtf has no annotations
            stripped.decode("cp1251", "replace"), encoding="cp1251", errors="replace"
        )
        return _tidy(str(text)), "rtf"
    head = stripped[:4096]
    if _looks_like_html(head):
        match = _CHARSET.search(head.decode("ascii", "replace"))
        charset = match.group(1).lower() if match else "cp1251"
        try:
            decoded = stripped.decode(charset, "replace")
        except LookupError:
            decoded = stripped.decode("cp1251", "replace")
        parser = _HTMLText()
        parser.feed(decoded)
        parser.close()
        return _tidy(html.unescape("".join(parser.parts))), "html"
    try:
        return _tidy(stripped.decode("utf-8")), "text"
    except UnicodeDecodeError:
        return _tidy(stripped.decode("cp1251", "replace")), "text"


def relative_path(doc_url: str) -> str:
    """`http://od.reyestr.court.gov.ua/files/43/ab.rtf` -> `files/43/ab.rtf` (where a mirror keeps it)."""
    return urlsplit(doc_url).path.lstrip("/")


@dataclass
class TextsLoaded:
    loaded: int = 0
    missing: int = 0
    failed: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


async def _one(read: Reader, doc_id: int, doc_url: str, gate: asyncio.Semaphore) -> dict[str, Any]:
    async with gate:
        try:
            data = await read(relative_path(doc_url), doc_url)
        except Exception as exc:  # noqa: BLE001  # a download error is recorded against this decision, not fatal
            return {"doc_id": doc_id, "text": None, "format": None, "error": f"cannot fetch {doc_url}: {exc}"[:500]}
    if data is None:
        return {"doc_id": doc_id, "text": None, "format": None, "error": f"not found: {doc_url}"}
    try:
        text, kind = await asyncio.to_thread(convert, data)
    except (TextError, ValueError, IndexError) as exc:
        return {"doc_id": doc_id, "text": None, "format": None, "error": f"cannot read {doc_url}: {exc}"[:500]}
    return {"doc_id": doc_id, "text": text, "format": kind, "error": None}


_MISSING = """
    SELECT d.doc_id, d.doc_url FROM court_decisions d
    LEFT JOIN court_decision_texts t ON t.doc_id = d.doc_id
    WHERE d.doc_url IS NOT NULL AND (t.doc_id IS NULL OR (%(retry)s AND t.text IS NULL))
      {only}
    ORDER BY d.adjudication_date DESC, d.doc_id DESC
    LIMIT %(limit)s
"""
_STORE = """
    INSERT INTO court_decision_texts (doc_id, text, format, error, fetched_at)
    SELECT (r->>'doc_id')::bigint, r->>'text', r->>'format', r->>'error', now()
    FROM jsonb_array_elements(%(rows)s::jsonb) AS r
    ON CONFLICT (doc_id) DO UPDATE SET text = EXCLUDED.text, format = EXCLUDED.format, error = EXCLUDED.error,
        fetched_at = now()
"""


async def load_texts(
    db: Database,
    read: Reader,
    *,
    limit: int | None = None,
    only: list[int] | None = None,
    retry_failed: bool = False,
    concurrency: int = 8,
    on_chunk: Callable[[TextsLoaded], None] | None = None,
) -> TextsLoaded:
    """Fetch, convert and store the texts still missing (at most `limit`; only the `only` doc_ids if given)."""
    import json

    result = TextsLoaded()
    gate = asyncio.Semaphore(concurrency)
    remaining = limit
    attempted: set[int] = set()
    while remaining is None or remaining > 0:
        size = CHUNK if remaining is None else min(CHUNK, remaining)
        params: dict[str, Any] = {"retry": retry_failed, "limit": size + len(attempted) if retry_failed else size}
        clause = ""
        if only is not None:
            clause = "AND d.doc_id = ANY(%(only)s)"
            params["only"] = only
        rows = await db.fetch_all(_MISSING.format(only=clause), params)
        rows = [r for r in rows if r["doc_id"] not in attempted][:size]
        if not rows:
            break
        attempted.update(r["doc_id"] for r in rows)
        done = await asyncio.gather(*(_one(read, r["doc_id"], r["doc_url"], gate) for r in rows))
        await db.execute(_STORE, {"rows": json.dumps(done, ensure_ascii=False)})
        for row in done:
            if row["text"] is not None:
                result.loaded += 1
            elif row["error"] and row["error"].startswith("not found"):
                result.missing += 1
                result.problems.append((str(row["doc_id"]), row["error"]))
            else:
                result.failed += 1
                result.problems.append((str(row["doc_id"]), row["error"] or "unreadable"))
        if remaining is not None:
            remaining -= len(rows)
        if on_chunk is not None:
            on_chunk(result)
    return result
