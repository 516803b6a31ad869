"""Benchmark the ЄДР importer and the register's person and graph queries on a generated dump.

    .venv/bin/python scripts/bench_edr.py [--count N] [--rounds R] [--compare-count M]

    .venv/bin/python scripts/bench_edr.py --skip-import --query-count 1000000   # the queries at 1M entities

1. Generates a UO dump of N invented entities (scripts/make_demo_edr.py --varied-names; windows-1251; written to
   disk as a stream, never held in memory; the default 620,000 make about 1 GB) unless it is there already,
   under $SECONDLAYER_DATA_DIR/bench (./var/bench).
2. Imports it through the real importer (parse in a thread, COPY into staging, one merge and one commit per
   batch) into an emptied register, and prints entities/s and MB/s next to the file's size, with the process's
   resident memory (RSS) at the start, after every tenth of the entities, and the largest seen by a sampler
   every 0.2 s (flat when memory does not grow with the file).
3. Measures the reference in the same run: a raw COPY of the very rows the importer extracted (written to files
   first, not timed) into unindexed tables: the physical limit of loading them. Prints the ratio.
   With --compare-count M, also imports a dump of M entities with parsing pipelined and not (parse, then
   write, in turn), into an emptied register each time: what the pipeline buys.
4. Runs search_persons and get_company_relations(depth 3) through the real tools, R rounds each over names and
   codes drawn from the register, and prints median and p95 milliseconds; with --query-count N on a register of
   N entities COPYed straight into the tables instead (see fill_register).

Uses DATABASE_URL when set, else the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2
from gen_corpus import ROOT, bench_database
from make_demo_edr import code, dump, person

from app.corpus.edr.load import Counts, entity_lines, load, xml_sources
from app.corpus.edr.parse import read_elements

PAGE = os.sysconf("SC_PAGE_SIZE")


class MemorySampler:
    """This process's resident set size: at the start, after every `step` entities (from the progress callback,
    called once a batch is committed), and the largest seen by a thread sampling every 0.2 s."""

    def __init__(self, step: int) -> None:
        self.step = max(step, 1)
        self.start = self.rss()
        self.samples: list[tuple[int, int]] = []
        self.largest = self.start
        self.next = self.step
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.largest = max(self.largest, self.rss())

    def progress(self, _done: int, elements: int) -> None:
        if elements >= self.next:
            self.samples.append((elements, self.rss()))
            self.next = (elements // self.step + 1) * self.step


def generate(path: Path, count: int) -> None:
    if path.exists() and path.with_suffix(".count").exists() and path.with_suffix(".count").read_text() == str(count):
        return
    started = time.monotonic()
    with path.open("w", encoding="windows-1251", newline="\n") as out:
        for chunk in dump(count, varied=True):
            out.write(chunk)
    path.with_suffix(".count").write_text(str(count))
    print(f"generated {count:,} entities, {path.stat().st_size / 1e6:,.0f} MB, in {time.monotonic() - started:.0f} s")


def extract(path: Path, folder: Path) -> dict[str, Path]:
    """The rows the importer stages, as COPY files (the reference loads exactly these)."""
    files = {name: folder / f"{name}.tsv" for name in ("companies", "persons", "links")}
    with path.open("rb") as stream, files["companies"].open("w") as c, files["persons"].open("w") as p:
        with files["links"].open("w") as k:
            for seq, parsed in enumerate(read_elements(stream, "uo"), start=1):
                if parsed.entity is None:
                    continue
                company, persons, links = entity_lines(parsed.entity, seq)
                c.write(company)
                p.writelines(persons)
                k.writelines(links)
    return files


def raw_copy(url: str, files: dict[str, Path]) -> tuple[float, int]:
    """Seconds to COPY the extracted rows into unindexed temporary tables, and the entities copied."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE raw_companies (seq bigint, id text, kind text, edrpou text, name text, "
                "short_name text, status text, status_code text, address text, region text, registered_on date, "
                "capital numeric, head text, activities jsonb, kveds jsonb, termination jsonb, bankruptcy jsonb, "
                "tax_registrations jsonb, details jsonb, fingerprint text);"
                "CREATE TEMP TABLE raw_persons (seq bigint, company_id text, role text, position int, name text, "
                "code text, share numeric, share_percent numeric, details text);"
                "CREATE TEMP TABLE raw_links (seq bigint, company_id text, relation text, position int, name text, "
                "code text, details jsonb)"
            )
            started = time.monotonic()
            for table, name in (("raw_companies", "companies"), ("raw_persons", "persons"), ("raw_links", "links")):
                with files[name].open() as source:
                    cur.copy_expert(f"COPY {table} FROM STDIN", source)
            conn.commit()
            seconds = time.monotonic() - started
            cur.execute("SELECT count(*) FROM raw_companies")
            (count,) = cur.fetchone() or (0,)
        return seconds, int(count)
    finally:
        conn.close()


def fill_register(url: str, count: int) -> None:
    """A register of `count` entities for the query figures, COPYed straight into the tables (importing a million
    through the parser takes far longer than measuring the queries): the generator's shape, with about four
    people an entity, 60% founded by one of the 50 entities before them, 10% with a predecessor."""
    rng = random.Random(11)
    conn = psycopg2.connect(url)
    started = time.monotonic()
    try:
        with conn.cursor() as cur:
            cur.execute("TRUNCATE companies CASCADE")
            for start in range(0, count, 50_000):
                companies, persons, links = io.StringIO(), io.StringIO(), io.StringIO()
                for number in range(start, min(count, start + 50_000)):
                    edrpou, head, owner = code(number), person(rng, True), person(rng, True)
                    companies.write(
                        f"{edrpou}\tuo\t{edrpou}\tТОВ «КОМПАНІЯ {number}»\tзареєстровано\tregistered\t{head}\t"
                        f"{{62.01,62}}\t{number}\n"
                    )
                    persons.write(f"{edrpou}\thead\t1\t{head}\t\\N\n{edrpou}\tbeneficiary\t1\t{owner}\t\\N\n")
                    persons.write(f"{edrpou}\tfounder\t1\t{owner}\t\\N\n")
                    if number and rng.random() < 0.6:
                        parent = code(rng.randrange(max(0, number - 50), number))
                        persons.write(f"{edrpou}\tfounder\t2\tТОВ «КОМПАНІЯ»\t{parent}\n")
                    if number > 1 and rng.random() < 0.1:
                        links.write(f"{edrpou}\tpredecessor\t1\t{code(rng.randrange(max(0, number - 50), number))}\n")
                for table, columns, buffer in (
                    ("companies", "id, kind, edrpou, name, status, status_code, head, kveds, fingerprint", companies),
                    ("company_persons", "company_id, role, position, name, code", persons),
                    ("company_links", "company_id, relation, position, code", links),
                ):
                    buffer.seek(0)
                    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
            cur.execute("ANALYZE companies; ANALYZE company_persons; ANALYZE company_links")
        conn.commit()
    finally:
        conn.close()
    print(f"filled the register with {count:,} entities in {time.monotonic() - started:.0f} s (COPY, for the queries)")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def queries(url: str, rounds: int) -> None:
    from app.config import load_settings
    from app.db import Database
    from app.tools.registry import ToolContext, default_registry

    db = Database(url, maxsize=2)
    registry = default_registry()
    ctx = ToolContext(db=db, settings=load_settings({}), principal=None)
    rng = random.Random(7)
    try:
        total = await db.fetch_value("SELECT count(*) FROM companies")
        people = await db.fetch_value("SELECT count(*) FROM company_persons")
        print(f"register: {total:,} entities, {people:,} people named in them")
        names = [
            r["name"]
            for r in await db.fetch_all(
                "SELECT name FROM company_persons TABLESAMPLE SYSTEM (1) WHERE role = 'founder' AND code IS NULL "
                "LIMIT %(n)s",
                {"n": rounds * 4},
            )
        ]
        codes = [
            r["company_id"]
            for r in await db.fetch_all(
                "SELECT company_id FROM company_persons TABLESAMPLE SYSTEM (1) WHERE code IS NOT NULL LIMIT %(n)s",
                {"n": rounds * 4},
            )
        ]
        rng.shuffle(names)
        rng.shuffle(codes)
        codes = codes[:rounds]
        cases: list[tuple[str, str, list[dict[str, Any]]]] = [
            ("search_persons, full name", "search_persons", [{"name": n} for n in names[:rounds]]),
            ("search_persons, surname only", "search_persons", [{"name": n.split()[0]} for n in names[:rounds]]),
            (
                "search_companies, person as founder",
                "search_companies",
                [{"person": n, "person_role": "founder"} for n in names[:rounds]],
            ),
            (
                "get_company_relations depth 3",
                "get_company_relations",
                [{"edrpou": c, "depth": 3} for c in codes[:rounds]],
            ),
            ("get_company", "get_company", [{"edrpou": c} for c in codes[:rounds]]),
        ]
        for label, tool, argument_list in cases:
            for arguments in argument_list[:3]:  # warm the pool and the caches
                await registry.call(tool, arguments, ctx)
            times, sizes = [], []
            for arguments in argument_list:
                started = time.perf_counter()
                result = await registry.call(tool, arguments, ctx)
                times.append((time.perf_counter() - started) * 1000)
                sizes.append(len(result.get("results", result.get("nodes", [None]))))
            print(
                f"{label:38} median {statistics.median(times):7.1f} ms  p95 {percentile(times, 0.95):7.1f} ms  "
                f"({len(times)} calls, {statistics.mean(sizes):.1f} results or nodes on average)"
            )
    finally:
        await db.close()


def empty_register(url: str) -> None:
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE companies CASCADE; TRUNCATE edr_import_checkpoints CASCADE")
    conn.close()


def timed_import(url: str, path: Path, *, pipeline: bool = True, sampler: MemorySampler | None = None) -> float:
    empty_register(url)
    counts = Counts()
    started = time.monotonic()
    load(
        url,
        xml_sources(path),
        counts,
        run_id=None,
        progress=sampler.progress if sampler is not None else None,
        pipeline=pipeline,
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=620_000, help="entities in the generated dump (about 1.6 KB each)")
    parser.add_argument("--rounds", type=int, default=50, help="calls per query kind (0: no queries)")
    parser.add_argument("--skip-import", action="store_true", help="only the queries")
    parser.add_argument(
        "--query-count", type=int, default=0, help="fill the register with this many entities for the queries"
    )
    parser.add_argument(
        "--compare-count", type=int, default=0, help="import a dump of this many entities pipelined and serially"
    )
    args = parser.parse_args()
    folder = Path(os.environ.get("SECONDLAYER_DATA_DIR", ROOT / "var")) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"UO_FULL_out_{args.count}.xml"
    with bench_database() as url:
        if not args.skip_import:
            generate(path, args.count)
            size = path.stat().st_size
            empty_register(url)
            sampler = MemorySampler(args.count // 10)
            sampler.thread.start()
            counts = Counts()
            started = time.monotonic()
            cpu = time.process_time()
            result = load(url, xml_sources(path), counts, run_id=None, progress=sampler.progress)
            seconds = time.monotonic() - started
            cpu = time.process_time() - cpu
            sampler.stop.set()
            sampler.thread.join()
            print(
                f"import: {result.entities:,} entities, {size / 1e6:,.0f} MB in {seconds:.1f} s: "
                f"{result.entities / seconds:,.0f} entities/s, {size / 1e6 / seconds:.1f} MB/s "
                f"(added {counts.added:,}, bad {counts.bad}, {result.batches} batches; this process's CPU "
                f"{cpu:.0f} s, load average {os.getloadavg()[0]:.1f})"
            )
            print(
                f"RSS (MB) for a {size / 1e6:,.0f} MB file: start {sampler.start / 1e6:.0f}; "
                + ", ".join(f"{n:,}: {rss / 1e6:.0f}" for n, rss in sampler.samples)
                + f"; largest {sampler.largest / 1e6:.0f}"
            )
            with tempfile.TemporaryDirectory(dir=folder) as scratch:
                files = extract(path, Path(scratch))
                copy_seconds, copied = raw_copy(url, files)
            print(
                f"reference: raw COPY of the same {copied:,} entities' rows (companies, people, links) into "
                f"unindexed tables: {copy_seconds:.1f} s, {copied / copy_seconds:,.0f} entities/s"
            )
            print(f"import rate / raw COPY rate: {copy_seconds / seconds:.3f}")
        if args.compare_count:
            small = folder / f"UO_FULL_out_{args.compare_count}.xml"
            generate(small, args.compare_count)
            serial = timed_import(url, small, pipeline=False)
            piped = timed_import(url, small, pipeline=True)
            print(
                f"{args.compare_count:,} entities: parse then write in turn {serial:.1f} s "
                f"({args.compare_count / serial:,.0f}/s); parsing pipelined with the writes {piped:.1f} s "
                f"({args.compare_count / piped:,.0f}/s): x{serial / piped:.2f}"
            )
        if args.query_count:
            fill_register(url, args.query_count)
        if args.rounds:
            asyncio.run(queries(url, args.rounds))


if __name__ == "__main__":
    main()
