"""Property-based robustness of the court register's reader: generated documents.csv files mixing good rows with
bad ones (random bytes, a field too many or too few, broken quotes, invalid UTF-8, NUL, impossible dates, huge
numbers) and random "text files". Whatever the input, reading never raises anything but FormatError for the file
as a whole, every row is either a Document or a reason, and each good row comes back as written. Generation is
derandomized, so CI meets the same inputs on every run."""

from __future__ import annotations

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
