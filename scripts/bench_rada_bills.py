"""Import rate of a large generated bills file in the Rada's official full format, next to a raw COPY of the
same extracted rows (the physical limit on this machine), with the importer's memory.

    .venv/bin/python scripts/bench_rada_bills.py [--count 20000]

The file is written first by scripts/make_demo_rada_bills.py in a child process, so its memory is not counted.
Then `import_bills` (the importer `secondlayer import rada-bills` runs: streamed with ijson, batches upserted in
transactions) loads it into DATABASE_URL, else the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench. The
reference parses the same file into rows beforehand and times only their COPY into temporary tables shaped like
`bills` and `bill_initiators` (generated search column included).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gen_corpus import bench_database  # noqa: E402

from app.corpus.provenance import import_run  # noqa: E402
from app.corpus.rada.bills import import_bills, parse_bill  # noqa: E402
from app.corpus.rada.feed import ArrayReader  # noqa: E402
from app.db import Database  # noqa: E402

FIRST_ID = 900_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


async def _import(url: str, path: Path) -> tuple[float, int, float, float]:
    db = Database(url, maxsize=2)
    try:
        await db.execute("DELETE FROM bills WHERE bill_id >= %(first)s", {"first": FIRST_ID})
        before = _rss_mb()
        started = time.perf_counter()
        with path.open("rb") as stream:
            async with import_run(db, "rada-bills", str(path), actor="bench") as run:
                result = await import_bills(db, stream, run, convocation=9)
        seconds = time.perf_counter() - started
        return seconds, result.read, before, _rss_mb()
    finally:
        await db.close()


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> io.StringIO:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        values = []
        for column in columns:
            value = row.get(column)
            if isinstance(value, (list, dict)):
                value = json.dumps(value, ensure_ascii=False)
            values.append("" if value is None else value)
        writer.writerow(values)
    out.seek(0)
    return out


def _copy(url: str, path: Path) -> tuple[float, int]:
    bills: list[dict[str, Any]] = []
    initiators: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        for batch in ArrayReader(stream).batches(1000):
            for record in batch:
                parsed = parse_bill(record, 9)
                bills.append(parsed.row)
                initiators += [{**i, "bill_id": parsed.row["bill_id"]} for i in parsed.initiators or []]
    bill_columns = list(bills[0])
    initiator_columns = ["bill_id", "position", "kind", "person_id", "name", "post", "organization"]
    bill_data, initiator_data = _csv(bills, bill_columns), _csv(initiators, initiator_columns)
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE copy_bills (LIKE bills INCLUDING DEFAULTS INCLUDING GENERATED)")
            cur.execute("CREATE TEMP TABLE copy_initiators (LIKE bill_initiators INCLUDING DEFAULTS)")
            started = time.perf_counter()
            cur.copy_expert(f"COPY copy_bills ({', '.join(bill_columns)}) FROM STDIN WITH (FORMAT csv)", bill_data)
            cur.copy_expert(
                f"COPY copy_initiators ({', '.join(initiator_columns)}) FROM STDIN WITH (FORMAT csv)", initiator_data
            )
            conn.commit()
            seconds = time.perf_counter() - started
    finally:
        conn.close()
    return seconds, len(bills)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="import rate of a generated billinfo file vs a raw COPY")
    parser.add_argument("--count", type=int, default=20000, help="generated bills (default 20000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-rada-") as tmp:
        path = Path(tmp) / "billinfo-skl9.json"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "make_demo_rada_bills.py"),
                "--count",
                str(args.count),
                "--out",
                str(path),
            ],
            check=True,
        )
        size_mb = path.stat().st_size / 2**20
        with bench_database() as url:
            seconds, read, rss_before, rss_after = asyncio.run(_import(url, path))
            copy_seconds, copied = _copy(url, path)
    rate, copy_rate = read / seconds, copied / copy_seconds
    print(
        f"rada-bills import: {read:,} bills ({size_mb:.1f} MB) in {seconds:.2f} s = {rate:,.0f} bills/s, "
        f"{size_mb / seconds:.1f} MB/s; peak RSS {rss_before:.0f} MB before, {rss_after:.0f} MB after"
    )
    print(
        f"raw COPY of the same rows (bills + initiators): {copied:,} bills in {copy_seconds:.2f} s = "
        f"{copy_rate:,.0f} bills/s; import/COPY = {rate / copy_rate:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
