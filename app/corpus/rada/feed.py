"""What every Rada open-data file needs: control characters stripped, dates that may be impossible, labels that
may be strings or objects, official URLs, and a top-level JSON array read element by element with the byte
offset of a break."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ijson

BASE_URL = "https://data.rada.gov.ua"
# Bytes 0x00-0x1F except tab and newline: the feed has raw ones inside strings, which JSON forbids. In UTF-8 they
# never occur inside a multi-byte character, so deleting them byte-wise is safe.
CONTROL = bytes(b for b in range(0x20) if b not in (0x09, 0x0A))
CHUNK = 64 * 1024
EARLIEST_YEAR = 1990  # the Verkhovna Rada of independent Ukraine: earlier registration dates are impossible
BIRTH_YEARS = (1900, 2010)

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+Z-]{0,40})?$")
_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_TAG = re.compile(r"<[^<>]{0,200}>")


def strip_control(data: bytes) -> bytes:
    return data.translate(None, CONTROL)


def deputy_url(person_id: int) -> str:
    return f"https://itd.rada.gov.ua/mps/info/page/{person_id}"


def bill_card_url(bill_id: int) -> str:
    return f"https://itd.rada.gov.ua/billInfo/Bills/Card/{bill_id}"


class DateWarning(ValueError):
    """A date the feed holds that cannot be true (year 0006, 3013); it is kept as unknown."""


def parse_date(value: Any, *, years: tuple[int, int] | None = None) -> dt.date | None:
    """A date from `2019-08-29`, `2019-08-29 00:00:00`, `2019-08-29T00:00:00` or `29.08.2019`; None when empty;
    DateWarning when malformed or its year is impossible."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise DateWarning(f"not a date: {value!r}")
    text = value.strip()
    match = _DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        dotted = _DOTTED.match(text)
        if not dotted:
            raise DateWarning(f"not a date: {text[:40]!r}")
        day, month, year = (int(g) for g in dotted.groups())
    low, high = years or (EARLIEST_YEAR, dt.datetime.now(dt.UTC).year + 1)
    if not low <= year <= high:
        raise DateWarning(f"impossible year {year:04d} in {text[:40]!r}")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateWarning(f"no such date: {text[:40]!r}") from None


def label(value: Any) -> str | None:
    """A name the feed gives as a string or as an object with a name or title."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or value.get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def plain(value: Any) -> str | None:
    """Text without the markup the feed puts in some fields (`№11<br>Вінницька область`)."""
    text = label(value)
    return label(_TAG.sub("; ", text)) if text else None


def integer(value: Any) -> int | None:
    """An integer given as a number or a string of digits (`registrationConvocation` may be "9")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value.strip())
    return None


def person_name(person: Any) -> str | None:
    if not isinstance(person, dict):
        return label(person)
    parts = [label(person.get(k)) for k in ("surname", "firstname", "patronymic")]
    return " ".join(p for p in parts if p) or label(person.get("name"))


class BrokenJSON(ValueError):
    """The file stops being valid JSON at `offset` (bytes from its start)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"broken JSON at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


@dataclass
class ArrayReader:
    """Reads a top-level JSON array from a byte stream one element at a time, in bounded memory (ijson), with
    control characters stripped first. `offset` is how many bytes of the file have been read."""

    stream: IO[bytes]
    offset: int = 0
    _pending: list[Any] = field(default_factory=list)

    def batches(self, size: int) -> Iterator[list[Any]]:
        """Lists of up to `size` elements; BrokenJSON (after the elements before the break) when the file breaks."""
        sink: list[Any] = []
        parser = ijson.items_coro(_Sink(sink), "item", use_float=True)
        first = True
        while True:
            raw = self.stream.read(CHUNK)
            if first and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
                self.offset += 3
            first = False
            start = self.offset
            self.offset += len(raw)
            if not raw:
                break
            chunk = strip_control(raw)
            try:
                parser.send(chunk)
            except ijson.JSONError as exc:
                yield from _split(sink, size)
                raise BrokenJSON(_error_offset(str(exc), raw, chunk, start), _first_line(str(exc))) from None
            if len(sink) >= size:
                yield from _split(sink, size, keep_tail=True)
        try:
            parser.close()
        except ijson.JSONError as exc:
            yield from _split(sink, size)
            raise BrokenJSON(
                self.offset, "the file ends inside a value (truncated?): " + _first_line(str(exc))
            ) from None
        yield from _split(sink, size)


class _Sink:
    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def send(self, value: Any) -> None:
        self.items.append(value)


def _split(items: list[Any], size: int, *, keep_tail: bool = False) -> Iterator[list[Any]]:
    while len(items) >= size or (items and not keep_tail):
        batch = items[:size]
        del items[:size]
        yield batch


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "not valid JSON"


def _error_offset(message: str, raw: bytes, chunk: bytes, start: int) -> int:
    """The file offset of a parse error, or the chunk's start when it cannot be told.

    yajl reports the error inside the chunk it was given by showing the bytes around it: 10 spaces (more when
    the error is within the chunk's first 30 bytes), up to 30 bytes before the error and 30 after (line breaks as
    spaces, decoded, a character cut at the window's edge dropped), and a caret under the error. The window is
    found in the chunk to place it."""
    lines = message.splitlines()
    if len(lines) < 3 or not lines[2].rstrip().endswith("^"):
        return start
    context = lines[1]
    flat = chunk.replace(b"\n", b" ").replace(b"\r", b" ")
    window = context[10:].encode("utf-8")
    found = flat.find(window) if window.strip() else -1
    if found >= 0:
        # Bytes of a character cut at the window's start were dropped: they are continuation bytes (10xxxxxx).
        cut = 0
        while cut < 3 and found - cut - 1 >= 0 and 0x80 <= flat[found - cut - 1] < 0xC0:
            cut += 1
        position = found - cut + 30
    else:
        text = context.lstrip(" ").encode("utf-8")
        if not text or not flat.lstrip(b" ").startswith(text):
            return start
        # The window is the chunk's start: the padding is 40 bytes less the error's offset.
        leading = len(flat) - len(flat.lstrip(b" "))
        position = 40 + leading - (len(context) - len(context.lstrip(" ")))
    position = min(max(position - 1, 0), len(chunk))  # yajl counts the offending byte as consumed
    # Map the position in the cleaned chunk back to the file, counting the control bytes deleted before it.
    kept = 0
    for index, byte in enumerate(raw):
        if kept == position:
            return start + index
        if byte not in CONTROL:
            kept += 1
    return start + len(raw)
