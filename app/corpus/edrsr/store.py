"""Writing a publication into PostgreSQL: dictionaries upserted, documents COPYed into a staging table and merged
into court_decisions once per batch.

This runs on one synchronous psycopg2 connection in a worker thread (aiopg cannot COPY), under a session
advisory lock so that two imports never merge at once: that lock is what keeps doc_id unique across the yearly
partitions, since PostgreSQL only enforces unique keys that contain the partition key.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from app.corpus.edrsr.format import STAGE_COLUMNS, Batch, Dictionary
from app.db.tables import PARTITION_NAME

LOCK_KEY = "secondlayer:edrsr-import"
# Keys of the dictionaries whose codes are numbers in the database (court_code stays text).
_NUMERIC_KEYS = {"instance_code", "region_code", "justice_kind", "judgment_code", "category_code"}
DICTIONARY_TABLES = {
    "courts.csv": ("edrsr_courts", "court_code"),
    "instances.csv": ("edrsr_instances", "instance_code"),
    "regions.csv": ("edrsr_regions", "region_code"),
    "justice_kinds.csv": ("edrsr_justice_kinds", "justice_kind"),
    "judgment_forms.csv": ("edrsr_judgment_forms", "judgment_code"),
    "cause_categories.csv": ("edrsr_cause_categories", "category_code"),
}
_CREATE_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS edrsr_stage (
        line bigint NOT NULL, doc_id bigint NOT NULL, adjudication_date date NOT NULL, court_code text NOT NULL,
        judgment_code smallint, justice_kind smallint, category_code integer, cause_num text, receipt_date date,
        judge text, doc_url text, status smallint, date_publ date, judge_key text, cause_key text,
        old_date date, old_url text, same boolean
    ) ON COMMIT DELETE ROWS
"""
# A year whose partition is new or empty is loaded into a table of its own, court_decisions_load_yYYYY, a
# partition of court_decisions_load (the same columns and primary key, no other index): no secondary index is
# maintained row by row, and the year's rows stay invisible until the import has read the whole file. Then each
# such table is attached to court_decisions as the year's partition, and ATTACH builds the partitioned indexes
# on it in one pass (a sorted index build is several times cheaper than inserting into nine indexes per row).
LOAD_PARENT = "court_decisions_load"
LOAD_NAME = "court_decisions_load_y{year:04d}"
_CREATE_LOAD_PARENT = f"""
    CREATE TABLE IF NOT EXISTS {LOAD_PARENT} (LIKE court_decisions INCLUDING DEFAULTS,
                                              PRIMARY KEY (doc_id, adjudication_date))
    PARTITION BY RANGE (adjudication_date)
"""
# Memory for each index build of a loaded year (the server's, for that build's transaction only).
ATTACH_MEMORY = "256MB"
# Index builds of the loaded years run on this many connections at once before the years are attached: while
# they run nothing else is working (the file has been read), and one build keeps one server core busy.
INDEX_BUILDERS = 2
# The fields a publication carries; a row whose fields all equal the stored ones is left alone.
_FIELDS = (
    "court_code",
    "judgment_code",
    "justice_kind",
    "category_code",
    "cause_num",
    "receipt_date",
    "judge",
    "status",
    "date_publ",
)
_TSV = "to_tsvector('secondlayer_uk'::regconfig, {})"
_FOLDED_TSV = _TSV.format("secondlayer_fold({})")
# The search vector: case number, category, court and judge in words. Case number and judge arrive folded
# (format.fold, equal to secondlayer_fold: tests/test_corpus_search.py); the dictionaries' words are folded and
# tokenised once per batch, not once per row.
_INSERT = f"""
    WITH categories AS MATERIALIZED (
        SELECT category_code, setweight({_FOLDED_TSV.format("name")}, 'B') AS words FROM edrsr_cause_categories
        WHERE category_code IN (SELECT DISTINCT category_code FROM edrsr_stage)
    ), courts AS MATERIALIZED (
        SELECT court_code, setweight({_FOLDED_TSV.format("name")}, 'C') AS words FROM edrsr_courts
        WHERE court_code IN (SELECT DISTINCT court_code FROM edrsr_stage)
    )
    INSERT INTO {{target}} AS d (doc_id, adjudication_date, {", ".join(_FIELDS)}, doc_url, judge_key, demo, search)
    SELECT s.doc_id, s.adjudication_date, {", ".join("s." + f for f in _FIELDS)}, s.doc_url, s.judge_key,
           %(demo)s,
           setweight({_TSV.format("coalesce(s.cause_key, '')")}, 'A')
           || coalesce(cat.words, ''::tsvector) || coalesce(c.words, ''::tsvector)
           || setweight({_TSV.format("coalesce(s.judge_key, '')")}, 'C')
    FROM edrsr_stage s
         LEFT JOIN courts c ON c.court_code = s.court_code
         LEFT JOIN categories cat ON cat.category_code = s.category_code
    WHERE {{rows}}
    ON CONFLICT (doc_id, adjudication_date) DO UPDATE SET
        {", ".join(f"{f} = EXCLUDED.{f}" for f in _FIELDS)},
        doc_url = coalesce(EXCLUDED.doc_url, d.doc_url),
        judge_key = EXCLUDED.judge_key, demo = EXCLUDED.demo, search = EXCLUDED.search, updated_at = now()
"""
_LOADED_YEAR = "date_part('year', s.adjudication_date)::int = ANY(%(bulk)s)"
_INSERT_LOADED = _INSERT.format(target=LOAD_PARENT, rows=_LOADED_YEAR)
_INSERT_MERGED = _INSERT.format(target="court_decisions", rows=f"NOT ({_LOADED_YEAR})")
# A fresh batch (every doc_id above all stored ones, none twice) cannot conflict: a plain INSERT skips the
# speculative insertion ON CONFLICT makes for every row (about a fifth of the insert's time).
_INSERT_FRESH_LOADED, _INSERT_FRESH_MERGED = (
    sql.split("    ON CONFLICT", 1)[0] for sql in (_INSERT_LOADED, _INSERT_MERGED)
)
_STORED = ", ".join("d." + f for f in _FIELDS)
_STAGED = ", ".join("s." + f for f in _FIELDS)
# Where each staged document is now (by doc_id alone: it may sit in another year's partition, or in a year
# being loaded), and whether it is stored exactly as staged (a URL left empty counts as the same).
_LOCATE = f"""
    UPDATE edrsr_stage s SET old_date = d.adjudication_date, old_url = d.doc_url,
        same = d.adjudication_date = s.adjudication_date AND d.demo = %(demo)s
               AND ({_STORED}) IS NOT DISTINCT FROM ({_STAGED})
               AND (s.doc_url IS NULL OR s.doc_url = d.doc_url)
    FROM (SELECT doc_id, adjudication_date, demo, doc_url, {", ".join(_FIELDS)} FROM court_decisions
          UNION ALL
          SELECT doc_id, adjudication_date, demo, doc_url, {", ".join(_FIELDS)} FROM {LOAD_PARENT}) d
    WHERE d.doc_id = s.doc_id
"""
_DROP_UNCHANGED = "DELETE FROM edrsr_stage WHERE same"
# A document republished with another date moves to its new partition, keeping a text URL it had.
_MOVE = """
    DELETE FROM {table} d USING edrsr_stage s
    WHERE s.old_date <> s.adjudication_date AND d.doc_id = s.doc_id AND d.adjudication_date = s.old_date
"""
_KEEP_URL = "UPDATE edrsr_stage SET doc_url = old_url WHERE doc_url IS NULL AND old_url IS NOT NULL"
# A moved document is a new row in its new partition, and so is a document of a year dropped and imported again
# (README: DROP TABLE court_decisions_y2019) while its text stayed stored: its text's words
# (court_decisions.text_search, which the trigger on court_decision_texts writes when the text is stored) are
# written again from the stored text. Rows updated in place keep theirs.
_KEEP_TEXT_WORDS = """
    UPDATE {table} d SET text_search = secondlayer_court_text_words(t.text)
    FROM edrsr_stage s JOIN court_decision_texts t ON t.doc_id = s.doc_id
    WHERE s.old_date IS DISTINCT FROM s.adjudication_date AND t.text IS NOT NULL
      AND d.doc_id = s.doc_id AND d.adjudication_date = s.adjudication_date
"""
_TALLY = """
    SELECT count(*) FILTER (WHERE old_date IS NULL), count(*) FILTER (WHERE old_date IS NOT NULL) FROM edrsr_stage
"""
# The same doc_id twice in one batch: the later line wins.
_DEDUPLICATE = "DELETE FROM edrsr_stage s USING edrsr_stage t WHERE s.doc_id = t.doc_id AND s.line < t.line"
# The checkpoint of the run, written in the transaction of the batch it describes.
_CHECKPOINT = """
    UPDATE data_imports SET details = details || jsonb_build_object('checkpoint', %(checkpoint)s::jsonb)
    WHERE id = %(run)s
"""
# The latest run of this importer that left a word about its checkpoint (null: finished, or started afresh).
_LAST_CHECKPOINT = """
    SELECT details -> 'checkpoint' FROM data_imports
    WHERE dataset = %(dataset)s AND id <> %(run)s AND details ? 'checkpoint'
    ORDER BY id DESC LIMIT 1
"""


class ImportBusy(RuntimeError):
    """Another ЄДРСР import holds the lock."""


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    years: set[int] = field(default_factory=set)


def connect(url: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url)
    conn.autocommit = False
    return conn


def lock(conn: psycopg2.extensions.connection) -> None:
    """Take the import lock for this session, or raise ImportBusy."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,))
        row = cur.fetchone()
    conn.commit()
    if not (row and row[0]):
        raise ImportBusy("another ЄДРСР import is running on this database; try again when it has finished")


def write_dictionaries(conn: psycopg2.extensions.connection, dictionaries: dict[str, Dictionary]) -> dict[str, int]:
    """Upsert each dictionary (entries absent from this publication are kept: older years refer to them)."""
    written = {}
    with conn.cursor() as cur:
        for name, dictionary in dictionaries.items():
            table, key = DICTIONARY_TABLES[name]
            rows = []
            for code, values in dictionary.rows.items():
                row: dict[str, Any] = {key: int(code) if key in _NUMERIC_KEYS else code, "name": values["name"]}
                for column in ("instance_code", "region_code"):
                    if column in values:
                        row[column] = _small(values[column])
                rows.append(row)
            if not rows:
                continue
            columns = list(rows[0])
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
            distinct = " OR ".join(f"t.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in columns if c != key)
            psycopg2.extras.execute_values(
                cur,
                f"INSERT INTO {table} AS t ({', '.join(columns)}) VALUES %s "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE {distinct}",
                [tuple(r[c] for c in columns) for r in rows],
                page_size=1000,
            )
            written[table] = len(rows)
    conn.commit()
    return written


def _small(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and -32768 <= number <= 32767 else None


def known_courts(conn: psycopg2.extensions.connection) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT court_code FROM edrsr_courts")
        return {r[0] for r in cur.fetchall()}


def ensure_partitions(conn: psycopg2.extensions.connection, years: Iterable[int]) -> None:
    """Create the yearly partitions these years need (DDL, committed with the batch that needs it)."""
    with conn.cursor() as cur:
        for year in sorted(set(years)):
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {PARTITION_NAME.format(year=year)} PARTITION OF court_decisions "
                f"FOR VALUES FROM ('{year:04d}-01-01') TO ('{year + 1:04d}-01-01')"
            )


@dataclass
class Load:
    """One import's writing: the years loaded apart (bulk) and merged in place, the highest doc_id stored."""

    conn: psycopg2.extensions.connection
    run_id: int
    demo: bool
    after_line: int = 0  # the checkpoint this run resumed from (0: from the start)
    bulk: set[int] = field(default_factory=set)
    merged: set[int] = field(default_factory=set)
    known_max: int = 0
    counts: Counts = field(default_factory=Counts)


def begin(
    conn: psycopg2.extensions.connection, *, dataset: str, run_id: int, identity: dict[str, Any], demo: bool
) -> Load:
    """Start writing a publication: resume the last run's checkpoint when it was this same file (its loaded
    years are still apart), else drop what an abandoned run left apart and start from the first line."""
    load = Load(conn, run_id, demo)
    with conn.cursor() as cur:
        cur.execute(_CREATE_LOAD_PARENT)
        cur.execute(_LAST_CHECKPOINT, {"dataset": dataset, "run": run_id})
        row = cur.fetchone()
        checkpoint = row[0] if row else None
        loading = _loading_years(cur)
        if isinstance(checkpoint, dict) and checkpoint.get("identity") == identity and checkpoint.get("line"):
            load.after_line = int(checkpoint["line"])
            load.bulk = set(loading)
        else:
            checkpoint = None
            for year in loading:
                cur.execute(f"DROP TABLE {LOAD_NAME.format(year=year)}")
        cur.execute(_CHECKPOINT, {"checkpoint": json.dumps(checkpoint), "run": run_id})
        cur.execute(
            f"SELECT greatest((SELECT max(doc_id) FROM court_decisions), (SELECT max(doc_id) FROM {LOAD_PARENT}))"
        )
        found = cur.fetchone()
        load.known_max = int(found[0]) if found and found[0] is not None else 0
    conn.commit()
    return load


def _loading_years(cur: Any) -> list[int]:
    cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        (LOAD_PARENT,),
    )
    prefix = LOAD_NAME.split("{", 1)[0]
    return [int(name[len(prefix) :]) for (name,) in cur.fetchall() if name[len(prefix) :].isdigit()]


def _place_years(cur: Any, load: Load, years: set[int]) -> tuple[set[int], set[int]]:
    """Decide where the years met for the first time go: apart when their partition is new or empty."""
    bulk, merged = set(), set()
    for year in sorted(years - load.bulk - load.merged):
        partition = PARTITION_NAME.format(year=year)
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (partition,))
        exists = (cur.fetchone() or (False,))[0]
        if exists:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {partition})")
            if (cur.fetchone() or (True,))[0]:
                merged.add(year)
                continue
        cur.execute(
            f"CREATE TABLE {LOAD_NAME.format(year=year)} PARTITION OF {LOAD_PARENT} "
            f"FOR VALUES FROM ('{year:04d}-01-01') TO ('{year + 1:04d}-01-01')"
        )
        bulk.add(year)
    return bulk, merged


def merge_batch(load: Load, batch: Batch, checkpoint: dict[str, Any]) -> None:
    """COPY one batch into the staging table and merge it, with the run's checkpoint, in one transaction."""
    conn, counts = load.conn, load.counts
    # Every doc_id above all stored ones: nothing to compare or move (a first load in doc_id order).
    fresh = batch.min_id > load.known_max
    try:
        with conn.cursor() as cur:
            bulk, merged = _place_years(cur, load, batch.years)
            bulk_years = sorted((load.bulk | bulk) & batch.years)
            ensure_partitions(conn, batch.years - load.bulk - bulk)
            cur.execute(_CREATE_STAGE)
            cur.copy_expert(f"COPY edrsr_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN", io.BytesIO(batch.data))
            # Statistics for the planner: without them it takes the batch for a few rows and joins the
            # dictionaries by nested loops (seconds per batch instead of milliseconds).
            cur.execute("SET LOCAL default_statistics_target = 10")  # a small sample is enough for that
            cur.execute("ANALYZE edrsr_stage")
            staged = batch.rows
            if batch.duplicates:
                cur.execute(_DEDUPLICATE)
                staged -= cur.rowcount
            new, changed, unchanged = staged, 0, 0
            if not fresh:
                cur.execute(_LOCATE, {"demo": load.demo})
                cur.execute(_DROP_UNCHANGED)
                unchanged = cur.rowcount
                cur.execute(_TALLY)
                row = cur.fetchone()
                new, changed = (int(row[0]), int(row[1])) if row else (0, 0)
                if changed:
                    cur.execute(_MOVE.format(table="court_decisions"))
                    cur.execute(_MOVE.format(table=LOAD_PARENT))
                    cur.execute(_KEEP_URL)
            if bulk_years:
                cur.execute(_INSERT_FRESH_LOADED if fresh else _INSERT_LOADED, {"demo": load.demo, "bulk": bulk_years})
            if len(bulk_years) < len(batch.years):
                cur.execute(_INSERT_FRESH_MERGED if fresh else _INSERT_MERGED, {"demo": load.demo, "bulk": bulk_years})
            if new or changed:
                if len(bulk_years) < len(batch.years):
                    cur.execute(_KEEP_TEXT_WORDS.format(table="court_decisions"))
                if bulk_years:
                    cur.execute(_KEEP_TEXT_WORDS.format(table=LOAD_PARENT))
            cur.execute(_CHECKPOINT, {"checkpoint": json.dumps(checkpoint), "run": load.run_id})
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    load.bulk |= bulk
    load.merged |= merged
    load.known_max = max(load.known_max, batch.max_id)
    counts.years |= batch.years
    counts.added += new
    counts.updated += changed  # a document that moved to another year counts as updated
    counts.unchanged += unchanged


_ALL_COLUMNS = ("doc_id", "adjudication_date", *_FIELDS, "doc_url", "judge_key", "demo", "updated_at", "search")


# The partitioned indexes of court_decisions that ATTACH would build on a new partition (the primary key's is on
# the loaded table already): name, whether unique, and what follows USING in its definition.
_PARTITIONED_INDEXES = """
    SELECT c.relname, i.indisunique, split_part(pg_get_indexdef(i.indexrelid), ' USING ', 2)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'court_decisions'::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    ORDER BY c.relname
"""
_INDEX_PREFIX = "ix_court_decisions_"


def _index_name(table: str, parent_index: str) -> str:
    """The name of a loaded table's own copy of a partitioned index: court_decisions_y2021_words."""
    return f"{table}_{parent_index.removeprefix(_INDEX_PREFIX)}"


def build_loaded_indexes(load: Load, database_url: str, builders: int | None = None) -> int:
    """Build, on each year loaded apart, every index that attaching it to court_decisions needs, `builders`
    at a time on connections of their own (two builds on one table may run at once: CREATE INDEX takes a share
    lock). ATTACH then finds the indexes there and adopts them instead of building them one after the other.
    Each build commits on its own, so a killed run resumes with the ones done (IF NOT EXISTS). Returns how many
    indexes were built."""
    builders = INDEX_BUILDERS if builders is None else builders
    if not load.bulk or builders < 1:
        return 0
    with load.conn.cursor() as cur:
        cur.execute(_PARTITIONED_INDEXES)
        indexes = [(str(name), bool(unique), str(using)) for name, unique, using in cur.fetchall()]
    load.conn.commit()
    jobs = [
        f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {_index_name(table, name)} ON {table} USING {using}"
        for year in sorted(load.bulk)
        for table in (LOAD_NAME.format(year=year),)
        for name, unique, using in indexes
    ]
    # The GIN builds take longest: they start first, so that the short ones fill in around them.
    jobs.sort(key=lambda statement: " USING gin " not in statement)

    def build(statement: str) -> None:
        conn = psycopg2.connect(database_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SET maintenance_work_mem = %s", (ATTACH_MEMORY,))
                cur.execute("SET max_parallel_maintenance_workers = 0")  # the builders are the parallelism
                cur.execute(statement)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=builders, thread_name_prefix="edrsr-index") as pool:
        for done in [pool.submit(build, statement) for statement in jobs]:
            done.result()
    return len(jobs)


def attach_loaded(load: Load, on_year: Any = None) -> list[int]:
    """Make each year loaded apart the year's partition of court_decisions (one transaction a year): ATTACH
    adopts the indexes build_loaded_indexes made on it (and builds any missing). Returns the years attached."""
    conn = load.conn
    attached = []
    for year in sorted(load.bulk):
        table, partition = LOAD_NAME.format(year=year), PARTITION_NAME.format(year=year)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('maintenance_work_mem', %s, true)", (ATTACH_MEMORY,))
                cur.execute(f"ALTER TABLE {LOAD_PARENT} DETACH PARTITION {table}")
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", (partition,))
                if (cur.fetchone() or (False,))[0]:
                    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {partition})")
                    if (cur.fetchone() or (True,))[0]:
                        # Rows arrived in the year meanwhile (not by an import: imports take the lock); merge.
                        columns = ", ".join(_ALL_COLUMNS)
                        cur.execute(
                            f"INSERT INTO court_decisions ({columns}) SELECT {columns} FROM {table} "
                            "ON CONFLICT (doc_id, adjudication_date) DO UPDATE SET "
                            + ", ".join(f"{c} = EXCLUDED.{c}" for c in _ALL_COLUMNS[2:])
                        )
                        cur.execute(f"DROP TABLE {table}")
                        conn.commit()
                        attached.append(year)
                        continue
                    cur.execute(f"DROP TABLE {partition}")
                cur.execute(f"ALTER TABLE {table} RENAME TO {partition}")
                cur.execute(
                    "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", (partition,)
                )
                for (name,) in cur.fetchall():
                    cur.execute(f'ALTER TABLE {partition} RENAME CONSTRAINT "{name}" TO {partition}_pkey')
                cur.execute(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE i.indrelid = %s::regclass AND c.relname LIKE %s",
                    (partition, f"{table}\\_%"),
                )
                for (name,) in cur.fetchall():
                    cur.execute(f'ALTER INDEX "{name}" RENAME TO {partition}{name[len(table) :]}')
                cur.execute(
                    f"ALTER TABLE court_decisions ATTACH PARTITION {partition} "
                    f"FOR VALUES FROM ('{year:04d}-01-01') TO ('{year + 1:04d}-01-01')"
                )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        attached.append(year)
        if on_year is not None:
            on_year(year)
    load.bulk -= set(attached)
    return attached


def finish(load: Load) -> None:
    """The import is complete: its checkpoint is cleared (a later run starts afresh), and the parent of the
    loading tables goes when none is left."""
    with load.conn.cursor() as cur:
        cur.execute(_CHECKPOINT, {"checkpoint": "null", "run": load.run_id})
        if not _loading_years(cur):
            cur.execute(f"DROP TABLE IF EXISTS {LOAD_PARENT}")
    load.conn.commit()


def analyze(conn: psycopg2.extensions.connection) -> None:
    """Fresh planner statistics after a load (search picks its plan from row estimates)."""
    old = conn.autocommit
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("ANALYZE court_decisions")
    finally:
        conn.autocommit = old
