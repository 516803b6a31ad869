"""Measure the legislation import and tools over a generated Rada mirror: the card list (a doc.txt of ~293,000
lines in windows-1251, and its doc-dates.txt) imported through COPY and the merge, beside a raw COPY of the same
lines into an unindexed table (the physical limit); an article as in force on a date, and the citations of a
20-page decision, each next to a reference measured in the same run (one primary-key SELECT of an article's text
through the same pool: the round trip no tool can beat).

    .venv/bin/python scripts/bench_rada_laws.py [--cards N] [--events N] [--editions N] [--articles N] [--rounds R]

Uses DATABASE_URL when set, else the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench (./var/bench). The
mirror (the demo's acts plus a code of N editions of M articles, a few articles changing in each edition, like
the Tax Code's ~240 editions) is written to a temporary directory and imported with `secondlayer import
rada-laws`, the command an operator runs; every call goes through the real tool (ToolRegistry.call).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen_corpus import bench_database
from make_demo_rada_laws import main as write_demo

BIG = "2755-17"  # the Tax Code's number; its text here is generated
FILLER = (
    "Суд, розглянувши матеріали справи та заслухавши пояснення представників сторін, встановив таке. "
    "Між сторонами укладено договір, за умовами якого позивач зобов'язався поставити товар, а відповідач "
    "прийняти та оплатити його. Відповідач свого обов'язку з оплати не виконав, що підтверджується актами. "
)
CITATIONS = [
    "ст. 625 ЦК України",
    "частини другої статті 16 ЦПК",
    "п. 3 ч. 1 ст. 284 КАС",
    "статтею 1 Закону України «Про захист прав споживачів»",
    "статей 256, 257 Цивільного кодексу України",
    "ст. {n} ПК",
    "пункту першого частини третьої статті 183 Сімейного кодексу",
    "статті 55 Конституції України",
]


def write_big_code(root: Path, editions: int, articles: int) -> None:
    """A code with `editions` editions of `articles` articles; each edition changes three articles."""
    rng = random.Random(15)
    texts = {
        n: f"1. Платник податку сплачує податок за ставкою {n} відсотків від бази оподаткування."
        for n in range(1, articles + 1)
    }
    start = dt.date(2011, 1, 1)
    eds = []
    for index in range(editions):
        day = start + dt.timedelta(days=index * 20)
        for n in rng.sample(range(1, articles + 1), 3):
            texts[n] += f" Зміни редакції {index}."
        body = "".join(
            (f"<p>РОЗДІЛ {n // 50 + 1}</p><p>РОЗДІЛ ПОДАТКІВ</p>" if n % 50 == 1 else "")
            + f"<p>Стаття {n}. Стаття про податок {n}</p><p>{texts[n]}</p>"
            for n in range(1, articles + 1)
        )
        path = root / f"laws/show/{BIG}/ed{day:%Y%m%d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"<html><body>{body}</body></html>".encode("cp1251"))
        eds.append({"datred": f"{day:%Y%m%d}", "pidstava": "1293-20", "podid": 0})
    card = {
        "dokid": 99,
        "nreg": BIG,
        "nazva": "Податковий кодекс України",
        "status": 5,
        "types": "21|1",
        "organs": "1:20101202:2755-VI",
        "edcnt": editions,
        "eds": eds,
    }
    (root / f"laws/card/{BIG}.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    doc = root / "ogd/zak/laws/data/csv/doc.txt"
    line = f"99\t{BIG}\t5\tПодатковий кодекс України\t21|1\t1:20101202:2755-VI\t{eds[-1]['datred']}\r\n"
    doc.write_bytes(doc.read_bytes() + line.encode("cp1251"))


CARD_COLUMNS = ["dokid", "nreg", "status", "nazva", "types", "organs", "datred"]
TITLE_WORDS = "про внесення змін до деяких законодавчих актів україни щодо порядку державної реєстрації".split()


def write_card_list(root: Path, cards: int, events: int) -> None:
    """doc-stru.csv, a doc.txt of `cards` acts (no header, tab-separated, windows-1251, like the publisher's) and a
    doc-dates.txt of `events` events of them."""
    rng = random.Random(293)
    csv_dir = root / "ogd/zak/laws/data/csv"
    csv_dir.mkdir(parents=True, exist_ok=True)
    (root / "ogd/zak/stru").mkdir(parents=True, exist_ok=True)
    (root / "ogd/zak/stru/doc-stru.csv").write_bytes("".join(f"{c},C,\r\n" for c in CARD_COLUMNS).encode("cp1251"))
    with (csv_dir / "doc.txt").open("wb") as out:
        for n in range(cards):
            day = dt.date(1991, 1, 1) + dt.timedelta(days=n % 12000)
            title = " ".join(rng.choice(TITLE_WORDS) for _ in range(rng.randint(4, 14))).capitalize()
            fields = (n + 10, f"{n}-{n % 20 + 1:02d}", n % 10, title, f"{n % 7 + 1}|21", f"1:{day:%Y%m%d}:{n}-IX")
            out.write(("\t".join(map(str, fields)) + f"\t{day:%Y%m%d}\r\n").encode("cp1251"))
    with (csv_dir / "doc-dates.txt").open("wb") as out:
        for n in range(events):
            act = n % cards
            day = dt.date(1991, 1, 1) + dt.timedelta(days=(act + n) % 12000)
            cause = f"{(act * 7) % cards}-{act % 20 + 1:02d}" if n % 3 == 0 else ""
            out.write(f"{day:%Y%m%d}\t{act}-{act % 20 + 1:02d}\t{n % 7}\t{cause}\r\n".encode("cp1251"))


async def bench_cards(url: str, cards: int, events: int) -> None:
    """The card list and events through the importer, twice (the second time unchanged), beside a raw COPY of
    the same lines."""
    import psycopg2

    from app.corpus.download import SourceTree
    from app.corpus.laws import store
    from app.corpus.provenance import import_run
    from app.db import Database

    db = Database(url, maxsize=2)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_card_list(root, cards, events)
            doc = root / "ogd/zak/laws/data/csv/doc.txt"
            print(
                f"generated doc.txt: {cards:,} lines, {doc.stat().st_size / 1e6:.1f} MB (windows-1251); "
                f"doc-dates.txt: {events:,} lines"
            )
            conn = psycopg2.connect(url)
            try:
                with conn.cursor() as cur:
                    columns = ", ".join(f"{c} text" for c in CARD_COLUMNS)
                    cur.execute(f"CREATE UNLOGGED TABLE bench_raw_cards ({columns})")
                    started = time.perf_counter()
                    with doc.open("rb") as raw:
                        cur.copy_expert("COPY bench_raw_cards FROM STDIN (FORMAT text, ENCODING 'WIN1251')", raw)
                    raw_seconds = time.perf_counter() - started
                    cur.execute("DROP TABLE bench_raw_cards")
                conn.commit()
            finally:
                conn.close()
            raw_rate = cards / raw_seconds
            print(
                f"  raw COPY of the same lines into an unindexed text table: {raw_rate:,.0f} rows/s "
                f"({raw_seconds:.1f} s)"
            )
            tree = SourceTree.open(str(root), root, headers={})
            for label in ("first import", "same publication again"):
                async with import_run(db, "rada-laws", f"{root} ({label})", actor="bench") as run:
                    loader = store.Loader(db.url, run)
                    try:
                        started = time.perf_counter()
                        lines = await store.import_cards(loader, db, tree, {})
                        card_seconds = time.perf_counter() - started
                        counts = run.counts()
                        started = time.perf_counter()
                        events_done = await store.import_events(loader, tree, {})
                        event_seconds = time.perf_counter() - started
                    finally:
                        loader.close()
                rate = lines / card_seconds
                print(
                    f"  cards import ({label}): {rate:,.0f} rows/s ({card_seconds:.1f} s), {rate / raw_rate:.1%} of "
                    f"raw COPY; added {counts['added']:,}, updated {counts['updated']:,}, "
                    f"unchanged {counts['unchanged']:,}, bad {counts['bad']:,}"
                )
                print(
                    f"  events import ({label}): {events_done['lines'] / event_seconds:,.0f} rows/s "
                    f"({event_seconds:.1f} s); added {events_done['added']:,}, unchanged {events_done['unchanged']:,}"
                )
    finally:
        await db.close()


def decision_text(pages: int = 20, per_page: int = 3000) -> str:
    """A decision of `pages` pages of ~`per_page` characters, citing two or three articles a page."""
    rng = random.Random(20)
    parts: list[str] = []
    while sum(len(p) for p in parts) < pages * per_page:
        parts.append(FILLER)
        if rng.random() < 0.4:
            parts.append("Відповідно до " + rng.choice(CITATIONS).format(n=rng.randint(1, 300)) + ". ")
    return "".join(parts)


async def timed(call: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    await call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(label: str, times: list[float], reference: float, target: float | None = None) -> str:
    median = statistics.median(times)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    goal = f" (target < {target:g} ms)" if target else ""
    return f"{label}: median {median:.2f} ms, p95 {p95:.2f} ms{goal}; {median / reference:.1f}x the reference"


async def measure(url: str, rounds: int, articles: int) -> None:
    from app.config import load_settings
    from app.corpus.laws import citations
    from app.db import Database
    from app.tools.registry import ToolContext, default_registry

    db = Database(url, maxsize=4)
    registry = default_registry()
    ctx = ToolContext(db=db, settings=load_settings({}), principal=None)
    rng = random.Random(7)
    text = decision_text()
    try:
        some_hash = await db.fetch_value(
            "SELECT text_hash FROM legislation_structure WHERE nreg = %(n)s AND kind = 'article' LIMIT 1", {"n": BIG}
        )
        reference_times = await timed(
            lambda: db.fetch_value("SELECT body FROM legislation_texts WHERE hash = %(h)s", {"h": some_hash}), rounds
        )
        reference = statistics.median(reference_times)
        print(f"reference: one primary-key SELECT of an article's text: median {reference:.2f} ms")

        def article_call() -> Awaitable[Any]:
            day = dt.date(2011, 1, 1) + dt.timedelta(days=rng.randint(0, 5000))
            args = {"act": BIG, "article": str(rng.randint(1, articles)), "as_of_date": day.isoformat()}
            return registry.call("get_legislation_article", args, ctx)

        print(
            line(
                "get_legislation_article with a date (Tax Code sized act)",
                await timed(article_call, rounds),
                reference,
                10,
            )
        )

        async def scan_only() -> None:
            citations.find_citations(text)

        scan = await timed(scan_only, rounds)
        found = len(citations.find_citations(text))
        print(f"resolve_citations input: {len(text):,} characters (20 pages), {found} citations")
        print(line("  finding the citations (regex scan only)", scan, reference))
        resolve = await timed(lambda: registry.call("resolve_citations", {"text": text}, ctx), rounds)
        print(line("resolve_citations on a 20-page decision", resolve, reference, 100))
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=293_000, help="lines of the generated doc.txt (0: skip)")
    parser.add_argument("--events", type=int, default=660_000, help="lines of the generated doc-dates.txt")
    parser.add_argument("--editions", type=int, default=240)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with bench_database() as url:
        print(f"machine load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        if args.cards:
            asyncio.run(bench_cards(url, args.cards, args.events))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_demo(root)
            write_big_code(root, args.editions, args.articles)
            started = time.monotonic()
            acts = "254к/96-вр,435-15,1618-15,2747-15,2947-14,1023-12," + BIG
            env = {**os.environ, "DATABASE_URL": url}
            done = subprocess.run(
                [sys.executable, "-m", "app", "import", "rada-laws", str(root), "--acts", acts, "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.exit(f"import failed: {done.stderr.strip()[-2000:]}")
            seconds = time.monotonic() - started
            print(
                f"import: {args.editions} editions x {args.articles} articles of {BIG} "
                f"and the demo acts in {seconds:.1f} s"
            )
        asyncio.run(measure(url, args.rounds, args.articles))


if __name__ == "__main__":
    main()
