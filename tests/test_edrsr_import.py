"""`secondlayer import edrsr` and `import edrsr-texts` on publications in the official format: an archive, a
directory and a URL (a local HTTP server); idempotent re-import and doc_url backfill; bad rows named by line and
skipped, or nothing imported with --strict; a truncated archive refused with the previous data intact; texts
from a mirror converted from windows-1251 RTF; provenance recorded; an import that fails or is killed mid-way
resumed after its last committed batch by a run of the same file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa

from tests.helpers_corpus import call
from tests.helpers_edrsr import TEXT_HOST, document, documents_csv, rtf, write_publication, zip_publication
from tests.helpers_server import run_db


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    return run_db(url, lambda db: db.fetch_all(sql))


def edrsr(cli: Any, url: str, *args: str) -> Any:
    return cli("import", "edrsr", *args, "--json", env={"DATABASE_URL": url})


def publication(tmp_path: Path, name: str, docs: list[dict[str, Any]], **kw: Any) -> Path:
    directory = write_publication(tmp_path / name, docs, **kw)
    return zip_publication(directory, tmp_path / f"{name}.zip")


def test_an_archive_loads_dictionaries_and_documents_as_published(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    docs = [document(n) for n in range(1, 6)] + [
        document(6, court_code="0713", adjudication_date=dt.date(2019, 12, 24))
    ]
    result = edrsr(cli, empty_database, str(publication(tmp_path, "y2023", docs)))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["added"], summary["updated"], summary["unchanged"], summary["bad"]) == (
        6,
        6,
        0,
        0,
        0,
    )
    assert summary["years"] == [2019, 2023] and summary["dictionaries"]["edrsr_courts"] == 4
    [row] = rows(
        empty_database,
        "SELECT court_code, adjudication_date, tableoid::regclass::text AS part FROM court_decisions WHERE doc_id = 6",
    )
    assert row["court_code"] == "0713" and row["adjudication_date"] == dt.date(2019, 12, 24)
    assert row["part"] == "court_decisions_y2019"
    [run] = rows(empty_database, "SELECT dataset, status, added, updated, unchanged, bad FROM data_imports")
    assert run == {"dataset": "edrsr", "status": "succeeded", "added": 6, "updated": 0, "unchanged": 0, "bad": 0}


def test_reimport_changes_nothing_and_a_later_publication_backfills(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    first = [document(1, doc_url=None), document(2), document(3)]
    path = publication(tmp_path, "first", first)
    assert edrsr(cli, empty_database, str(path)).returncode == 0
    again = json.loads(edrsr(cli, empty_database, str(path)).stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)
    # The republication fills doc 1's URL, moves doc 3 to another year, and drops doc 2's URL (which stays known).
    later = [document(1), document(2, doc_url=None), document(3, adjudication_date=dt.date(2024, 1, 9)), document(4)]
    summary = json.loads(edrsr(cli, empty_database, str(publication(tmp_path, "later", later))).stdout)
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (1, 2, 1)
    found = {
        r["doc_id"]: r for r in rows(empty_database, "SELECT doc_id, doc_url, adjudication_date FROM court_decisions")
    }
    assert sorted(found) == [1, 2, 3, 4]
    assert found[1]["doc_url"] and found[2]["doc_url"] == document(2)["doc_url"]
    assert found[3]["adjudication_date"] == dt.date(2024, 1, 9)


def test_bad_rows_are_reported_by_line_and_the_rest_imported(cli: Any, empty_database: str, tmp_path: Path) -> None:
    good = documents_csv([document(n) for n in range(1, 5)]).encode()
    header, *lines = good.splitlines()
    lines[1] = lines[1].replace(b'"910"', b'"9999"')
    lines[2] = lines[2].replace(b'"2023-07-12 00:00:00+03"', b'"0000-00-00 00:00:00+02"')
    lines[3] = lines[3].replace("Довжанин".encode(), "Довжанин".encode("cp1251"))
    raw = b"\n".join([header, *lines, b'5\t"910"\t3']) + b"\n"
    result = edrsr(cli, empty_database, str(publication(tmp_path, "bad", [], raw_documents=raw)))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["added"] == 1 and summary["bad"] == 4
    assert "documents.csv:3: court_code: unknown court code '9999' (not in courts.csv)" in result.stderr
    assert "documents.csv:4: adjudication_date: impossible date" in result.stderr
    assert "documents.csv:5: judge: not UTF-8 text (wrong encoding)" in result.stderr
    assert "documents.csv:6: has 3 fields, the header has 12" in result.stderr
    assert "Traceback" not in result.stderr
    [run] = rows(empty_database, "SELECT bad FROM data_imports")
    assert run["bad"] == 4


def test_strict_imports_nothing_and_keeps_the_previous_data(cli: Any, empty_database: str, tmp_path: Path) -> None:
    assert edrsr(cli, empty_database, str(publication(tmp_path, "ok", [document(1)]))).returncode == 0
    bad = [document(1, judge="Інший І. І."), document(2), document(3, court_code="9999")]
    result = edrsr(cli, empty_database, "--strict", str(publication(tmp_path, "strict", bad)))
    assert result.returncode == 1
    assert "documents.csv line 4: court_code: unknown court code '9999'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert rows(empty_database, "SELECT doc_id, judge FROM court_decisions") == [
        {"doc_id": 1, "judge": "Довжанин М. М."}
    ]
    statuses = [r["status"] for r in rows(empty_database, "SELECT status FROM data_imports ORDER BY id")]
    assert statuses[0] == "succeeded" and statuses[-1] != "succeeded"


def test_a_truncated_archive_is_refused_and_the_data_stay(cli: Any, empty_database: str, tmp_path: Path) -> None:
    assert edrsr(cli, empty_database, str(publication(tmp_path, "ok", [document(1)]))).returncode == 0
    whole = publication(tmp_path, "big", [document(n) for n in range(1, 400)]).read_bytes()
    truncated = tmp_path / "edrsr_data_2023.zip"
    truncated.write_bytes(whole[: len(whole) // 2])
    result = edrsr(cli, empty_database, str(truncated))
    assert result.returncode == 1 and "truncated or damaged" in result.stderr and "Traceback" not in result.stderr
    assert [r["doc_id"] for r in rows(empty_database, "SELECT doc_id FROM court_decisions")] == [1]
    missing = edrsr(cli, empty_database, str(tmp_path / "nowhere.zip"))
    assert missing.returncode == 1 and "no such file or directory" in missing.stderr


def test_a_directory_and_texts_from_a_mirror(cli: Any, empty_database: str, tmp_path: Path) -> None:
    docs = [document(1), document(2), document(3, doc_url=None)]
    directory = write_publication(tmp_path / "dir", docs)
    mirror = tmp_path / "mirror"
    relpath = document(1)["doc_url"].removeprefix(TEXT_HOST + "/")
    (mirror / relpath).parent.mkdir(parents=True)
    (mirror / relpath).write_bytes(rtf("РІШЕННЯ\nстягнення пені за прострочення оплати"))
    result = edrsr(cli, empty_database, str(directory), "--texts", str(mirror))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["texts"] == {"loaded": 1, "missing": 1, "failed": 0}
    found = call(empty_database, "search_court_cases", {"query": "пеня прострочення"})["results"]
    assert [r["doc_id"] for r in found] == [1] and found[0]["has_text"] is True
    # Without its text, a decision is still found by its metadata (the judge, the case number).
    by_meta = call(empty_database, "search_court_cases", {"query": "Довжанин", "limit": 50})["results"]
    assert {r["doc_id"] for r in by_meta} == {1, 2, 3}
    decision = call(empty_database, "get_court_decision", {"doc_id": 3})
    assert decision["text"] == "" and decision["text_status"].startswith("not published yet")


def test_a_url_source_and_texts_fetched_later(cli: Any, empty_database: str, tmp_path: Path, publisher: Any) -> None:
    archive = publisher.root / "data" / "edrsr_data_2023.zip"
    archive.parent.mkdir()
    archive.write_bytes(publication(tmp_path, "web", [document(1), document(2)]).read_bytes())
    result = edrsr(cli, empty_database, publisher.url("data/edrsr_data_2023.zip"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 2
    # The same publication again: the publisher answers 304 to its ETag, and nothing is read.
    again = json.loads(edrsr(cli, empty_database, publisher.url("data/edrsr_data_2023.zip")).stdout)
    assert again["skipped"] is True and "If-None-Match" in publisher.requests[-1][1]
    statuses = [r["status"] for r in rows(empty_database, "SELECT status FROM data_imports ORDER BY id")]
    assert statuses == ["succeeded", "unchanged"]

    html = '<html><head><meta charset="windows-1251"></head><body><p>ПОСТАНОВА про оренду</p></body></html>'
    text_file = publisher.root / document(2)["doc_url"].removeprefix(TEXT_HOST + "/")
    text_file.parent.mkdir(parents=True)
    text_file.write_bytes(html.encode("cp1251"))

    def texts(*args: str) -> dict[str, Any]:
        out = cli(
            "import", "edrsr-texts", "--texts", publisher.url(), *args, "--json", env={"DATABASE_URL": empty_database}
        )
        assert out.returncode == 0, out.stderr
        return {k: v for k, v in json.loads(out.stdout).items() if k in ("loaded", "missing", "failed")}

    assert texts("--limit", "5") == {"loaded": 1, "missing": 1, "failed": 0}
    [row] = rows(empty_database, "SELECT text, format FROM court_decision_texts WHERE doc_id = 2")
    assert row == {"text": "ПОСТАНОВА про оренду", "format": "html"}
    # Resumable: what was loaded, or found missing, is not fetched again.
    assert texts() == {"loaded": 0, "missing": 0, "failed": 0}
    assert texts("--retry-failed") == {"loaded": 0, "missing": 1, "failed": 0}


def test_the_sync_finds_this_years_archive_through_the_catalogue(
    empty_database: str, tmp_path: Path, publisher: Any
) -> None:
    from app.config import load_settings
    from app.corpus.download import DownloadError
    from app.corpus.edrsr.commands import current_archive_url, sync_edrsr

    year = _kyiv_year()
    # data.gov.ua gives each year's archive a dataset and a resource id of its own; its search API lists them.
    for published in (year - 1, year):
        archive = publisher.root / f"dataset/d{published}/resource/r{published}/download/edrsr_data_{published}.zip"
        archive.parent.mkdir(parents=True)
        docs = [document(published * 10 + n) for n in range(1, 3 if published == year else 5)]
        archive.write_bytes(publication(tmp_path, f"p{published}", docs).read_bytes())
    search = publisher.root / "api/3/action/package_search"
    search.parent.mkdir(parents=True)
    packages = [
        {
            "title": f"Єдиний державний реєстр судових рішень {published}",
            "resources": [
                {"url": publisher.url(f"dataset/d{published}/resource/r{published}/readme_{published}.pdf")},
                {
                    "url": publisher.url(
                        f"dataset/d{published}/resource/r{published}/download/edrsr_data_{published}.zip"
                    )
                },
            ],
        }
        for published in (year - 1, year)
    ]
    search.write_text(json.dumps({"success": True, "result": {"count": 2, "results": packages}}))
    api = publisher.url("api/3/action/package_search?q=x&rows=50")
    settings = load_settings({"DATABASE_URL": empty_database, "SECONDLAYER_DATA_DIR": str(tmp_path / "data")})
    result = run_db(empty_database, lambda db: sync_edrsr(db, settings, api, None))
    assert result["source"].endswith(f"/download/edrsr_data_{year}.zip") and result["added"] == 2
    assert {r["n"] for r in rows(empty_database, "SELECT count(*) AS n FROM court_decisions")} == {2}
    # A direct archive URL is used as it is; a catalogue without this year's archive says so.
    direct = publisher.url(f"dataset/d{year}/resource/r{year}/download/edrsr_data_{year}.zip")
    assert run_db(empty_database, lambda db: current_archive_url(direct, dt.date(year, 6, 1))) == direct
    with pytest.raises(DownloadError, match=f"lists no edrsr_data_{year + 1}.zip"):
        run_db(empty_database, lambda db: current_archive_url(api, dt.date(year + 1, 1, 2)))
    search.write_text("<html>not the API</html>")
    with pytest.raises(DownloadError, match="did not answer JSON"):
        run_db(empty_database, lambda db: current_archive_url(api, dt.date(year, 6, 1)))


def _kyiv_year() -> int:
    from app.corpus.laws.formats import today

    return today().year


def _execute(url: str, sql: str) -> None:
    run_db(url, lambda db: db.execute(sa.text(sql)))


def _two_years(first: int, last: int) -> list[dict[str, Any]]:
    """Documents first..last: every tenth in 2022 (a year already loaded), the rest in 2023 (a new year)."""
    return [
        document(n, adjudication_date=dt.date(2022 if n % 10 == 0 else 2023, n % 12 + 1, n % 28 + 1))
        for n in range(first, last + 1)
    ]


def test_a_failed_import_resumes_after_its_last_batch(cli: Any, empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    assert (
        edrsr(
            cli,
            url,
            str(
                publication(tmp_path, "y2022", [document(n, adjudication_date=dt.date(2022, 3, 1)) for n in (1, 2, 3)])
            ),
        ).returncode
        == 0
    )
    # The database refuses the batch holding doc 450 (rows 301-400 of 600, in batches of 100): a real refusal,
    # as a full disk or a lost connection would be.
    _execute(url, "ALTER TABLE court_decisions_y2022 ADD CONSTRAINT refuse_450 CHECK (doc_id <> 450) NOT VALID")
    path = publication(tmp_path, "big", _two_years(101, 700))
    failed = edrsr(cli, url, str(path), "--batch-size", "100")
    assert failed.returncode == 1 and "the database refused a batch" in failed.stderr
    assert "resumes" in failed.stderr and "Traceback" not in failed.stderr
    [run] = rows(
        url, "SELECT status, details -> 'checkpoint' -> 'line' AS line FROM data_imports ORDER BY id DESC LIMIT 1"
    )
    assert run == {"status": "failed", "line": 301}
    # The previous data stay queryable, with the merged batches' rows of the year already loaded; the new year
    # is loaded apart and shows only when the import completes.
    visible = [r["doc_id"] for r in rows(url, "SELECT doc_id FROM court_decisions ORDER BY doc_id")]
    assert visible == [1, 2, 3, *range(110, 401, 10)]
    assert rows(url, "SELECT count(*) AS n FROM court_decisions_load_y2023") == [{"n": 270}]

    _execute(url, "ALTER TABLE court_decisions_y2022 DROP CONSTRAINT refuse_450")
    resumed = edrsr(cli, url, str(path), "--batch-size", "100")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_after_line"] == 301
    assert (summary["rows"], summary["added"], summary["updated"], summary["unchanged"]) == (300, 300, 0, 0)
    [count] = rows(url, "SELECT count(*) AS n, count(DISTINCT doc_id) AS ids FROM court_decisions")
    assert count == {"n": 603, "ids": 603}
    parts = rows(
        url,
        "SELECT tablename, count(*) AS indexes FROM pg_indexes WHERE starts_with(tablename, 'court_decisions_y') "
        "GROUP BY tablename ORDER BY tablename",
    )
    assert [p["tablename"] for p in parts] == ["court_decisions_y2022", "court_decisions_y2023"]
    assert parts[0]["indexes"] == parts[1]["indexes"]  # the loaded year got every index when it was attached
    assert rows(url, "SELECT to_regclass('court_decisions_load_y2023') IS NULL AS gone") == [{"gone": True}]
    found = call(url, "search_court_cases", {"query": "Довжанин", "date_from": "2023-01-01", "limit": 5})
    assert found["results"] and all(r["adjudication_date"].startswith("2023") for r in found["results"])

    # Done: the same file again is compared with what is stored, not resumed.
    again = json.loads(edrsr(cli, url, str(path), "--batch-size", "100").stdout)
    assert "resumed_after_line" not in again and (again["added"], again["unchanged"]) == (0, 600)


_ATTACHED_INDEXES = """
    SELECT c.relname AS partition, count(*) AS indexes,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_inherits h JOIN pg_index p ON p.indexrelid = h.inhparent
                                          WHERE h.inhrelid = i.indexrelid
                                            AND p.indrelid = 'court_decisions'::regclass)) AS attached,
           (SELECT count(*) FROM pg_index WHERE indrelid = 'court_decisions'::regclass) AS partitioned
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE starts_with(c.relname, 'court_decisions_y') GROUP BY c.relname ORDER BY c.relname
"""


def test_a_run_killed_among_the_index_builds_resumes_with_the_ones_built(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    url = empty_database
    first = publication(tmp_path, "y2022", [document(1, adjudication_date=dt.date(2022, 3, 1))])
    assert edrsr(cli, url, str(first)).returncode == 0
    _execute(url, "ALTER TABLE court_decisions_y2022 ADD CONSTRAINT refuse_250 CHECK (doc_id <> 250) NOT VALID")
    path = publication(tmp_path, "big", _two_years(101, 300))
    assert edrsr(cli, url, str(path), "--batch-size", "100").returncode == 1
    _execute(url, "ALTER TABLE court_decisions_y2022 DROP CONSTRAINT refuse_250")
    # As a run killed after the first of the loaded year's index builds leaves it (each build commits alone).
    _execute(
        url,
        "CREATE INDEX court_decisions_load_y2023_words ON court_decisions_load_y2023 "
        "USING gin ((coalesce(search, ''::tsvector) || coalesce(text_search, ''::tsvector)))",
    )
    resumed = edrsr(cli, url, str(path), "--batch-size", "100")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_after_line"] == 101
    # Every index of every partition is its partition's copy of one index of court_decisions: the loaded year's
    # were built beside it (the one already there kept) and adopted by ATTACH, none built twice, none missing.
    parts = rows(url, _ATTACHED_INDEXES)
    assert [p["partition"] for p in parts] == ["court_decisions_y2022", "court_decisions_y2023"]
    assert all(p["indexes"] == p["attached"] == p["partitioned"] for p in parts), parts
    names = {
        r["indexname"] for r in rows(url, "SELECT indexname FROM pg_indexes WHERE tablename = 'court_decisions_y2023'")
    }
    assert "court_decisions_y2023_words" in names and not any("load" in n for n in names)
    found = call(url, "search_court_cases", {"query": "Довжанин", "date_from": "2023-01-01", "limit": 5})
    assert found["results"] and all(r["adjudication_date"].startswith("2023") for r in found["results"])


def test_an_index_build_refused_is_reported_and_a_run_of_the_same_file_finishes(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    url = empty_database
    # A unique index the loaded year breaks (two decisions of one case on one day): its build is refused.
    _execute(url, "CREATE UNIQUE INDEX refuse_twins ON court_decisions (cause_num, adjudication_date)")
    docs = [document(n, cause_num="910/1/23", adjudication_date=dt.date(2023, 5, 1)) for n in (1, 2)]
    path = publication(tmp_path, "twins", [*docs, document(3)])
    failed = edrsr(cli, url, str(path))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "refused to index or attach the years loaded apart" in failed.stderr and "refuse_twins" in failed.stderr
    assert rows(url, "SELECT count(*) AS n FROM court_decisions") == [{"n": 0}]  # nothing half-attached shows
    _execute(url, "DROP INDEX refuse_twins")
    finished = edrsr(cli, url, str(path))
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["resumed_after_line"] == 4  # the last line (the header is line 1)
    assert [r["doc_id"] for r in rows(url, "SELECT doc_id FROM court_decisions ORDER BY doc_id")] == [1, 2, 3]
    parts = rows(url, _ATTACHED_INDEXES)
    assert all(p["indexes"] == p["attached"] == p["partitioned"] for p in parts), parts


def test_another_file_after_a_failed_import_starts_afresh(cli: Any, empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    assert (
        edrsr(
            cli, url, str(publication(tmp_path, "y2022", [document(1, adjudication_date=dt.date(2022, 3, 1))]))
        ).returncode
        == 0
    )
    _execute(url, "ALTER TABLE court_decisions_y2022 ADD CONSTRAINT refuse_250 CHECK (doc_id <> 250) NOT VALID")
    assert (
        edrsr(cli, url, str(publication(tmp_path, "big", _two_years(101, 400))), "--batch-size", "100").returncode == 1
    )
    _execute(url, "ALTER TABLE court_decisions_y2022 DROP CONSTRAINT refuse_250")
    other = edrsr(cli, url, str(publication(tmp_path, "other", _two_years(1001, 1010))), "--batch-size", "100")
    assert other.returncode == 0, other.stderr
    summary = json.loads(other.stdout)
    assert "resumed_after_line" not in summary and summary["added"] == 10
    # What the abandoned run had loaded apart is gone; what it had merged into 2022 stays (it was committed).
    ids = {r["doc_id"] for r in rows(url, "SELECT doc_id FROM court_decisions")}
    assert ids == {1, *range(110, 201, 10), *range(1001, 1011)}


def test_a_killed_import_resumes_after_its_last_committed_batch(
    cli: Any, empty_database: str, data_dir: Path, tmp_path: Path
) -> None:
    url = empty_database
    first = publication(tmp_path, "y2022", [document(1, adjudication_date=dt.date(2022, 3, 1))])
    assert edrsr(cli, url, str(first)).returncode == 0
    # The first batch is all 2023 (loaded apart); the second writes into 2022, which the test holds locked, so the
    # import is killed while it waits there, its first batch committed and its second not.
    docs = [document(n, adjudication_date=dt.date(2023, 5, 1)) for n in range(101, 201)] + _two_years(201, 400)
    path = publication(tmp_path, "big", docs)
    holder = psycopg2.connect(url)
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLE court_decisions_y2022 IN SHARE MODE")
            importer = subprocess.Popen(
                [sys.executable, "-m", "app", "import", "edrsr", str(path), "--batch-size", "100", "--json"],
                env={**os.environ, "DATABASE_URL": url, "SECONDLAYER_DATA_DIR": str(data_dir)},
                cwd=Path(__file__).resolve().parent.parent,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                backend = _waiting_backend(cur)
                [run] = rows(url, "SELECT status, details -> 'checkpoint' -> 'line' AS line FROM data_imports "
                                  "ORDER BY id DESC LIMIT 1")  # fmt: skip
                assert run == {"status": "running", "line": 101}
            finally:
                importer.kill()
                importer.wait(timeout=30)
        holder.rollback()
        holder.autocommit = True  # pg_stat_activity is read afresh by each statement, not once per transaction
        with holder.cursor() as cur:
            _gone(cur, backend)  # the killed client's session ends, its open batch rolled back
    finally:
        holder.close()
    assert [r["doc_id"] for r in rows(url, "SELECT doc_id FROM court_decisions")] == [1]
    resumed = edrsr(cli, url, str(path), "--batch-size", "100")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_after_line"] == 101 and (summary["rows"], summary["added"]) == (200, 200)
    [count] = rows(url, "SELECT count(*) AS n, count(DISTINCT doc_id) AS ids FROM court_decisions")
    assert count == {"n": 301, "ids": 301}


def _waiting_backend(cur: Any) -> int:
    """The pid of the session waiting for a lock (the importer's), once it waits."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cur.execute("SELECT pid FROM pg_locks WHERE NOT granted LIMIT 1")
        found = cur.fetchone()
        if found:
            return int(found[0])
        time.sleep(0.05)
    raise AssertionError("the import never reached its second batch")


def _gone(cur: Any, pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        if (cur.fetchone() or (0,))[0] == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"the killed import's session {pid} did not end")
