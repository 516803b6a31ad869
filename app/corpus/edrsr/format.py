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
import operator
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.corpus.text import fold

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


def _records(stream: IO[bytes], name: str) -> tuple[list[str], Iterator[tuple[int, list[str] | str]]]:
    """The header's column names, and (line, fields) for each row of one file, or (line, reason) for a row of the
    wrong shape.

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

    def records() -> Iterator[tuple[int, list[str] | str]]:
        width = len(columns)
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
            if len(fields) != width or width == 1:  # blank lines are skipped, other rows must fit the header
                if not fields or fields == [""]:
                    continue
                if len(fields) != width:
                    yield line, f"has {len(fields)} fields, the header has {width}"
                    continue
            yield line, fields

    return columns, records()


def _rows(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, {column: value}) for each row of one file, or (line, reason) for a row of the wrong shape."""
    columns, records = _records(stream, name)
    for line, fields in records:
        yield line, fields if isinstance(fields, str) else dict(zip(columns, fields, strict=True))


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


# ---- the import's fast path: rows straight to the staging table's COPY text, in batches ----

# The staging table's columns, in the order of the lines stage_line() and read_batches() write.
STAGE_COLUMNS = (
    "line",
    "doc_id",
    "adjudication_date",
    "court_code",
    "judgment_code",
    "justice_kind",
    "category_code",
    "cause_num",
    "receipt_date",
    "judge",
    "doc_url",
    "status",
    "date_publ",
    "judge_key",  # fold(judge): the judge filter's key
    "cause_key",  # fold(cause_num), for the search vector (folded here: secondlayer_fold() in SQL costs ~15 µs)
)
_NULL = "\\N"


def _copy_text(value: str | None) -> str:
    if value is None:
        return _NULL
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def stage_line(line: int, doc: Document) -> str:
    """One row of the staging table in COPY text format (without its newline)."""
    return "\t".join(
        (
            str(line),
            str(doc.doc_id),
            doc.adjudication_date.isoformat(),
            _copy_text(doc.court_code),
            _NULL if doc.judgment_code is None else str(doc.judgment_code),
            _NULL if doc.justice_kind is None else str(doc.justice_kind),
            _NULL if doc.category_code is None else str(doc.category_code),
            _copy_text(doc.cause_num),
            _NULL if doc.receipt_date is None else doc.receipt_date.isoformat(),
            _copy_text(doc.judge),
            _copy_text(doc.doc_url),
            _NULL if doc.status is None else str(doc.status),
            _NULL if doc.date_publ is None else doc.date_publ.isoformat(),
            _copy_text(None if doc.judge is None else fold(doc.judge)),
            _copy_text(None if doc.cause_num is None else fold(doc.cause_num)),
        )
    )


@dataclass(slots=True)
class Batch:
    """Consecutive rows of documents.csv: the good ones as staging lines, the bad ones as (line, reason)."""

    data: bytes  # COPY text format in UTF-8, one line per good row
    rows: int  # good rows
    read: int  # rows read, good and bad
    last_line: int
    years: set[int]
    min_id: int
    max_id: int
    duplicates: bool  # a doc_id appears twice in this batch
    problems: list[tuple[int, str]]
    ids: set[int]


def read_batches(stream: IO[bytes], courts: set[str], size: int, *, after_line: int = 0) -> Iterator[Batch]:
    """documents.csv in batches of `size` good rows, skipping the lines up to `after_line` (a checkpoint).

    Each row takes a fast path when every field is plainly well-formed (the common case, a few microseconds);
    anything else goes through parse_document, so both paths give the same staging line or the same reason
    (tests/test_edrsr_fuzz.py compares them)."""
    columns, records = _records(stream, DOCUMENTS)
    missing = [column for column in DOCUMENT_COLUMNS if column not in columns]
    if missing:
        raise FormatError(f"{DOCUMENTS}: the header lacks the column(s) {', '.join(missing)}")
    fast = _FastRow(columns, courts)
    lines: list[str] = []
    problems: list[tuple[int, str]] = []
    years: set[int] = set()
    ids: set[int] = set()
    read = 0
    line = after_line
    for line, fields in records:
        if line <= after_line:
            continue
        read += 1
        if isinstance(fields, str):
            problems.append((line, fields))
            continue
        staged = fast.stage(line, fields)
        if staged is None:
            try:
                doc = parse_document(dict(zip(columns, fields, strict=True)), courts)
            except RowError as exc:
                problems.append((line, str(exc)))
                continue
            staged = (stage_line(line, doc), doc.doc_id, doc.adjudication_date.year)
        text, doc_id, year = staged
        lines.append(text)
        ids.add(doc_id)
        years.add(year)
        if len(lines) >= size:
            yield _batch(lines, ids, years, read, line, problems)
            lines, problems, years, ids, read = [], [], set(), set(), 0
    if lines or problems:
        yield _batch(lines, ids, years, read, line, problems)


def _batch(
    lines: list[str], ids: set[int], years: set[int], read: int, last: int, problems: list[tuple[int, str]]
) -> Batch:
    lines.append("")
    return Batch(
        data="\n".join(lines).encode("utf-8", "surrogateescape"),
        rows=len(lines) - 1,
        read=read,
        last_line=last,
        years=years,
        min_id=min(ids, default=0),
        max_id=max(ids, default=0),
        duplicates=len(ids) < len(lines) - 1,
        problems=problems,
        ids=ids,
    )


_SMALL_DIGITS = 4  # at most 9999: within smallint without converting
_INT_DIGITS = 9  # at most 999,999,999: within integer
_CACHED = 100_000  # distinct dates and judges remembered by the fast path (a year has a few thousand of each)


def _fold_key(value: str) -> str:
    """fold(value) for the staging line: the ASCII case (most case numbers) is lower()."""
    if value.isascii() and "'" not in value and "`" not in value:
        return value.lower()
    return fold(value)


class _FastRow:
    """The staging line of a plainly well-formed row, or None: then parse_document decides (same result)."""

    def __init__(self, columns: list[str], courts: set[str]) -> None:
        index = {column: n for n, column in enumerate(columns)}
        self.pick = operator.itemgetter(*(index[column] for column in DOCUMENT_COLUMNS))
        self.courts = courts
        self.dates: dict[str, tuple[str, int] | None] = {}
        self.judges: dict[str, str] = {}

    def _date(self, value: str) -> tuple[str, int] | None:
        """(ISO date, year) of a well-formed timestamp, or None; each distinct string is parsed once."""
        parsed = _timestamp(value)
        result = (parsed.isoformat(), parsed.year) if isinstance(parsed, dt.date) else None
        if len(self.dates) > _CACHED:
            self.dates.clear()
        self.dates[value] = result
        return result

    def stage(self, line: int, fields: list[str]) -> tuple[str, int, int] | None:
        doc_id, court, judgment, kind, category, cause, adjudication, receipt, judge, url, status, publ = self.pick(
            fields
        )
        if not (doc_id.isdigit() and doc_id.isascii() and len(doc_id) <= 18 and doc_id[0] != "0"):
            return None
        if court not in self.courts:
            return None
        if judgment and not (judgment.isdigit() and judgment.isascii() and len(judgment) <= _SMALL_DIGITS):
            return None
        if kind and not (kind.isdigit() and kind.isascii() and len(kind) <= _SMALL_DIGITS):
            return None
        if status and not (status.isdigit() and status.isascii() and len(status) <= _SMALL_DIGITS):
            return None
        if category and not (category.isdigit() and category.isascii() and len(category) <= _INT_DIGITS):
            return None
        dates = self.dates
        decided = dates[adjudication] if adjudication in dates else self._date(adjudication)
        if decided is None or not FIRST_YEAR <= decided[1] <= LAST_YEAR:
            return None
        if receipt:
            received = dates[receipt] if receipt in dates else self._date(receipt)
            if received is None:
                return None
            receipt = received[0]
        else:
            receipt = _NULL
        if publ:
            published = dates[publ] if publ in dates else self._date(publ)
            if published is None:
                return None
            publ = published[0]
        else:
            publ = _NULL
        # parse_document cleans text with control characters, lone surrogates or runs of spaces: not this path.
        if not (cause.isprintable() and judge.isprintable() and url.isprintable()):
            return None
        if "  " in cause or "  " in judge or "  " in url:
            return None
        cause, judge, url = cause.strip(), judge.strip(), url.strip()
        if url and not url.startswith(("http://", "https://")):
            return None
        if "\\" in cause or "\\" in judge or "\\" in url:
            cause, judge, url = (v.replace("\\", "\\\\") for v in (cause, judge, url))
        if judge:
            judge_key = self.judges.get(judge)
            if judge_key is None:
                if len(self.judges) > _CACHED:
                    self.judges.clear()
                judge_key = self.judges[judge] = fold(judge)
        else:
            judge = judge_key = _NULL
        if cause:
            cause_key = _fold_key(cause)
        else:
            cause = cause_key = _NULL
        text = "\t".join(
            (
                str(line),
                doc_id,
                decided[0],
                court,
                judgment or _NULL,
                kind or _NULL,
                category or _NULL,
                cause,
                receipt,
                judge,
                url or _NULL,
                status or _NULL,
                publ,
                judge_key,
                cause_key,
            )
        )
        return text, int(doc_id), decided[1]


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

    def identity(self, name: str) -> dict[str, Any]:
        """What tells this file from another one of the same name: a run's checkpoint holds only for it."""
        member = self._members[name]
        if self._zip is not None:
            info = self._zip.getinfo(member)
            return {"member": member, "size": info.file_size, "crc": info.CRC}
        stat = Path(member).stat()
        return {"file": str(Path(member).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

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
