"""Generate a publication of the court register in the official ЄДРСР format, for the benchmarks.

    .venv/bin/python scripts/gen_edrsr.py DIR [--count N] [--seed S] [--texts]

Writes DIR/documents.csv and the six dictionaries exactly as data.gov.ua publishes them (tab-separated, `"`
quoting, `+02`/`+03` timestamps, court codes as text), streamed so that any size fits in flat memory: about 800
courts, 4,100 cause categories, years 2019-2024, and cases of one to three documents (first instance, then
appeal and cassation). With --texts, also DIR/texts.tsv (doc_id, text, format in COPY text format): invented decision
texts assembled from scripts/gen_corpus.py's sentences, shaped like the register's, not real ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen_corpus import GENERIC, INITIALS, SURNAMES, TOPICS

from app.corpus.edrsr.format import DOCUMENT_COLUMNS, dump_row, kyiv_timestamp

FIRST_DOC_ID = 200_000_000
TEXT_HOST = "http://od.reyestr.court.gov.ua"
KIND_CODES = {"civil": 1, "criminal": 2, "commercial": 3, "administrative": 4, "administrative_offense": 5}
KIND_NAMES = {1: "Цивільне", 2: "Кримінальне", 3: "Господарське", 4: "Адміністративне", 5: "Адмінправопорушення"}
FORMS = {1: "Вирок", 2: "Постанова", 3: "Рішення", 4: "Судовий наказ", 5: "Ухвала", 6: "Окрема ухвала"}
FORM_CODES = {name: code for code, name in FORMS.items()}
REGIONS = {n: f"Область {n}" for n in range(1, 26)} | {26: "м. Київ", 27: "Верховний Суд"}
FIRST_INSTANCE_COURTS = 700
APPEAL_COURTS = 60
CATEGORIES = 4100
SUPREME = ["9901", "9911", "9921", "9931", "9941", "9951"]


class Registry:
    """The dictionaries: courts by instance, categories by topic."""

    def __init__(self, rng: random.Random) -> None:
        self.courts: dict[str, tuple[str, int, int]] = {}
        self.first: list[str] = []
        self.appeal: list[str] = []
        for n in range(FIRST_INSTANCE_COURTS):
            code = f"{n + 100:04d}" if n % 7 == 0 else str(n + 100)  # some codes keep a leading zero
            region = n % 25 + 1
            name = f"{rng.choice(['Районний', 'Міський', 'Окружний адміністративний', 'Господарський'])} суд {n}"
            self.courts[code] = (name, 3, region)
            self.first.append(code)
        for n in range(APPEAL_COURTS):
            code = str(800 + n)
            self.courts[code] = (f"Апеляційний суд {n}", 2, n % 25 + 1)
            self.appeal.append(code)
        chambers = ["господарський", "цивільний", "кримінальний", "адміністративний", "цивільний", "господарський"]
        for code, chamber in zip(SUPREME, chambers, strict=True):
            self.courts[code] = (f"Касаційний {chamber} суд Верховного Суду", 1, 27)
        self.categories: dict[int, str] = {}
        for n, topic in enumerate(TOPICS):
            self.categories[40000 + n] = topic[1]
        for n in range(len(TOPICS), CATEGORIES):
            self.categories[40000 + n] = f"Категорія справ {n}"


def _judge(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(INITIALS)}. {rng.choice(INITIALS)}."


def _text(rng: random.Random, form: str, court: str, case: str, subject: list[str]) -> str:
    sentences = rng.sample(subject, min(len(subject), rng.randint(2, 3))) + rng.sample(GENERIC, rng.randint(2, 4))
    rng.shuffle(sentences)
    return f"{form.upper()} ІМЕНЕМ УКРАЇНИ {court} розглянув справу № {case}. " + " ".join(sentences)


def documents(count: int, registry: Registry, rng: random.Random) -> Iterator[tuple[list[object], str]]:
    """(documents.csv row values, text) for `count` documents, grouped in cases."""
    doc_id = FIRST_DOC_ID
    made = 0
    case_number = 0
    while made < count:
        topic = rng.randrange(len(TOPICS))
        kind, _, _, forms, subject = TOPICS[topic]
        case_number += 1
        year = rng.choice([2019, 2020, 2021, 2022, 2023, 2024])
        first = rng.choice(registry.first)
        case = f"{first}/{case_number % 99991}/{year % 100:02d}"
        day = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
        chain = [first]
        if rng.random() < 0.3:
            chain.append(rng.choice(registry.appeal))
            if rng.random() < 0.3:
                chain.append(rng.choice(SUPREME))
        for step, court in enumerate(chain):
            if made >= count:
                return
            form = forms[0] if step == 0 else "Постанова"
            name = registry.courts[court][0]
            relpath = f"files/{doc_id % 90 + 10}/{doc_id:x}.rtf"
            values: list[object] = [
                doc_id, court, FORM_CODES.get(form, 5), KIND_CODES[kind], 40000 + topic, case,
                kyiv_timestamp(day), kyiv_timestamp(day - dt.timedelta(days=20)), _judge(rng),
                f"{TEXT_HOST}/{relpath}" if rng.random() < 0.6 else None, 1,
                kyiv_timestamp(day + dt.timedelta(days=3)),
            ]  # fmt: skip
            yield values, _text(rng, form, name, case, subject)
            doc_id += 1
            made += 1
            day = min(day + dt.timedelta(days=rng.randint(40, 200)), dt.date(2025, 12, 28))


def write(directory: Path, count: int, *, seed: int = 1, texts: bool = False) -> Path:
    """The publication (and texts.tsv) in `directory`; returns the path of documents.csv."""
    rng = random.Random(seed)
    registry = Registry(rng)
    directory.mkdir(parents=True, exist_ok=True)
    courts = [(code, *values) for code, values in registry.courts.items()]
    dictionaries: dict[str, tuple[list[str], list[Any]]] = {
        "courts.csv": (["court_code", "name", "instance_code", "region_code"], courts),
        "instances.csv": (["instance_code", "name"], [(1, "Касаційна"), (2, "Апеляційна"), (3, "Перша")]),
        "regions.csv": (["region_code", "name"], list(REGIONS.items())),
        "justice_kinds.csv": (["justice_kind", "name"], list(KIND_NAMES.items())),
        "judgment_forms.csv": (["judgment_code", "name"], list(FORMS.items())),
        "cause_categories.csv": (["category_code", "name"], list(registry.categories.items())),
    }  # fmt: skip
    for name, (header, entries) in dictionaries.items():
        (directory / name).write_text(dump_row(header) + "".join(dump_row(e) for e in entries), encoding="utf-8")
    path = directory / "documents.csv"
    text_out = (directory / "texts.tsv").open("w", encoding="utf-8") if texts else None
    with path.open("w", encoding="utf-8") as out:
        out.write(dump_row(DOCUMENT_COLUMNS))
        for values, text in documents(count, registry, rng):
            out.write(dump_row(values))
            if text_out is not None:
                text_out.write(f"{values[0]}\t{text}\ttext\n")
    if text_out is not None:
        text_out.close()
    return path


def load_generated(url: str, count: int, *, replace: bool = False, seed: int = 1) -> int:
    """`count` generated decisions in the database at `url`, imported through the real importer, their texts
    COPYed into court_decision_texts; 0 when exactly those are there already (unless `replace`)."""
    import asyncio
    import tempfile
    import time

    import psycopg2

    from app.corpus.edrsr.importer import DATASET, load_archive_async
    from app.corpus.provenance import import_run
    from app.db import Database

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM court_decisions WHERE doc_id >= %s", (FIRST_DOC_ID,))
            (existing,) = cur.fetchone() or (0,)
            if existing == count and not replace:
                return 0
            cur.execute("DELETE FROM court_decision_texts WHERE doc_id >= %s", (FIRST_DOC_ID,))
            cur.execute("DELETE FROM court_decisions WHERE doc_id >= %s", (FIRST_DOC_ID,))
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            started = time.monotonic()
            write(directory, count, seed=seed, texts=True)
            print(f"generated {count:,} documents in {time.monotonic() - started:.0f} s", file=sys.stderr)

            async def load() -> None:
                db = Database(url, maxsize=2)
                try:
                    async with import_run(db, DATASET, f"generated:{count}", actor="gen_edrsr") as run:
                        await load_archive_async(url, directory, run)
                finally:
                    await db.close()

            started = time.monotonic()
            asyncio.run(load())
            print(f"imported them in {time.monotonic() - started:.0f} s", file=sys.stderr)
            started = time.monotonic()
            with conn.cursor() as cur, (directory / "texts.tsv").open("r", encoding="utf-8") as stream:
                cur.copy_expert("COPY court_decision_texts (doc_id, text, format) FROM STDIN", stream)
            print(f"COPYed their texts in {time.monotonic() - started:.0f} s", file=sys.stderr)
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE court_decisions")
            cur.execute("VACUUM ANALYZE court_decision_texts")
        return count
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--texts", action="store_true", help="also write texts.tsv")
    args = parser.parse_args()
    path = write(args.directory, args.count, seed=args.seed, texts=args.texts)
    print(f"wrote {args.count:,} documents to {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
