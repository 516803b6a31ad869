"""Provenance of official-data imports: every run recorded (succeeded, failed, rolled back), what it changed and
its bad rows; the `sources` tool and the console's Data page that show it; the single runner of scheduled syncs."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.corpus.provenance import (
    DATASETS,
    MAX_PROBLEMS_KEPT,
    dataset_summaries,
    import_run,
    last_import,
    record_count,
)
from app.corpus.sync import SyncSpec, lock_key, run_sync
from app.db import Database
from app.db.tables import data_imports
from tests.helpers_server import run_db


def test_a_successful_import_is_recorded_with_its_counts_and_bad_rows(empty_database: str) -> None:
    async def go(db: Database) -> dict[str, Any]:
        async with import_run(db, "rada-deputies", "/data/mps-data.json", actor="cli", published="2026-11-01") as run:
            run.added, run.updated, run.unchanged = 3, 2, 1
            for n in range(MAX_PROBLEMS_KEPT + 5):
                run.problem(f"line {n + 2}", "wrong number of fields: 11, expected 12")
            run.note("convocation", 9)
        row = await last_import(db, "rada-deputies")
        assert row is not None
        return row

    row = run_db(empty_database, go)
    assert row["status"] == "succeeded" and row["actor"] == "cli" and row["published"] == "2026-11-01"
    assert (row["added"], row["updated"], row["unchanged"], row["bad"]) == (3, 2, 1, MAX_PROBLEMS_KEPT + 5)
    assert len(row["problems"]) == MAX_PROBLEMS_KEPT
    assert row["problems"][0] == {"where": "line 2", "reason": "wrong number of fields: 11, expected 12"}
    assert row["details"] == {"convocation": 9} and row["finished_at"] is not None and row["seconds"] >= 0


def test_a_failed_import_is_recorded_and_its_error_propagates(empty_database: str) -> None:
    async def go(db: Database) -> list[dict[str, Any]]:
        with pytest.raises(ValueError, match="truncated archive"):
            async with import_run(db, "edrsr", "edrsr_data_2020.zip", actor="cli"):
                raise ValueError("truncated archive: documents.csv ends inside a quoted field")
        with pytest.raises(RuntimeError):
            async with import_run(db, "edr", "uo.zip", actor="cli") as run:
                run.problem("element 7", "EDRPOU 12345678 fails its check digit")
                run.failure_status = "rolled_back"
                raise RuntimeError("--strict: element 7")
        assert await last_import(db, "edrsr") is None  # no successful one
        return await db.fetch_all(sa.select(data_imports).order_by(data_imports.c.id))

    failed, rolled = run_db(empty_database, go)
    assert failed["status"] == "failed" and failed["error"].startswith("truncated archive")
    assert rolled["status"] == "rolled_back" and rolled["bad"] == 1 and rolled["error"] == "--strict: element 7"


def test_an_unknown_dataset_is_refused(empty_database: str) -> None:
    async def go(db: Database) -> None:
        with pytest.raises(ValueError, match="unknown dataset 'courts'"):
            async with import_run(db, "courts", "x", actor="cli"):
                pass

    run_db(empty_database, go)


def test_summaries_count_records_and_show_the_last_import_and_attempt(empty_database: str) -> None:
    async def go(db: Database) -> tuple[list[dict[str, Any]], int | None, int | None]:
        async with import_run(db, "rada-bills", "https://data.rada.gov.ua/ogd/zpr/skl9/", actor="schedule") as run:
            run.added = 7
        with pytest.raises(OSError):
            async with import_run(db, "rada-bills", "https://data.rada.gov.ua/ogd/zpr/skl9/", actor="schedule"):
                raise OSError("connection reset")
        return await dataset_summaries(db), await record_count(db, "no_such_table"), await record_count(db, "users")

    summaries, missing, users = run_db(empty_database, go)
    assert [s["dataset"] for s in summaries] == list(DATASETS)
    bills = next(s for s in summaries if s["dataset"] == "rada-bills")
    assert bills["last_import"]["added"] == 7 and bills["last_import"]["source"].endswith("/skl9/")
    assert bills["last_attempt"]["status"] == "failed" and bills["last_attempt"]["error"] == "connection reset"
    assert missing is None and users == 0


def test_the_sources_tool_answers_over_rest(api: Any) -> None:
    r = api.post("/api/tools/sources", json={})
    assert r.status_code == 200, r.text
    names = [d["dataset"] for d in r.json()["datasets"]]
    assert names == list(DATASETS)
    assert all(d["publisher_url"].startswith("https://") for d in r.json()["datasets"])
    assert api.post("/api/tools/sources", json={"x": 1}).status_code == 422


def test_the_data_page_lists_datasets_and_imports(admin: Any, dbrun: Any) -> None:
    async def seed(db: Database) -> None:
        with pytest.raises(ValueError):
            async with import_run(db, "edr", "/srv/dumps/UO_FULL_out.xml", actor="cli") as run:
                run.problem("element 12", "unknown status word «ліквідовано?»")
                raise ValueError("the XML ends inside <SUBJECT> (element 13)")

    dbrun(seed)
    page = admin.get("/admin/data")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", "", page.text.replace("<wbr>", ""))
    assert "/srv/dumps/UO_FULL_out.xml" in text and "the XML ends inside" in text
    assert "element 12: unknown status word «ліквідовано?»" in text
    assert all(name in text for name in DATASETS)
    assert 'href="/admin/data" aria-current="page"' in page.text


def test_a_sync_runs_in_one_process_at_a_time(empty_database: str) -> None:
    async def go(db: Database) -> list[dict[str, Any]]:
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow_import(db: Database, settings: Any, url: str, progress: Any) -> dict[str, Any]:
            entered.set()
            await release.wait()
            return {"url": url}

        spec = SyncSpec("rada-deputies", "sync_cron", "sync_url", slow_import)

        class Config:
            sync_cron = "0 4 * * *"
            sync_url = "https://data.rada.gov.ua/ogd/mps/skl9/mps-data.json"

        first = asyncio.create_task(run_sync(db, Config(), spec))  # type: ignore[arg-type]
        await entered.wait()
        second = await run_sync(db, Config(), spec)  # type: ignore[arg-type]
        release.set()
        return [await first, second]

    first, second = run_db(empty_database, go)
    assert first == {
        "dataset": "rada-deputies",
        "status": "ok",
        "url": "https://data.rada.gov.ua/ogd/mps/skl9/mps-data.json",
    }
    assert second == {"dataset": "rada-deputies", "status": "skipped"}
    assert lock_key("edrsr") != lock_key("edr")
