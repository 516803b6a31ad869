"""Property-based robustness of the court register's reader: generated documents.csv files mixing good rows with
bad ones (random bytes, a field too many or too few, broken quotes, invalid UTF-8, NUL, impossible dates, huge
numbers) and random "text files". Whatever the input, reading never raises anything but FormatError for the file
as a whole, every row is either a Document or a reason, and each good row comes back as written. Generation is
derandomized, so CI meets the same inputs on every run."""

from __future__ import annotations

import csv
import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.corpus.edrsr import format as fmt
from app.corpus.edrsr.texts import TextError, convert
from tests.helpers_edrsr import document, documents_csv

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
COURTS = {"910", "0713"}
_field = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", '"', '""', "0000-00-00 00:00:00+02", "2023-02-30", "99999999999999999999", "\x00", "-1"]),
)
_bad_line = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),
    st.lists(_field, max_size=14).map(
        lambda fields: "\t".join(fields).replace("\n", " ").encode("utf-8", "surrogatepass")
    ),
)


@FUZZ
@given(
    st.lists(
        st.one_of(st.integers(1, 10**9).map(lambda n: ("good", n)), _bad_line.map(lambda b: ("bad", b))), max_size=20
    )
)
def test_any_documents_file_reads_row_by_row(lines: list[tuple[str, object]]) -> None:
    header = documents_csv([]).encode()
    body = []
    for kind, value in lines:
        if kind == "good":
            assert isinstance(value, int)
            body.append(documents_csv([document(value, judge=f"Суддя {value}")]).encode().split(b"\n", 1)[1])
        else:
            assert isinstance(value, bytes)
            body.append(value + b"\n")
    data = header + b"".join(body)
    try:
        read = list(fmt.read_documents(io.BytesIO(data), COURTS))
    except fmt.FormatError:
        return
    for line, item in read:
        assert line >= 2
        assert isinstance(item, fmt.Document | str)
        if isinstance(item, fmt.Document):
            assert item.court_code in COURTS and 1991 <= item.adjudication_date.year <= 2100
            assert item.judge is None or "\x00" not in item.judge


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=200).map(lambda t: ("{\\rtf1\\ansi " + t + "}").encode("utf-8", "surrogatepass")),
        st.text(max_size=200).map(lambda t: ("<html><body>" + t).encode("cp1251", "replace")),
    )
)
def test_any_text_file_converts_or_is_refused(data: bytes) -> None:
    try:
        text, kind = convert(data)
    except (TextError, ValueError, IndexError):
        return
    assert kind in ("rtf", "html", "text") and isinstance(text, str) and "\x00" not in text


_NUMBERS = st.sampled_from(["", "1", "5", "007", "0", "-1", "٣", " 5", "32767", "32768", "99999", "2147483648", "1.5"])
_DATES = st.sampled_from(
    [
        "",
        "2023-07-12 00:00:00+03",
        "2019-12-24",
        " 2020-01-01 00:00:00+02",
        "0000-00-00 00:00:00+02",
        "2023-02-30",
        "1800-01-01",
        "x",
    ]
)
_TEXTS = st.one_of(
    st.sampled_from(
        ["", " ", "910/1/23", " Довжанин М. М. ", "a  b", "back\\slash", "tab\there", "ҐЁ'`x", "http://h/f.rtf"]
    ),
    st.text(max_size=10),
)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "86740127", "007", "0", " 12", "٣", "123456789012345678", "abc"]),
            st.sampled_from(["910", "0713", " 910", "999", ""]),
            _NUMBERS,
            _NUMBERS,
            _NUMBERS,
            _TEXTS,
            _DATES,
            _DATES,
            _TEXTS,
            st.one_of(_TEXTS, st.sampled_from(["https://od.reyestr.court.gov.ua/files/1/a.rtf", "ftp://x"])),
            _NUMBERS,
            _DATES,
        ),
        max_size=12,
    )
)
def test_the_fast_path_stages_what_parse_document_stages(rows: list[tuple[str, ...]]) -> None:
    """read_batches (a fast path for plain rows, parse_document for the rest) gives the same staging rows and the
    same reasons as reading each row with parse_document."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(fmt.DOCUMENT_COLUMNS)
    writer.writerows(rows)
    data = out.getvalue().encode("utf-8", "surrogatepass")
    expected_lines, expected_problems = [], []
    for line, item in fmt.read_documents(io.BytesIO(data), COURTS):
        if isinstance(item, str):
            expected_problems.append((line, item))
        else:
            expected_lines.append(_normal(fmt.stage_line(line, item)))
    batches = list(fmt.read_batches(io.BytesIO(data), COURTS, 5))
    got_lines = [_normal(text) for b in batches for text in b.data.decode("utf-8", "surrogateescape").splitlines()]
    assert got_lines == expected_lines
    assert [p for b in batches for p in b.problems] == expected_problems
    assert sum(b.read for b in batches) == len(expected_lines) + len(expected_problems)


_NUMERIC = {fmt.STAGE_COLUMNS.index(c) for c in ("doc_id", "judgment_code", "justice_kind", "category_code", "status")}


def _normal(text: str) -> list[str]:
    """A staging line's fields, numbers as numbers (`007` and `7` are the same value for COPY)."""
    return [str(int(v)) if n in _NUMERIC and v != "\\N" else v for n, v in enumerate(text.split("\t"))]
