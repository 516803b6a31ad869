"""Benchmark the court register: import speed beside a raw COPY of the same file, memory while importing, and
the tools' latency at scale (full-text search with and without filters, a case's chain, court_statistics).

    make bench-edrsr     # or: .venv/bin/python scripts/bench_edrsr.py [--import-rows N] [--scale M] [--rounds R]

Uses DATABASE_URL when set, else the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench (./var/bench).
The data are generated in the official format by scripts/gen_edrsr.py and imported through the real importer;
the texts of the scale corpus are COPYed into court_decision_texts (their RTF conversion is not timed here).
Every query goes through the real tool (ToolRegistry.call) on an aiopg pool, as the server runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2
from gen_corpus import bench_database
from gen_edrsr import load_generated, write

from app.config import load_settings
from app.corpus.edrsr import format as fmt
from app.corpus.edrsr import store
from app.corpus.edrsr.importer import DATASET, Loaded, load_archive_async
from app.corpus.provenance import import_run
from app.db import Database
from app.tools.registry import ToolContext, default_registry

SEARCHES: list[dict[str, Any]] = [
    {"query": "стягнення заборгованості за договором поставки"},
    {"query": "поновлення на роботі"},
    {"query": "аліменти на утримання дитини"},
    {"query": "банкрутство мораторій"},
    {"query": "шахрайство обман"},
    {"query": "перерахунок пенсії"},
    {"query": "суд"},
    {"query": '"договір підряду"'},
]
FILTERED: list[dict[str, Any]] = [
    {"query": "заборгованості", "justice_kind": "commercial", "date_from": "2023-01-01", "date_to": "2023-12-31"},
    {"query": "суд", "instance": "appeal", "date_from": "2022-01-01", "date_to": "2022-06-30"},
    {"query": "позов", "supreme_court": True},
    {"query": "пенсії", "region": "Область 3"},
    {"query": "суд", "court": "Районний суд 15"},
    {"query": "договір", "judgment_form": "Рішення", "sort": "date"},
]


ROWS_PER_MB = 5650  # rows of gen_edrsr's documents.csv in a megabyte (177 bytes a row)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def _sql(url: str, statement: str, *, autocommit: bool = True) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    conn.autocommit = autocommit
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _peak_rss() -> int:
    """The process's largest resident size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss() -> int:
    """The process's resident size now, in bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return _peak_rss()


def raw_copy(url: str, documents: Path) -> float:
    """Seconds to COPY documents.csv into an unindexed table of text columns: the physical limit."""
    _sql(url, "DROP TABLE IF EXISTS bench_raw_copy")
    _sql(url, "CREATE TABLE bench_raw_copy (" + ", ".join(f"c{i} text" for i in range(12)) + ")")
    conn = psycopg2.connect(url)
    started = time.perf_counter()
    with conn.cursor() as cur, documents.open("r", encoding="utf-8") as stream:
        cur.copy_expert("COPY bench_raw_copy FROM STDIN (FORMAT csv, DELIMITER E'\\t', HEADER true)", stream)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    _sql(url, "DROP TABLE bench_raw_copy")
    return seconds


def parse_alone(directory: Path) -> float:
    """Seconds to read and check documents.csv as the importer does (format.read_batches), with no database:
    the most this importer's design can reach, whatever the database does."""
    started = time.perf_counter()
    with fmt.Archive(directory) as archive:
        with archive.open("courts.csv") as stream:
            courts = set(fmt.read_dictionary(stream, "courts.csv").rows)
        with archive.open(fmt.DOCUMENTS) as stream:
            for _ in fmt.read_batches(stream, courts, 50_000):
                pass
    return time.perf_counter() - started


async def import_publication(url: str, directory: Path, samples: list[tuple[float, int, int]]) -> tuple[Loaded, float]:
    """Import the publication through the real importer; `samples` gets (share of the file read, RSS now, peak
    RSS) at every tenth of the file."""

    def progress(done: int, total: int, rows: int) -> None:
        if not samples or done / total - samples[-1][0] >= 0.1:
            samples.append((done / total, _rss(), _peak_rss()))

    db = Database(url, maxsize=2)
    started = time.perf_counter()
    try:
        async with import_run(db, DATASET, str(directory), actor="bench") as run:
            loaded = await load_archive_async(url, directory, run, progress=progress)
    finally:
        await db.close()
    samples.append((1.0, _rss(), _peak_rss()))
    return loaded, time.perf_counter() - started


def bench_import(url: str, rows: int, *, again: bool = True) -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        path = write(directory, rows, seed=7)
        size = path.stat().st_size / 1e6
        generated = time.perf_counter() - started
        print(f"import: documents.csv of {rows:,} rows ({size:,.0f} MB, generated in {generated:.0f} s)")
        # Every year's partition empty: each is loaded apart and attached.
        _sql(url, "TRUNCATE court_decisions, court_decision_texts")
        copy_seconds = raw_copy(url, path)
        samples: list[tuple[float, int, int]] = []
        rss_start = _rss()
        loaded, seconds = asyncio.run(import_publication(url, directory, samples))
        seconds_again = asyncio.run(import_publication(url, directory, []))[1] if again else 0.0
        parse_seconds = parse_alone(directory)  # after the import, so as not to raise its memory figures
    copy_rate, import_rate = rows / copy_seconds, rows / seconds
    print(f"  raw COPY into an unindexed text table: {copy_rate:,.0f} rows/s ({copy_seconds:.1f} s)")
    print(
        f"  reading and checking the file alone (Python, no database): {rows / parse_seconds:,.0f} rows/s "
        f"({parse_seconds:.1f} s), {copy_seconds / parse_seconds:.0%} of raw COPY"
    )
    print(
        f"  secondlayer import edrsr into the empty indexed table: {import_rate:,.0f} rows/s ({seconds:.1f} s), "
        f"{import_rate / copy_rate:.0%} of raw COPY; {loaded.rows:,} rows, {loaded.bad} bad"
    )
    merging = seconds - loaded.attaching - loaded.analyzing
    print(
        f"    of which: reading, COPY and merge of the batches {merging:.1f} s, index builds of the "
        f"{len(loaded.years)} years loaded apart ({store.INDEX_BUILDERS} at once) {loaded.indexing:.1f} s, "
        f"ATTACH {loaded.attaching - loaded.indexing:.1f} s, planner statistics (ANALYZE) {loaded.analyzing:.1f} s"
    )
    # What the schema costs whatever the importer does: the index builds alone, and the same with the raw COPY.
    floor = copy_seconds + loaded.indexing
    print(
        f"  the raw COPY plus these index builds alone: {rows / floor:,.0f} rows/s ({floor:.1f} s), "
        f"{copy_seconds / floor:.0%} of raw COPY (what an import that builds these indexes cannot beat here)"
    )
    if again:
        print(f"  the same file again (all unchanged): {rows / seconds_again:,.0f} rows/s ({seconds_again:.1f} s)")
    marks = ", ".join(f"{share:.0%} {now / 1e6:.0f}" for share, now, _ in samples)
    peak = max(p for _, _, p in samples)
    print(
        f"  memory (RSS, MB) as the file is read: {marks}; at the start {rss_start / 1e6:.0f}, "
        f"peak {peak / 1e6:.0f} for a {size:,.0f} MB file"
    )


def build_scale(url: str, count: int) -> None:
    started = time.perf_counter()
    if load_generated(url, count):
        seconds = time.perf_counter() - started
        print(f"scale corpus: {count:,} decisions generated, imported and their texts loaded in {seconds:.0f} s")
    else:
        print(f"scale corpus: {count:,} decisions already there")


async def measure(url: str, rounds: int) -> list[tuple[str, list[float]]]:
    db = Database(url, maxsize=4)
    registry = default_registry()
    ctx = ToolContext(db=db, settings=load_settings({}), principal=None)
    cases = [r[0] for r in _sql(url, "SELECT cause_num FROM court_decisions TABLESAMPLE SYSTEM (1) LIMIT 50")]
    groups: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
        ("full-text search, no filter", [("search_court_cases", a) for a in SEARCHES]),
        ("full-text search with filters", [("search_court_cases", a) for a in FILTERED]),
        ("case chain (get_case_decisions)", [("get_case_decisions", {"case_number": c}) for c in cases[:20]]),
        (
            "court_statistics for a year",
            [
                ("court_statistics", {"by": by, "date_from": "2023-01-01", "date_to": "2023-12-31"})
                for by in ("court", "category", "form", "instance")
            ],
        ),
    ]
    out = []
    try:
        for _, calls in groups:  # warm the pool and the caches once
            for name, args in calls:
                await registry.call(name, args, ctx)
        for label, calls in groups:
            times = []
            for name, args in calls:
                for _ in range(rounds):
                    started = time.perf_counter()
                    await registry.call(name, args, ctx)
                    times.append((time.perf_counter() - started) * 1000)
            out.append((label, times))
    finally:
        await db.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-rows", type=int, default=200_000, help="rows of the import benchmark")
    parser.add_argument(
        "--import-mb", type=int, default=0, help="size of the import benchmark's file instead (1000: about 1 GB)"
    )
    parser.add_argument("--no-again", action="store_true", help="skip importing the same file a second time")
    parser.add_argument("--scale", type=int, default=1_000_000, help="decisions of the query benchmark")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each call")
    args = parser.parse_args()
    with bench_database() as url:
        rows = args.import_mb * ROWS_PER_MB if args.import_mb else args.import_rows
        if rows:
            bench_import(url, rows, again=not args.no_again)
        if args.scale:
            build_scale(url, args.scale)
            size = _sql(url, "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
                             "WHERE inhparent = 'court_decisions'::regclass")[0][0]  # fmt: skip
            texts = _sql(url, "SELECT pg_size_pretty(pg_total_relation_size('court_decision_texts'))")[0][0]
            print(f"queries at {args.scale:,} decisions (metadata {size}, texts {texts}), {args.rounds} runs each:")
            print(f"{'median ms':>10} {'p95 ms':>8} {'calls':>6}  what")
            for label, times in asyncio.run(measure(url, args.rounds)):
                print(f"{statistics.median(times):10.1f} {percentile(times, 0.95):8.1f} {len(times):6d}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
