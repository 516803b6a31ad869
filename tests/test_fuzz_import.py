"""Property-based robustness of the corpus importer: generated JSON Lines files mixing valid records with bad
lines (random bytes, truncated JSON, a wrong type in one field, duplicate keys, a BOM, CRLF, invalid UTF-8,
NUL and lone surrogates, nesting bombs, oversized numbers).

Whatever the file: the import never crashes; every bad line is reported by its number and the valid ones, and
only they, are imported; with --strict the corpus is left exactly as it was (row counts and a checksum of every
corpus table). A few files also go through the real CLI, which must exit 0 or 1 without a traceback.
Generation is derandomized, so CI meets the same files on every run.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.corpus.importer import ImportAborted, import_file, load_demo_corpus
from app.db import Database
from app.db.schema import upgrade
from tests.helpers_server import run_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KINDS = ["court_decisions"]

# Generated keys live apart from the demo corpus's, so each example can clear what the last one wrote.
DOC_ID_BASE = 10**12
CLEAR = {
    "court_decisions": f"DELETE FROM court_decisions WHERE doc_id >= {DOC_ID_BASE}",
}
# What to read back per kind: the key, and one text field to check the last valid line won.
READ_BACK = {
    "court_decisions": f"SELECT doc_id AS key, full_text AS value FROM court_decisions WHERE doc_id >= {DOC_ID_BASE}",
}
KEY_FIELD = {"court_decisions": "doc_id"}
VALUE_FIELD = {"court_decisions": "text"}
TABLES = {
    "court_decisions": "doc_id",
}


# ---- valid records -------------------------------------------------------------------------------------------------

# Text a record may hold: any Unicode but NUL and lone surrogates, non-blank once trimmed.
_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=30).filter(
    lambda s: bool(s.strip())
)
_word = st.one_of(_text, st.sampled_from(["Рішення", "суд", "п'ять", "пʼять", "e\u0301", "\u200f", "  пробіли  "]))
_date = st.dates().map(lambda d: d.isoformat())


def valid_record(kind: str, n: int) -> st.SearchStrategy[dict[str, Any]]:
    """A record of `kind` the importer must accept, with key number n; optional fields come and go."""
    if kind == "court_decisions":
        required = {
            "doc_id": st.just(DOC_ID_BASE + n),
            "case_number": _word,
            "court": _word,
            "judgment_form": _word,
            "adjudication_date": _date,
            "text": _word,
            "proceeding_kind": st.sampled_from(
                [
                    "civil",
                    "criminal",
                    "commercial",
                    "administrative",
                    "administrative_offense",
                    "Цивільне",
                    "Господарське",
                ]
            ),
        }
        optional = {
            "judge": _word,
            "category": _word,
            "source_url": st.just(f"https://example.org/{n}"),
            "demo": st.just(False),
            "unknown_field": st.integers(),
        }
    return st.fixed_dictionaries(required, optional=optional)


# ---- bad lines: each definitely refused ----------------------------------------------------------------------------

WRONG: dict[str, dict[str, list[Any]]] = {
    "court_decisions": {
        "doc_id": ["abc", -5, 0, True, 1.5, [], None, 2**63, "1e3", "²", "①"],
        "case_number": [None, "", "   ", 5, "x" * 101, "a\x00b", "\ud800"],
        "court": [None, 7, "x" * 501, ["суд"]],
        "judgment_form": [None, [], {}],
        "proceeding_kind": ["family", None, 3, "civil law"],
        "adjudication_date": ["2023-02-30", "0000-01-01", "2023-1-1", 20230101, None, "вчора", "2023-01-01T00:00"],
        "text": [None, "", 5, {"a": 1}, "a\x00b", "x\udfff"],
        "judge": [5, "x" * 501, "\x00"],
        "source_url": ["ftp://x", "javascript:alert(1)", 5, "http://"],
        "demo": ["yes", 1, None],
    },
}


@dataclass
class Line:
    raw: bytes  # without the line break
    valid: bool | None  # None: decided by position (a BOM is fine on line 1 only)
    key: Any = None
    value: str | None = None


def _dumps(record: Any) -> bytes:
    # ensure_ascii: NUL and lone surrogates travel as \u escapes, the way a JSON encoder writes them.
    return json.dumps(record).encode()


def valid_line(kind: str, n: int) -> st.SearchStrategy[Line]:
    return valid_record(kind, n).map(lambda r: Line(_dumps(r), True, r[KEY_FIELD[kind]], r[VALUE_FIELD[kind]]))


def bad_line(kind: str, n: int) -> st.SearchStrategy[Line]:
    record = valid_record(kind, n)
    fields = list(WRONG[kind])

    def wrong_type(r: dict[str, Any], name: str, index: int) -> Line:
        values = WRONG[kind][name]
        return Line(_dumps({**r, name: values[index % len(values)]}), False)

    def duplicate(r: dict[str, Any], name: str, index: int, bad_last: bool) -> Line:
        # The same key twice in one object: JSON parsers keep the last, so the line is as good as that one.
        values = WRONG[kind][name]
        wrong = json.dumps(values[index % len(values)])
        if name not in r:
            return Line(_dumps({**r, name: values[index % len(values)]}), False)
        good = json.dumps(r[name])
        first, last = (good, wrong) if bad_last else (wrong, good)
        rest = _dumps({k: v for k, v in r.items() if k != name})[:-1].decode()
        text = rest + ("" if rest == "{" else ", ") + f'"{name}": {first}, "{name}": {last}}}'
        return Line(text.encode(), not bad_last, r[KEY_FIELD[kind]], r[VALUE_FIELD[kind]])

    def truncated(r: dict[str, Any], cut: int) -> Line:
        raw = _dumps(r)
        return Line(raw[: 1 + cut % (len(raw) - 1)], False)

    def invalid_utf8(r: dict[str, Any], at: int) -> Line:
        raw = _dumps(r).replace(b'"' + KEY_FIELD[kind].encode() + b'"', b'"\xff' + KEY_FIELD[kind].encode() + b'"')
        return Line(raw[: at % len(raw)] + b"\xc3" + raw[at % len(raw) :] if at % 2 else raw, False)

    def with_bom(r: dict[str, Any]) -> Line:
        return Line(b"\xef\xbb\xbf" + _dumps(r), None, r[KEY_FIELD[kind]], r[VALUE_FIELD[kind]])

    return st.one_of(
        st.builds(wrong_type, record, st.sampled_from(fields), st.integers(0, 20)),
        st.builds(duplicate, record, st.sampled_from(fields), st.integers(0, 20), st.booleans()),
        st.builds(truncated, record, st.integers(0, 10**6)),
        st.builds(invalid_utf8, record, st.integers(0, 10**6)),
        st.builds(with_bom, record),
        st.binary(min_size=1, max_size=40).map(lambda b: Line(b.replace(b"\n", b" "), False)),
        st.sampled_from(
            [
                b"[" * 100000,
                b'{"a":' * 50000,
                b"[]",
                b"null",
                b"42",
                b'"text"',
                b"{}",
                b"{",
                b'{"doc_id": 1' + b"0" * 5000 + b"}",
                b'{"edrpou": 1e999}',
                b"NaN",
                b"\x00",
                b"\xef\xbb\xbf",
                b"\xff\xfe{}",
            ]
        ).map(lambda b: Line(b, False)),
    )


BLANK = [b"", b"   ", b"\t", b"\r"]


@st.composite
def jsonl_file(draw: st.DrawFn, kind: str, *, need_bad: bool = False) -> tuple[bytes, list[Line | None]]:
    """The bytes of a file and, per physical line, its Line (None for a blank one)."""
    count = draw(st.integers(1, 12))
    lines: list[Line | None] = []
    for _ in range(count):
        n = draw(st.integers(0, 5))  # few key numbers, so keys repeat and later lines update earlier ones
        choice = draw(st.sampled_from(["valid", "valid", "bad", "bad", "blank"]))
        if choice == "blank":
            lines.append(None)
        else:
            lines.append(draw(valid_line(kind, n) if choice == "valid" else bad_line(kind, n)))
    if need_bad and not any(line is not None and line.valid is False for line in lines):
        lines.insert(draw(st.integers(0, len(lines))), Line(b"{not json", False))
    endings = [draw(st.sampled_from([b"\n", b"\r\n"])) for _ in lines]
    parts = []
    for index, (line, ending) in enumerate(zip(lines, endings, strict=True)):
        raw = draw(st.sampled_from(BLANK)) if line is None else line.raw
        last = index == len(lines) - 1
        parts.append(raw + (b"" if last and draw(st.booleans()) else ending))
    return b"".join(parts), lines


def expected(lines: list[Line | None]) -> tuple[list[int], dict[Any, str | None], int]:
    """(bad line numbers, key -> value of the last valid line with that key, number of valid lines)."""
    bad: list[int] = []
    kept: dict[Any, str | None] = {}
    valid = 0
    for number, line in enumerate(lines, start=1):
        if line is None or not line.raw.strip():
            continue
        ok = line.valid if line.valid is not None else number == 1
        if ok:
            valid += 1
            kept[line.key] = line.value.strip() if isinstance(line.value, str) else line.value
        else:
            bad.append(number)
    return bad, kept, valid


# ---- the database: a corpus of its own, its checksum ---------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_url(make_database: Any) -> str:
    """A migrated database holding the demo corpus, for this module alone."""
    url = make_database("sl_fuzz_import")
    upgrade(url)
    run_db(url, load_demo_corpus)
    return url


async def snapshot(db: Database) -> dict[str, Any]:
    """Row count and an md5 over every row of every corpus table, in key order."""
    result = {}
    for table, key in TABLES.items():
        row = await db.fetch_one(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), '')) AS sum FROM {table} t"
        )
        assert row is not None
        result[table] = (row["n"], row["sum"])
    return result


def write(data: bytes) -> Path:
    handle, name = tempfile.mkstemp(suffix=".jsonl", prefix="sl-fuzz-")
    with os.fdopen(handle, "wb") as f:
        f.write(data)
    return Path(name)


# ---- the properties ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_non_strict_imports_exactly_the_valid_lines(corpus_url: str, kind: str, data: st.DataObject) -> None:
    content, lines = data.draw(jsonl_file(kind), label="file")
    batch_size = data.draw(st.integers(1, 6), label="batch_size")
    bad, kept, valid = expected(lines)
    path = write(content)

    async def go(db: Database) -> Any:
        await db.execute(CLEAR[kind])
        summary = await import_file(db, kind, path, batch_size=batch_size)
        return summary, await db.fetch_all(READ_BACK[kind])

    try:
        summary, stored = run_db(corpus_url, go)
    finally:
        path.unlink()
    assert sorted(e["line"] for e in summary.errors) == bad, summary.errors
    assert all(e["error"] for e in summary.errors)
    assert (summary.imported, summary.skipped) == (valid, len(bad))
    assert {r["key"]: r["value"] for r in stored} == kept


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=max(EXAMPLES // 2, 5))
@given(data=st.data())
def test_strict_leaves_the_corpus_exactly_as_it_was(corpus_url: str, kind: str, data: st.DataObject) -> None:
    content, lines = data.draw(jsonl_file(kind, need_bad=True), label="file")
    batch_size = data.draw(st.integers(1, 6), label="batch_size")
    bad, _, _ = expected(lines)
    path = write(content)

    async def go(db: Database) -> Any:
        before = await snapshot(db)
        with pytest.raises(ImportAborted) as caught:
            await import_file(db, kind, path, strict=True, batch_size=batch_size)
        return before, caught.value, await snapshot(db)

    try:
        before, aborted, after = run_db(corpus_url, go)
    finally:
        path.unlink()
    assert after == before
    assert aborted.line == bad[0] and aborted.summary.rolled_back and aborted.summary.imported == 0


@settings(
    FUZZ,
    max_examples=max(EXAMPLES // 3, 4),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)  # `cli` only runs a command
@given(data=st.data())
def test_the_cli_reports_bad_lines_and_never_crashes(cli: Any, corpus_url: str, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    strict = data.draw(st.booleans(), label="strict")
    content, lines = data.draw(jsonl_file(kind), label="file")
    bad, _, valid = expected(lines)
    path = write(content)
    try:
        before = run_db(corpus_url, snapshot)
        result = cli(
            "import",
            kind,
            str(path),
            *(["--strict"] if strict else []),
            "--batch-size",
            "3",
            env={"DATABASE_URL": corpus_url},
        )
        after = run_db(corpus_url, snapshot)
    finally:
        path.unlink()
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode in (0, 1), result.stderr[-2000:]
    if strict and bad:
        assert result.returncode == 1 and after == before
        assert result.stderr.strip().splitlines()[-1].startswith(f"secondlayer import: {path}:{bad[0]}: ")
        return
    for number in bad:
        assert f"{path}:{number}: " in result.stderr
    assert result.returncode == (1 if bad and not valid else 0), result.stderr[-2000:]
