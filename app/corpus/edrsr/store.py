"""Writing a publication into PostgreSQL: dictionaries upserted, documents COPYed into a staging table and merged
into court_decisions once per batch.

This runs on one synchronous psycopg2 connection in a worker thread (aiopg cannot COPY), under a session
advisory lock so that two imports never merge at once: that lock is what keeps doc_id unique across the yearly
partitions, since PostgreSQL only enforces unique keys that contain the partition key.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from app.corpus.edrsr.format import Dictionary, Document
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
_STAGE_COLUMNS = (
    "line",
    "doc_id",
    "adjudication_date",
    "court_code",
    "judgment_code",
    "justice_kind",
    "category_code",
    "cause_num",
    "receipt_date",
    "judge",
    "doc_url",
    "status",
    "date_publ",
)
_CREATE_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS edrsr_stage (
        line bigint NOT NULL, doc_id bigint NOT NULL, adjudication_date date NOT NULL, court_code text NOT NULL,
        judgment_code smallint, justice_kind smallint, category_code integer, cause_num text, receipt_date date,
        judge text, doc_url text, status smallint, date_publ date, old_date date, old_url text
    ) ON COMMIT DELETE ROWS
"""
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
_TSV = "to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({}))"
# The dictionaries' words are folded and tokenised once per batch (secondlayer_fold costs tens of microseconds
# a call), not once per row; the rows left in the stage are new or changed (unchanged ones are dropped first).
_MERGE = f"""
    WITH categories AS MATERIALIZED (
        SELECT category_code, setweight({_TSV.format("name")}, 'B') AS words FROM edrsr_cause_categories
        WHERE category_code IN (SELECT DISTINCT category_code FROM edrsr_stage)
    ), courts AS MATERIALIZED (
        SELECT court_code, setweight({_TSV.format("name")}, 'C') AS words FROM edrsr_courts
        WHERE court_code IN (SELECT DISTINCT court_code FROM edrsr_stage)
    )
    INSERT INTO court_decisions AS d (doc_id, adjudication_date, {", ".join(_FIELDS)}, doc_url, judge_key, demo,
                                      search)
    SELECT s.doc_id, s.adjudication_date, {", ".join("s." + f for f in _FIELDS)}, s.doc_url,
           secondlayer_fold(s.judge), %(demo)s,
           setweight({_TSV.format("coalesce(s.cause_num, '')")}, 'A')
           || coalesce(cat.words, ''::tsvector) || coalesce(c.words, ''::tsvector)
           || setweight({_TSV.format("coalesce(s.judge, '')")}, 'C')
    FROM edrsr_stage s
         LEFT JOIN courts c ON c.court_code = s.court_code
         LEFT JOIN categories cat ON cat.category_code = s.category_code
    ON CONFLICT (doc_id, adjudication_date) DO UPDATE SET
        {", ".join(f"{f} = EXCLUDED.{f}" for f in _FIELDS)},
        doc_url = coalesce(EXCLUDED.doc_url, d.doc_url),
        judge_key = EXCLUDED.judge_key, demo = EXCLUDED.demo, search = EXCLUDED.search, updated_at = now()
"""
# Rows already stored exactly as staged (a URL left empty counts as the same) leave the stage before the merge.
_DROP_UNCHANGED = f"""
    DELETE FROM edrsr_stage s USING court_decisions d
    WHERE d.doc_id = s.doc_id AND d.adjudication_date = s.adjudication_date
      AND ({", ".join("d." + f for f in _FIELDS)}) IS NOT DISTINCT FROM ({", ".join("s." + f for f in _FIELDS)})
      AND (s.doc_url IS NULL OR s.doc_url = d.doc_url) AND d.demo = %(demo)s
"""
# Where each staged document is now (doc_id alone: it may sit in another year's partition).
_LOCATE = """
    UPDATE edrsr_stage s SET old_date = d.adjudication_date, old_url = d.doc_url
    FROM court_decisions d WHERE d.doc_id = s.doc_id
"""
# A document republished with another date moves to its new partition, keeping a text URL it had.
_MOVE = """
    DELETE FROM court_decisions d USING edrsr_stage s
    WHERE s.old_date <> s.adjudication_date AND d.doc_id = s.doc_id AND d.adjudication_date = s.old_date
"""
_KEEP_URL = "UPDATE edrsr_stage SET doc_url = old_url WHERE doc_url IS NULL AND old_url IS NOT NULL"
_TALLY = """
    SELECT count(*) FILTER (WHERE old_date IS NULL), count(*) FILTER (WHERE old_date IS NOT NULL) FROM edrsr_stage
"""
# The same doc_id twice in one batch: the later line wins.
_DEDUPLICATE = "DELETE FROM edrsr_stage s USING edrsr_stage t WHERE s.doc_id = t.doc_id AND s.line < t.line"


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


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return str(value)


def ensure_partitions(conn: psycopg2.extensions.connection, years: Iterable[int]) -> None:
    """Create the yearly partitions these years need (DDL, committed with the batch that needs it)."""
    with conn.cursor() as cur:
        for year in sorted(set(years)):
            name = PARTITION_NAME.format(year=year)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF court_decisions "
                f"FOR VALUES FROM ('{year:04d}-01-01') TO ('{year + 1:04d}-01-01')"
            )


def merge_batch(
    conn: psycopg2.extensions.connection, batch: list[tuple[int, Document]], *, demo: bool, counts: Counts
) -> None:
    """COPY one batch into the staging table and merge it into court_decisions, in one transaction."""
    years = {doc.adjudication_date.year for _, doc in batch}
    buffer = io.StringIO()
    for line, doc in batch:
        values = (
            line,
            doc.doc_id,
            doc.adjudication_date,
            doc.court_code,
            doc.judgment_code,
            doc.justice_kind,
            doc.category_code,
            doc.cause_num,
            doc.receipt_date,
            doc.judge,
            doc.doc_url,
            doc.status,
            doc.date_publ,
        )
        buffer.write("\t".join(_copy_value(v) for v in values))
        buffer.write("\n")
    buffer.seek(0)
    try:
        with conn.cursor() as cur:
            ensure_partitions(conn, years - counts.years)
            cur.execute(_CREATE_STAGE)
            cur.copy_expert(f"COPY edrsr_stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN", buffer)
            # Statistics for the planner: without them it takes the batch for a few rows and joins the
            # dictionaries by nested loops (seconds per batch instead of milliseconds).
            cur.execute("SET LOCAL default_statistics_target = 10")  # a small sample is enough for that
            cur.execute("ANALYZE edrsr_stage")
            cur.execute(_DEDUPLICATE)
            cur.execute(_DROP_UNCHANGED, {"demo": demo})
            unchanged = cur.rowcount
            cur.execute(_LOCATE)
            cur.execute(_TALLY)
            row = cur.fetchone()
            new, changed = (int(row[0]), int(row[1])) if row else (0, 0)
            cur.execute(_MOVE)
            cur.execute(_KEEP_URL)
            cur.execute(_MERGE, {"demo": demo})
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    counts.years |= years
    counts.added += new
    counts.updated += changed  # a document that moved to another year counts as updated
    counts.unchanged += unchanged


def analyze(conn: psycopg2.extensions.connection) -> None:
    """Fresh planner statistics after a load (search picks its plan from row estimates)."""
    old = conn.autocommit
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("ANALYZE court_decisions")
    finally:
        conn.autocommit = old
