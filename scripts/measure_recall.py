"""Measure search recall (and precision) on the demo corpus: stock `simple` search vs SecondLayer's.

    .venv/bin/python scripts/measure_recall.py

Loads the demo corpus (the court register's archive and Parliament's files under app/demo/) into a throw-away
database (a temporary embedded PostgreSQL, or a scratch database on the server of DATABASE_URL) and runs a set
of queries written the way people type them, in other inflections than the documents use, with other
apostrophes and letter case. Relevant documents are decided from the demo data itself (categories, bill
numbers), not by
the search. Three configurations:

  simple   to_tsvector('simple', raw text) @@ websearch_to_tsquery('simple', query): the stock starting point
  folded   our index (folded text: case, apostrophes, ґ) with exact words from the query
  stemmed  our index with stems matched as prefixes and і/о/е alternation: what the tools use
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.corpus.text import CONFIG, build_tsquery  # noqa: E402

DEMO = ROOT / "app" / "demo"

# kind, query, relevance predicate over the demo record
Predicate = Callable[[dict[str, Any]], bool]


def category(word: str) -> Predicate:
    return lambda r: word in (r.get("category") or "")


QUERIES: list[tuple[str, str, Predicate]] = [
    ("court", "договір поставки", category("поставки товарів")),
    ("court", "стягнення боргу за поставлений товар", category("поставки товарів")),
    ("court", "поновлення на роботі", category("поновлення на роботі")),
    ("court", "незаконне звільнення працівника", category("поновлення на роботі")),
    ("court", "аліменти на дитину", category("аліментів")),
    ("court", "розірвання договору оренди", category("оренди")),
    ("court", "орендна плата", category("оренди")),
    ("court", "крадіжка", category("Крадіжка")),
    ("court", "шахрайство", category("Шахрайство")),
    ("court", "керування у стані алкогольного сп’яніння", category("сп'яніння")),
    ("court", "податкове повідомлення-рішення", category("податкові повідомлення-рішення")),
    ("court", "перерахунок пенсії", category("пенсійного")),
    ("court", "публічна інформація", category("публічної інформації")),
    ("court", "банкрутство боржника", category("банкрутство")),
    ("court", "страхове відшкодування ДТП", category("ДТП")),
    ("court", "спадщина за заповітом", category("спадкових")),
    ("court", "захист прав споживача неякісний товар", category("споживачів")),
    ("court", "договору підряду", category("підряду")),
    ("court", "РОЗІРВАННЯ ШЛЮБУ", category("розірвання шлюбу")),
    ("bill", "аліменти боржник", lambda r: r["number"] == "9033"),
    ("bill", "персональних даних", lambda r: r["number"] == "9041"),
    ("bill", "оренда землі", lambda r: r["number"] == "9077"),
    ("bill", "пенсія працюючим пенсіонерам", lambda r: r["number"] == "9091"),
    ("bill", "позовна давність", lambda r: r["number"] == "9140-д"),
]

# (table, key expression, the raw text the stock configuration indexes)
# The court register's words: the decision's metadata and its text, both on the decision's row.
SEARCH = {"court": "(coalesce(d.search, ''::tsvector) || coalesce(d.text_search, ''::tsvector))"}
TABLES = {
    "court": (
        "court_decisions d LEFT JOIN court_decision_texts t USING (doc_id) "
        "LEFT JOIN edrsr_cause_categories cat USING (category_code) LEFT JOIN edrsr_courts c USING (court_code)",
        "doc_id::text",
        "coalesce(d.cause_num, '') || ' ' || coalesce(cat.name, '') || ' ' || coalesce(c.name, '') || ' ' || "
        "coalesce(t.text, '')",
    ),
    "bill": (
        "bills",
        "number",
        "number || ' ' || title || ' ' || coalesce(subject, '') || ' ' || coalesce(rubric, '') || ' ' || "
        "coalesce(lead_committee, '') || ' ' || coalesce(bill_type, '')",
    ),
}


def demo_records(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(key, record) for every demo document of a kind, keys as the SQL above builds them."""
    if kind == "bill":  # the bills are in the Rada's official format
        bills = json.loads((DEMO / "rada" / "billinfo-skl9.json").read_text(encoding="utf-8"))
        return [(b["registrationNumber"], {"number": b["registrationNumber"]}) for b in bills]
    # The demo decisions are published as an archive in the register's format; their source lists them.
    path = ROOT / "scripts" / "demo_edrsr_source.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(str(r["doc_id"]), r) for r in records]


@contextmanager
def scratch_database() -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        from urllib.parse import urlsplit, urlunsplit

        name = f"sl_recall_{secrets.token_hex(4)}"
        admin = psycopg2.connect(configured)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(configured)
        try:
            yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()
        return
    from pgserver.postgres_server import get_server

    tmp = Path(tempfile.mkdtemp(prefix="sl-recall-"))
    server = get_server(tmp / "pgdata", cleanup_mode="delete")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def matches(cur: psycopg2.extensions.cursor, kind: str, mode: str, query: str) -> set[str]:
    # Table and column names come from TABLES; the query text is always a bound parameter.
    table, key, raw = TABLES[kind]
    if mode == "simple":
        cur.execute(
            f"SELECT {key} FROM {table} WHERE to_tsvector('simple', {raw}) @@ "  # noqa: S608
            "websearch_to_tsquery('simple', %s)",
            (query,),
        )
    else:
        cur.execute(
            f"SELECT {key} FROM {table} WHERE {SEARCH.get(kind, 'search')} @@ to_tsquery('{CONFIG}', %s)",  # noqa: S608
            (build_tsquery(query, stemming=mode == "stemmed"),),
        )
    return {row[0] for row in cur.fetchall()}


def main() -> int:
    from app.corpus.commands import load_demo_data
    from app.db import Database
    from app.db.schema import upgrade

    modes = ("simple", "folded", "stemmed")
    totals = {m: [0, 0, 0] for m in modes}  # relevant found, relevant, retrieved
    with scratch_database() as url:
        upgrade(url)

        async def load() -> None:
            db = Database(url, maxsize=2)
            try:
                await load_demo_data(db)
            finally:
                await db.close()

        asyncio.run(load())
        conn = psycopg2.connect(url)
        cur = conn.cursor()
        print(f"{'kind':8} {'relevant':>8} " + " ".join(f"{m + ' R':>10}" for m in modes) + "  query")
        for kind, query, relevant_if in QUERIES:
            relevant = {key for key, record in demo_records(kind) if relevant_if(record)}
            assert relevant, f"no relevant demo document for {query!r}"
            row = []
            for mode in modes:
                found = matches(cur, kind, mode, query)
                hit = len(found & relevant)
                totals[mode][0] += hit
                totals[mode][1] += len(relevant)
                totals[mode][2] += len(found)
                row.append(f"{hit:>4}/{len(relevant):<5}")
            print(f"{kind:8} {len(relevant):>8} " + " ".join(f"{c:>10}" for c in row) + f"  {query}")
        conn.close()
    print()
    for mode in modes:
        hits, relevant_count, retrieved = totals[mode]
        precision = hits / retrieved if retrieved else 0.0
        print(
            f"{mode:8} recall {hits / relevant_count:6.1%} ({hits}/{relevant_count})   precision {precision:6.1%} "
            f"({hits}/{retrieved} retrieved)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
