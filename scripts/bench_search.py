"""Measure search_court_cases latency over a generated corpus (default 100,000 decisions): median and p95.

    make bench        # or: .venv/bin/python scripts/bench_search.py [--count N] [--rounds R]

Uses DATABASE_URL when set, else the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench (./var/bench);
generates the corpus first when it is missing (scripts/gen_corpus.py). Every search goes through the real
tool (ToolRegistry.call: schema validation, query building, ranking, snippets) on an aiopg pool, as the
server runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen_corpus import bench_database, generate

QUERIES: list[dict[str, Any]] = [
    {"query": "стягнення заборгованості за договором поставки"},
    {"query": "поновлення на роботі"},
    {"query": "середній заробіток за час вимушеного прогулу"},
    {"query": "аліменти на утримання дитини"},
    {"query": "розірвання шлюбу"},
    {"query": "орендна плата", "justice_kind": "commercial"},
    {"query": "банкрутство мораторій"},
    {"query": "крадіжка", "date_from": "2023-01-01", "date_to": "2023-12-31"},
    {"query": "шахрайство обман"},
    {"query": "керування у стані алкогольного сп'яніння"},
    {"query": "податкове повідомлення-рішення", "court": "Окружний адміністративний"},
    {"query": "перерахунок пенсії"},
    {"query": "публічна інформація запит"},
    {"query": "страхове відшкодування ДТП"},
    {"query": "неякісний товар споживач"},
    {"query": '"договір підряду"'},
    {"query": "суд"},
    {"query": "позов", "limit": 50},
    {"query": "910/1234/23"},
    {"query": "Верховний Суд правові висновки"},
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def measure(url: str, rounds: int) -> list[tuple[str, list[float], int]]:
    from app.config import load_settings
    from app.db import Database
    from app.tools.registry import ToolContext, default_registry

    db = Database(url, maxsize=4)
    registry = default_registry()
    ctx = ToolContext(db=db, settings=load_settings({}), principal=None)
    results = []
    try:
        for args in QUERIES:  # warm the pool and the caches once
            await registry.call("search_court_cases", args, ctx)
        for args in QUERIES:
            times = []
            found = 0
            for _ in range(rounds):
                started = time.perf_counter()
                page = await registry.call("search_court_cases", args, ctx)
                times.append((time.perf_counter() - started) * 1000)
                found = len(page["results"])
            results.append((str(args), times, found))
        # The second page, through the cursor, for a broad query.
        first = await registry.call("search_court_cases", {"query": "позов"}, ctx)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            await registry.call("search_court_cases", {"query": "позов", "cursor": first["next_cursor"]}, ctx)
            times.append((time.perf_counter() - started) * 1000)
        results.append(("{'query': 'позов', page 2 via cursor}", times, 10))
    finally:
        await db.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="decisions in the corpus (default 100000)")
    parser.add_argument("--rounds", type=int, default=11, help="timed runs of each query (default 11)")
    args = parser.parse_args()
    with bench_database() as url:
        if generate(url, args.count):
            print(f"generated {args.count:,} decisions")
        import psycopg2

        conn = psycopg2.connect(url)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*), (SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
                "WHERE inhparent = 'court_decisions'::regclass) FROM court_decisions"
            )
            total, size = cur.fetchone() or (0, "0 bytes")
        conn.close()
        print(f"corpus: {total:,} court decisions ({size}); {len(QUERIES) + 1} queries x {args.rounds} runs")
        results = asyncio.run(measure(url, args.rounds))
    everything: list[float] = []
    print(f"{'median ms':>10} {'p95 ms':>8} {'hits':>5}  query")
    for label, times, found in results:
        everything.extend(times)
        print(f"{statistics.median(times):10.1f} {percentile(times, 0.95):8.1f} {found:5d}  {label}")
    print(
        f"overall: median {statistics.median(everything):.1f} ms, p95 {percentile(everything, 0.95):.1f} ms, "
        f"max {max(everything):.1f} ms over {len(everything)} searches"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
