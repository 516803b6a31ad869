"""Reading the ЄДРСР dump as data.gov.ua publishes it: `edrsr_data_YYYY.zip` (or its files in a directory).

Every file is tab-separated despite its `.csv` name, with a header row, `"` quoting and the empty string for
NULL. Columns are found by their header names, never by position. Timestamps such as `2019-12-24 00:00:00+02`
are Kyiv local time, so a decision's date is the calendar date as written (converting to UTC first would move
it to the previous day). `court_code` keeps its leading zeros: it is text.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

DOCUMENTS = "documents.csv"
DOCUMENT_COLUMNS = (
    "doc_id",
    "court_code",
    "judgment_code",
    "justice_kind",
    "category_code",
    "cause_num",
    "adjudication_date",
    "receipt_date",
    "judge",
    "doc_url",
    "status",
    "date_publ",
)
# Each dictionary file: its key column, then the columns read from it (besides `name`).
DICTIONARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "courts.csv": ("court_code", ("instance_code", "region_code")),
    "instances.csv": ("instance_code", ()),
    "regions.csv": ("region_code", ()),
    "justice_kinds.csv": ("justice_kind", ()),
    "judgment_forms.csv": ("judgment_code", ()),
    "cause_categories.csv": ("category_code", ()),
}
# Anchored, bounded pieces only (tests/test_regex_audit.py runs them on adversarial input). ASCII digits only:
# \d would also take ٣ and other scripts' digits, which int() reads as numbers.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
    r"(?:[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_CODE = re.compile(r"[0-9A-Za-z]{1,16}")
# Control characters other than tab and newline are dropped from text (COPY refuses NUL; none belong in a name).
_CONTROL = dict.fromkeys([*range(9), 11, 12, *range(14, 32), 127])
MAX_FIELD = 10000
SMALL = 32767
# The register starts in 2006; dates outside these years are typing errors, not decisions (and have no partition).
FIRST_YEAR, LAST_YEAR = 1991, 2100
# Courts' and categories' names and judges are short; a field this long means a broken quote swallowed lines.
csv.field_size_limit(MAX_FIELD * 4)


class FormatError(ValueError):
    """The source as a whole cannot be read (not an archive, truncated, a file or column missing)."""


class RowError(ValueError):
    """One row cannot be imported; the message says why, for a person."""


@dataclass(slots=True)
class Document:
    """One row of documents.csv, checked and converted."""

    doc_id: int
    court_code: str
    judgment_code: int | None
    justice_kind: int | None
    category_code: int | None
    cause_num: str | None
    adjudication_date: dt.date
    receipt_date: dt.date | None
    judge: str | None
    doc_url: str | None
    status: int | None
    date_publ: dt.date | None


def local_date(value: str, column: str) -> dt.date | None:
    """The calendar date of a dump timestamp (`2019-12-24 00:00:00+02` -> 2019-12-24); None for empty."""
    if not value:
        return None
    parsed = _timestamp(value)
    if isinstance(parsed, str):
        raise RowError(f"{column}: {parsed} {_show(value)}")
    return parsed


# A year's publication holds a few thousand distinct timestamps among millions of rows: parse each once.
@functools.lru_cache(maxsize=65536)
def _timestamp(value: str) -> dt.date | str:
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return "not a date:"
    year, month, day = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return "impossible date"


def _integer(value: str, column: str, largest: int = 2**31 - 1) -> int | None:
    if not value:
        return None
    if value.isdigit() and value.isascii() and len(value) <= 18:
        number = int(value)
    elif _INTEGER.fullmatch(value.strip()) is None:
        raise RowError(f"{column}: not a number: {_show(value)}")
    else:
        number = int(value)
    if not 0 <= number <= largest:
        raise RowError(f"{column}: {number} is out of range (0-{largest})")
    return number


def _text(value: str, column: str) -> str | None:
    if value.isprintable() and "  " not in value:  # no control characters, no lone surrogates
        return value.strip() or None  # the common case, without the work below
    if not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value):
        raise RowError(f"{column}: not UTF-8 text (wrong encoding)")
    if len(value) > MAX_FIELD:
        raise RowError(f"{column}: longer than {MAX_FIELD} characters")
    cleaned = " ".join(value.translate(_CONTROL).split())
    return cleaned or None


def _show(value: str) -> str:
    shown = value if len(value) <= 40 else value[:40] + "…"
    return repr(shown.encode("utf-8", "backslashreplace").decode("utf-8"))


def _rows(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, {column: value}) for each row of one file, or (line, reason) for a row of the wrong shape.

    Bytes that are not UTF-8 survive as surrogates, so that one badly encoded row is reported, not fatal."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter="\t", quotechar='"', strict=False)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FormatError(f"{name}: cannot read the header row: {exc}") from None
    if not header:
        raise FormatError(f"{name} is empty: it has no header row")
    columns = [column.strip().lower() for column in header]
    start = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start + 1, f"cannot be read as a tab-separated row: {exc}"
            start = reader.line_num
            continue
        line, start = start + 1, reader.line_num
        if not fields or fields == [""]:
            continue
        if len(fields) != len(columns):
            yield line, f"has {len(fields)} fields, the header has {len(columns)}"
            continue
        yield line, dict(zip(columns, fields, strict=True))


def parse_document(values: dict[str, str], courts: set[str]) -> Document:
    """A documents.csv row as a Document; RowError says what is wrong with it."""
    doc_id = _integer(values["doc_id"], "doc_id", 2**63 - 1)
    if doc_id is None or doc_id <= 0:
        raise RowError(f"doc_id: must be a positive number, not {_show(values['doc_id'])}")
    court_code = (values["court_code"] or "").strip()
    if _CODE.fullmatch(court_code) is None:
        raise RowError(f"court_code: not a court code: {_show(court_code)}")
    if court_code not in courts:
        raise RowError(f"court_code: unknown court code {court_code!r} (not in courts.csv)")
    adjudication_date = local_date(values["adjudication_date"], "adjudication_date")
    if adjudication_date is None:
        raise RowError("adjudication_date: empty")
    if not FIRST_YEAR <= adjudication_date.year <= LAST_YEAR:
        raise RowError(f"adjudication_date: impossible date {_show(values['adjudication_date'])}")
    doc_url = _text(values["doc_url"], "doc_url")
    if doc_url is not None and not doc_url.startswith(("http://", "https://")):
        raise RowError(f"doc_url: not an http(s) URL: {_show(doc_url)}")
    return Document(
        doc_id=doc_id,
        court_code=court_code,
        judgment_code=_integer(values["judgment_code"], "judgment_code", SMALL),
        justice_kind=_integer(values["justice_kind"], "justice_kind", SMALL),
        category_code=_integer(values["category_code"], "category_code"),
        cause_num=_text(values["cause_num"], "cause_num"),
        adjudication_date=adjudication_date,
        receipt_date=local_date(values["receipt_date"], "receipt_date"),
        judge=_text(values["judge"], "judge"),
        doc_url=doc_url,
        status=_integer(values["status"], "status", SMALL),
        date_publ=local_date(values["date_publ"], "date_publ"),
    )


def read_documents(stream: IO[bytes], courts: set[str]) -> Iterator[tuple[int, Document | str]]:
    """(line, Document) for each good row of documents.csv and (line, reason) for each bad one."""
    for line, values in _rows(stream, DOCUMENTS):
        if isinstance(values, str):
            yield line, values
            continue
        missing = [column for column in DOCUMENT_COLUMNS if column not in values]
        if missing:
            raise FormatError(f"{DOCUMENTS}: the header lacks the column(s) {', '.join(missing)}")
        try:
            yield line, parse_document(values, courts)
        except RowError as exc:
            yield line, str(exc)


@dataclass
class Dictionary:
    """One dictionary file: code -> name, and for courts the instance and region codes."""

    rows: dict[str, dict[str, str | None]]
    problems: list[tuple[int, str]]


def repaired(text: str) -> str:
    """A name whose UTF-8 bytes were once read as windows-1251 and saved again (published dictionaries have had
    "Р’РёСЂРѕРє" for "Вирок") is read back; other text is left as it is. Real Cyrillic never survives the round
    trip: its windows-1251 bytes are not UTF-8."""
    try:
        return text.encode("cp1251").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def read_dictionary(stream: IO[bytes], name: str) -> Dictionary:
    key, extra = DICTIONARIES[name]
    rows: dict[str, dict[str, str | None]] = {}
    problems: list[tuple[int, str]] = []
    for line, values in _rows(stream, name):
        if isinstance(values, str):
            problems.append((line, values))
            continue
        missing = [column for column in (key, "name", *extra) if column not in values]
        if missing:
            raise FormatError(f"{name}: the header lacks the column(s) {', '.join(missing)}")
        try:
            code = (values[key] or "").strip()
            if _CODE.fullmatch(code) is None:
                raise RowError(f"{key}: not a code: {_show(code)}")
            label = _text(values["name"], "name")
            if label is None:
                raise RowError("name: empty")
            row: dict[str, str | None] = {"name": repaired(label)}
            for column in extra:
                value = _text(values[column], column)
                row[column] = repaired(value) if value is not None else None
        except RowError as exc:
            problems.append((line, str(exc)))
            continue
        rows[code] = row
    return Dictionary(rows, problems)


class Archive:
    """The files of one publication, in a zip archive or a directory; members are found by their base name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        if path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    self._members.setdefault(child.name.lower(), str(child))
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile as exc:
                raise FormatError(f"{path.name} is not a readable zip archive (truncated or damaged?): {exc}") from None
            except OSError as exc:
                raise FormatError(f"{path.name} cannot be read: {exc}") from None
            for info in self._zip.infolist():
                if not info.is_dir():
                    self._members.setdefault(info.filename.rsplit("/", 1)[-1].lower(), info.filename)
        else:
            raise FormatError(f"{path} does not exist")

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def has(self, name: str) -> bool:
        return name in self._members

    def size(self, name: str) -> int:
        member = self._members[name]
        if self._zip is not None:
            return self._zip.getinfo(member).file_size
        return Path(member).stat().st_size

    def open(self, name: str) -> IO[bytes]:
        """The file's bytes as a stream; FormatError when the archive lacks it."""
        member = self._members.get(name)
        if member is None:
            raise FormatError(f"{self.path.name} has no {name}")
        if self._zip is not None:
            return self._zip.open(member)
        return open(member, "rb")  # the caller closes it


# ---- writing the format: the demo and benchmark generators, and tests, produce publications with these ----


def kyiv_timestamp(day: dt.date) -> str:
    """`2019-12-24 00:00:00+02` as the dump writes a date: midnight Kyiv time, +03 in summer (EU rule)."""

    def last_sunday(month: int) -> dt.date:
        last = dt.date(day.year, month, 31)
        return last - dt.timedelta(days=(last.weekday() + 1) % 7)

    summer = last_sunday(3) <= day < last_sunday(10)
    return f"{day.isoformat()} 00:00:00{'+03' if summer else '+02'}"


def dump_row(values: Iterable[object]) -> str:
    """One tab-separated line as published: text quoted with `"`, numbers bare, None empty."""
    fields = []
    for value in values:
        if value is None:
            fields.append("")
        elif isinstance(value, int):
            fields.append(str(value))
        else:
            fields.append('"' + str(value).replace('"', '""') + '"')
    return "\t".join(fields) + "\n"
