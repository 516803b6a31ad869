"""The corpus importer and `secondlayer import`: good files, bad lines reported by number and skipped,
idempotent re-import, --strict rolling everything back, exit codes, --json, progress, flat memory, and the
bootstrap step that loads the demo corpus into an empty corpus."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from app.corpus.importer import ImportAborted, Progress, corpus_counts, import_file
from app.db import Database
from tests.helpers_server import run_db


def decision(doc_id: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "doc_id": doc_id,
        "case_number": f"910/{doc_id}/23",
        "court": "Господарський суд міста Києва",
        "judge": "Тестова Т.Т.",
        "judgment_form": "Рішення",
        "proceeding_kind": "commercial",
        "category": "поставки товарів",
        "adjudication_date": "2023-05-17",
        "text": f"Рішення {doc_id}: стягнення заборгованості за договором поставки.",
        "demo": True,
    }
    record.update(overrides)
    return record


def write_lines(path: Path, lines: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n")
    return path


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    return run_db(url, lambda db: db.fetch_all(sql))


def import_cli(cli: Any, url: str, *args: str) -> Any:
    return cli("import", *args, env={"DATABASE_URL": url})


def test_good_file_imports_every_line_with_a_summary_and_progress(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "court.jsonl", [decision(n) for n in range(1, 8)])
    result = import_cli(cli, empty_database, "court_decisions", str(path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert (summary["lines"], summary["imported"], summary["inserted"], summary["updated"], summary["skipped"]) == (
        7,
        7,
        7,
        0,
        0,
    )
    assert summary["errors"] == [] and summary["rolled_back"] is False
    assert "100.0%" in result.stderr and "lines/s" in result.stderr and "done in" in result.stderr
    stored = rows(
        empty_database,
        "SELECT doc_id, case_number, proceeding_kind, adjudication_date::text AS d, demo "
        "FROM court_decisions ORDER BY doc_id",
    )
    assert [r["doc_id"] for r in stored] == list(range(1, 8))
    assert stored[0] == {
        "doc_id": 1,
        "case_number": "910/1/23",
        "proceeding_kind": "commercial",
        "d": "2023-05-17",
        "demo": True,
    }

    text = import_cli(cli, empty_database, "court_decisions", str(path))
    assert text.returncode == 0
    summary_line, database_line = text.stdout.strip().splitlines()
    assert re.fullmatch(
        rf"imported 7 court decisions from {re.escape(str(path))} in \d+\.\d s: 0 new, "
        r"7 updated, 0 bad lines skipped",
        summary_line,
    )
    assert database_line.startswith("database: postgresql://")


def test_bad_lines_are_reported_by_number_and_skipped(cli: Any, empty_database: str, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "court.jsonl",
        [
            decision(1),
            "{not json",
            "",  # blank lines are not records
            decision(2, adjudication_date="2023-02-30"),
            decision(3, proceeding_kind="family"),
            json.dumps([1, 2]),
            decision(4, text=None),
            {**decision(5), "doc_id": "abc"},
            decision(6, proceeding_kind="Кримінальне"),  # Ukrainian names are accepted
        ],
    )
    result = import_cli(cli, empty_database, "court_decisions", str(path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["lines"], summary["imported"], summary["skipped"]) == (8, 2, 6)
    errors = {e["line"]: e["error"] for e in summary["errors"]}
    assert set(errors) == {2, 4, 5, 6, 7, 8}
    assert errors[2].startswith("not valid JSON")
    assert errors[4] == "adjudication_date: no such date: '2023-02-30'"
    assert errors[5].startswith("proceeding_kind: one of civil, criminal")
    assert errors[6] == "each line must be a JSON object"
    assert errors[7] == "text: required"
    assert errors[8].startswith("doc_id: must be an integer")
    for line in (2, 4, 5, 6, 7, 8):
        assert f"{path}:{line}: " in result.stderr
    stored = rows(empty_database, "SELECT doc_id, proceeding_kind FROM court_decisions ORDER BY doc_id")
    assert stored == [{"doc_id": 1, "proceeding_kind": "commercial"}, {"doc_id": 6, "proceeding_kind": "criminal"}]


def test_reimport_is_idempotent(cli: Any, empty_database: str, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "court.jsonl", [decision(1), decision(2, court="Київський апеляційний суд")])
    snapshot = "SELECT doc_id, court, search::text AS s, full_text FROM court_decisions ORDER BY 1"
    first = json.loads(import_cli(cli, empty_database, "court_decisions", str(path), "--json").stdout)
    before = rows(empty_database, snapshot)
    second = json.loads(import_cli(cli, empty_database, "court_decisions", str(path), "--json").stdout)
    assert (first["inserted"], first["updated"]) == (2, 0)
    assert (second["inserted"], second["updated"]) == (0, 2)
    assert rows(empty_database, snapshot) == before and len(before) == 2


def test_strict_stops_at_the_first_bad_line_and_rolls_everything_back(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    lines: list[Any] = [decision(n) for n in range(1, 40)] + [decision(40, adjudication_date="вчора")]
    lines += [decision(n) for n in range(41, 50)]
    path = write_lines(tmp_path / "court.jsonl", lines)
    # Small batches: several were written before the bad line, and must be gone.
    result = import_cli(cli, empty_database, "court_decisions", str(path), "--strict", "--batch-size", "5", "--json")
    assert result.returncode == 1
    failure = json.loads(result.stdout)
    assert failure.pop("database")["kind"] == "url"
    assert failure == {
        "ok": False,
        "error": f"{path}:40: adjudication_date: not a date in the form YYYY-MM-DD: 'вчора'; stopped (--strict) "
        "and rolled back, nothing was imported",
    }
    assert result.stderr.strip().splitlines()[-1].startswith(f"secondlayer import: {path}:40: adjudication_date")
    assert rows(empty_database, "SELECT count(*) AS n FROM court_decisions") == [{"n": 0}]

    # Without --strict the same file imports all but the bad line.
    result = import_cli(cli, empty_database, "court_decisions", str(path), "--batch-size", "5", "--json")
    assert json.loads(result.stdout)["imported"] == 48
    assert rows(empty_database, "SELECT count(*) AS n FROM court_decisions") == [{"n": 48}]


def test_cli_usage_and_failures(cli: Any, empty_database: str, tmp_path: Path) -> None:
    unknown = import_cli(cli, empty_database, "judgments", str(tmp_path / "x.jsonl"))
    assert unknown.returncode == 2 and "invalid choice: 'judgments'" in unknown.stderr

    missing = import_cli(cli, empty_database, "court_decisions", str(tmp_path / "missing.jsonl"), "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout) == {"ok": False, "error": f"no such file: {tmp_path / 'missing.jsonl'}"}
    assert missing.stderr.strip() == f"secondlayer import: no such file: {tmp_path / 'missing.jsonl'}"

    all_bad = write_lines(tmp_path / "bad.jsonl", ["nope", "[]"])
    result = import_cli(cli, empty_database, "court_decisions", str(all_bad))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"no line of {all_bad} could be imported (2 bad lines)")

    empty = write_lines(tmp_path / "empty.jsonl", [])
    result = import_cli(cli, empty_database, "court_decisions", str(empty), "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["imported"] == 0

    bad_batch = import_cli(cli, empty_database, "court_decisions", str(empty), "--batch-size", "0")
    assert bad_batch.returncode == 1 and "--batch-size" in bad_batch.stderr


def test_memory_stays_flat_on_a_large_file(empty_database: str, tmp_path: Path) -> None:
    """Peak Python memory is set by the batch, not the file: a 24 MB file imports within a few MB."""
    path = tmp_path / "big.jsonl"
    filler = "Суд встановив обставини справи та дослідив докази. " * 200  # ~10 KB of text per decision
    with path.open("w", encoding="utf-8") as f:
        for n in range(1, 1201):
            f.write(json.dumps(decision(n, text=f"{n} {filler}"), ensure_ascii=False) + "\n")
    size = path.stat().st_size
    assert size > 20_000_000

    async def go(db: Database) -> Any:
        tracemalloc.start()
        try:
            summary = await import_file(db, "court_decisions", path, batch_size=50)
            return summary, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    summary, peak = run_db(empty_database, go)
    assert summary.imported == 1200
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte file"


def test_progress_bar_shows_rate_and_eta() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = Progress("court_decisions", 1000, out)
    progress.last = 0.0  # draw now
    progress.update(250, 10)
    progress.finish(40)
    text = out.getvalue()
    assert text.startswith("\rcourt_decisions [######------------------]  25.0%  10 lines")
    assert "lines/s  ETA 0:00:0" in text
    assert re.search(r"\r.*\[#{24}\] 100\.0%  40 lines  [\d,]+ lines/s  done in 0:00:00\n$", text)


def test_bootstrap_loads_the_demo_corpus_only_into_an_empty_corpus(cli: Any, empty_database: str) -> None:
    env = {"DATABASE_URL": empty_database, "ADMIN_PASSWORD": "a long enough passphrase"}
    first = cli("bootstrap", "--json", env=env)
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["demo_corpus_loaded"] is True
    assert payload["demo_corpus"] == {
        "court_decisions": 39,
        "legislation": 11,
        "deputies": 462,
        "bills": 21,
        "edr": 30,
    }
    counts = run_db(empty_database, corpus_counts)
    assert counts == {"court_decisions": 39, "legislation": 11, "bills": 21}
    assert rows(empty_database, "SELECT count(*) AS n, bool_and(demo) AS all_demo FROM companies") == [
        {"n": 30, "all_demo": True}
    ]
    assert rows(empty_database, "SELECT count(*) AS n, bool_and(demo) AS all_demo FROM bills") == [
        {"n": 21, "all_demo": True}
    ]
    assert rows(empty_database, "SELECT bool_and(demo) AS all_demo FROM court_decisions") == [{"all_demo": True}]

    second = cli("bootstrap", env=env)
    assert second.returncode == 0
    assert "the corpus holds data already; demo corpus not loaded" in second.stdout


def test_strict_import_raises_with_nothing_written(empty_database: str, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [decision(1), decision(2), "oops"])

    async def go(db: Database) -> Any:
        with pytest.raises(ImportAborted) as caught:
            await import_file(db, "court_decisions", path, strict=True, batch_size=1)
        return caught.value, await db.fetch_value("SELECT count(*) FROM court_decisions")

    aborted, count = run_db(empty_database, go)
    assert (aborted.line, count) == (3, 0)
    assert aborted.summary.rolled_back and aborted.summary.imported == 0
