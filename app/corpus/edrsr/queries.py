"""Reading the register: search with a lawyer's filters, one decision, a case's chain, statistics, the courts.

Every filter is answered from an index of court_decisions (court, category, form, kind, judge prefix, case
number, each with the date) or from the small dictionary tables; a date range reads only its yearly
partitions. Codes and names come from the dictionaries the publication shipped, never from constants here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.corpus.records import Document, RecordNotFound, court_title, text_window
from app.corpus.search import RANKED_POOL, Page, _base_params, _headline, _page, decode_cursor
from app.corpus.text import CONFIG, fold
from app.db import Connection, Database
from app.db.expressions import contains_pattern
from app.db.tables import PARTITION_NAME

REVIEW_URL = "https://reyestr.court.gov.ua/Review/{doc_id}"
INSTANCES = {"first": "перш%", "appeal": "апеляц%", "cassation": "касац%"}
# English names a client may use for the kinds of justice, as patterns over the dictionary's own names.
JUSTICE_KINDS = {
    "civil": "цивіл%",
    "criminal": "кримінал%",
    "commercial": "господар%",
    "administrative": "адміністративн%",
    "administrative_offense": "%правопоруш%",
}
GROUPS = ("year", "court", "region", "instance", "form", "justice_kind", "category")
SORTS = ("relevance", "date")
MAX_CASE_DOCUMENTS = 200
SNIPPET_CHARS = 300
# The words of a decision (metadata and text): the expression of the GIN index ix_court_decisions_words.
WORDS = "(coalesce({alias}.search, ''::tsvector) || coalesce({alias}.text_search, ''::tsvector))"

# The columns of court_decisions that _ROW reads.
_COLUMNS = ", ".join(
    f"d.{c}"
    for c in (
        "doc_id", "cause_num", "court_code", "judgment_code", "justice_kind", "category_code", "judge",
        "adjudication_date", "receipt_date", "date_publ", "doc_url", "demo",
    )
)  # fmt: skip
# A decision in words. The dictionaries' names are scalar subqueries rather than joins: over a partitioned table
# six joins cost the planner more (tens of milliseconds choosing a join order) than running the query does.
_ROW = """
    d.doc_id, d.cause_num AS case_number, d.court_code,
    (SELECT name FROM edrsr_courts WHERE court_code = d.court_code) AS court,
    (SELECT r.name FROM edrsr_courts c JOIN edrsr_regions r ON r.region_code = c.region_code
     WHERE c.court_code = d.court_code) AS region,
    (SELECT i.name FROM edrsr_courts c JOIN edrsr_instances i ON i.instance_code = c.instance_code
     WHERE c.court_code = d.court_code) AS instance,
    d.judgment_code, (SELECT name FROM edrsr_judgment_forms WHERE judgment_code = d.judgment_code) AS judgment_form,
    d.justice_kind AS justice_kind_code,
    (SELECT name FROM edrsr_justice_kinds WHERE justice_kind = d.justice_kind) AS justice_kind,
    d.category_code, (SELECT name FROM edrsr_cause_categories WHERE category_code = d.category_code) AS category,
    d.judge, d.adjudication_date, d.receipt_date, d.date_publ, d.doc_url AS text_url, d.demo
"""


@dataclass
class Filters:
    """A lawyer's filters; codes or words where the register has both."""

    court: str | None = None
    region: str | None = None
    instance: str | None = None
    justice_kind: str | None = None
    judgment_form: str | None = None
    category: str | None = None
    judge: str | None = None
    cause_num: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    supreme_court: bool = False

    def scope(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v not in (None, False)}


def _prefix(value: str) -> str:
    return contains_pattern(fold(value.strip()))[1:]


def _is_code(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 9


def where(filters: Filters, params: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """SQL conditions on `d` (court_decisions) for the filters, their values put into `params`; and the filters
    given in words as (column, query of the dictionary's codes), which `conditions` turns into code lists."""
    out: list[str] = []
    lookups: list[tuple[str, str]] = []
    if filters.court:
        if _is_code(filters.court):
            out.append("d.court_code = %(court)s")
            params["court"] = filters.court
        else:
            lookups.append(
                (
                    "court_code",
                    r"SELECT court_code FROM edrsr_courts WHERE secondlayer_fold(name) LIKE %(court)s ESCAPE '\'",
                )
            )
            params["court"] = contains_pattern(fold(filters.court))
    if filters.region:
        if _is_code(filters.region):
            condition = "region_code = %(region)s"
            params["region"] = int(filters.region)
        else:
            condition = (
                r"region_code IN (SELECT region_code FROM edrsr_regions WHERE secondlayer_fold(name) LIKE %(region)s "
                r"ESCAPE '\')"
            )
            params["region"] = contains_pattern(fold(filters.region))
        lookups.append(("court_code", f"SELECT court_code FROM edrsr_courts WHERE {condition}"))
    if filters.instance:
        lookups.append(
            (
                "court_code",
                "SELECT c.court_code FROM edrsr_courts c JOIN edrsr_instances i USING (instance_code) "
                "WHERE secondlayer_fold(i.name) LIKE %(instance)s",
            )
        )
        params["instance"] = INSTANCES[filters.instance]
    if filters.supreme_court:
        lookups.append(
            ("court_code", "SELECT court_code FROM edrsr_courts WHERE secondlayer_fold(name) LIKE %(supreme)s")
        )
        params["supreme"] = "%верховн% суд%"
    for name, column, table, pattern_of in (
        ("justice_kind", "justice_kind", "edrsr_justice_kinds", _kind_pattern),
        ("judgment_form", "judgment_code", "edrsr_judgment_forms", _prefix),
        ("category", "category_code", "edrsr_cause_categories", lambda v: contains_pattern(fold(v))),
    ):
        value = getattr(filters, name)
        if not value:
            continue
        if _is_code(value):
            out.append(f"d.{column} = %({name})s")
            params[name] = int(value)
        else:
            lookups.append(
                (column, f"SELECT {column} FROM {table} WHERE secondlayer_fold(name) LIKE %({name})s " r"ESCAPE '\'")
            )
            params[name] = pattern_of(value)
    if filters.judge:
        out.append(r"d.judge_key LIKE %(judge)s ESCAPE '\'")
        params["judge"] = _prefix(filters.judge) + "%"
    if filters.cause_num:
        out.append("d.cause_num = %(cause_num)s")
        params["cause_num"] = " ".join(filters.cause_num.split())
    if filters.date_from:
        out.append("d.adjudication_date >= %(date_from)s")
        params["date_from"] = filters.date_from
    if filters.date_to:
        out.append("d.adjudication_date <= %(date_to)s")
        params["date_to"] = filters.date_to
    return out, lookups


async def conditions(conn: Connection, filters: Filters, params: dict[str, Any]) -> list[str]:
    """`where`'s conditions, the filters given in words first turned into the codes they name (one query of the
    small dictionaries): `d.court_code = ANY(codes)` lets the planner estimate a filter from the column's
    statistics, and combine its index with the words' index, where `IN (subquery)` left it guessing."""
    out, lookups = where(filters, params)
    if lookups:
        row = await conn.fetch_one(
            "SELECT " + ", ".join(f"ARRAY({sql}) AS codes{n}" for n, (_, sql) in enumerate(lookups)), params
        )
        assert row is not None  # a SELECT without FROM returns one row
        for n, (column, _) in enumerate(lookups):
            out.append(f"d.{column} = ANY(%(codes{n})s)")
            params[f"codes{n}"] = list(row[f"codes{n}"])
    return out


def _kind_pattern(value: str) -> str:
    return JUSTICE_KINDS.get(value.strip().lower()) or _prefix(value) + "%"


def finish(row: dict[str, Any]) -> dict[str, Any]:
    """A decision row as tools return it: the official review URL, dates as ISO strings, words for codes."""
    row["url"] = REVIEW_URL.format(doc_id=row["doc_id"])
    row["judgment_form"] = row.get("judgment_form") or "Документ"
    row["court"] = row.get("court") or f"суд {row['court_code']}"
    row["case_number"] = row.get("case_number") or ""
    for key, value in row.items():
        if isinstance(value, dt.date):
            row[key] = value.isoformat()
    return row


async def search_court_decisions(
    db: Database,
    query: str | None,
    filters: Filters | None = None,
    *,
    sort: str = "relevance",
    limit: int = 10,
    cursor: str | None = None,
) -> Page:
    """Decisions matching the words (anywhere in their text, case number, category, court and judge together) and
    the filters: best first among the RANKED_POOL newest matches, or newest first with sort="date" or without
    words. Ties are ordered newest first, then by doc_id, largest first."""
    filters = filters or Filters()
    scope = {"query": query, "sort": sort, **filters.scope()}
    offset = decode_cursor(cursor, "court", scope)
    params = _base_params(query or "", limit, offset) if query else {"limit": limit + 1, "offset": offset}
    async with db.connection() as conn:
        found = await conditions(conn, filters, params)
        if not query:
            sql = f"""
                SELECT {_ROW}, 0.0 AS rank, left(coalesce(t.text, ''), {SNIPPET_CHARS}) AS snippet,
                       t.text IS NOT NULL AS has_text
                FROM court_decisions d LEFT JOIN court_decision_texts t ON t.doc_id = d.doc_id
                WHERE {" AND ".join(found) or "true"}
                ORDER BY d.adjudication_date DESC, d.doc_id DESC
                LIMIT %(limit)s OFFSET %(offset)s
            """
            rows = await conn.fetch_all(sql, params)
            return _page([finish(r) for r in rows], "court", scope, offset, limit)
        size = RANKED_POOL if sort == "relevance" else offset + limit + 1
        pool = await _newest_matches(conn, found, params, filters, size)
        if sort == "relevance":  # best first; equal ranks newest first, then by doc_id (the pool's own order)
            pool.sort(key=lambda p: -p[2])
        page = pool[offset : offset + limit + 1]
        if not page:
            return _page([], "court", scope, offset, limit)
        params |= {
            "ids": [p[0] for p in page],
            "dates": [p[1] for p in page],
            "ranks": [p[2] for p in page],
            "oldest": min(p[1] for p in page),
            "newest": max(p[1] for p in page),
        }
        # Only the page's rows are read in words and with their texts.
        sql = f"""
            WITH q AS MATERIALIZED (SELECT to_tsquery('{CONFIG}', %(tsq)s) AS query)
            SELECT h.*, t.text IS NOT NULL AS has_text,
                   {_headline("coalesce(t.text, concat_ws('. ', h.case_number, h.category, h.court, h.judge))")}
                   AS snippet
            FROM (
                SELECT {_ROW}, p.rank, p.n
                FROM unnest(%(ids)s::bigint[], %(dates)s::date[], %(ranks)s::float8[])
                     WITH ORDINALITY AS p (doc_id, adjudication_date, rank, n)
                JOIN court_decisions d ON d.doc_id = p.doc_id AND d.adjudication_date = p.adjudication_date
                     AND d.adjudication_date BETWEEN %(oldest)s AND %(newest)s
            ) h
            LEFT JOIN court_decision_texts t ON t.doc_id = h.doc_id, q
            ORDER BY h.n
        """
        rows = await conn.fetch_all(sql, params)
    for row in rows:
        del row["n"]
    return _page([finish(r) for r in rows], "court", scope, offset, limit)


async def _years(conn: Connection) -> list[int] | None:
    """The years of court_decisions' partitions, newest first; None if a partition is not one the importer made."""
    rows = await conn.fetch_all(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'court_decisions'::regclass"
    )
    years = []
    for row in rows:
        name = str(row["relname"])
        suffix = name.removeprefix(PARTITION_NAME.format(year=0)[:-4])
        if not (suffix.isascii() and suffix.isdigit() and name == PARTITION_NAME.format(year=int(suffix))):
            return None
        if not 1 <= int(suffix) < dt.MAXYEAR:
            return None
        years.append(int(suffix))
    return sorted(years, reverse=True)


async def _newest_matches(
    conn: Connection, conditions: list[str], params: dict[str, Any], filters: Filters, size: int
) -> list[tuple[int, dt.date, float]]:
    """(doc_id, adjudication_date, rank) of the `size` newest decisions matching the words and the filters, newest
    first (ties by doc_id, largest first).

    Asked one yearly partition at a time, newest year first, stopping once `size` are found: a common word fills
    the pool from the newest year and never reads the older years' posting lists (a GIN index returns every
    match of its partition at once, so the work is that of the partitions asked), while a rare word costs little
    in each. In a partition the planner picks the GIN bitmap, or walks the date index when the words are common.
    """
    words = f"{WORDS.format(alias='d')} @@ to_tsquery('{CONFIG}', %(tsq)s)"
    order = "ORDER BY d.adjudication_date DESC, d.doc_id DESC LIMIT %(need)s"
    years = await _years(conn)
    spans = [(dt.date(y, 1, 1), dt.date(y + 1, 1, 1)) for y in years] if years is not None else [None]
    found: list[tuple[int, dt.date, float]] = []
    for span in spans:
        where_span = list(conditions)
        if span is not None:  # a constant range: the planner reads this one partition
            if (filters.date_from and span[1] <= filters.date_from) or (filters.date_to and span[0] > filters.date_to):
                continue
            where_span += ["d.adjudication_date >= %(year_from)s", "d.adjudication_date < %(year_to)s"]
        # The words' tsvectors ride along the sort (not detoasted) and are ranked only for the rows kept.
        rows = await conn.fetch_all(
            f"SELECT p.doc_id, p.adjudication_date, ts_rank_cd({WORDS.format(alias='p')}, "
            f"to_tsquery('{CONFIG}', %(tsq)s), 32) AS rank FROM ("
            f"SELECT d.doc_id, d.adjudication_date, d.search, d.text_search FROM court_decisions d "
            f"WHERE {' AND '.join([words, *where_span])} {order}) p",
            {**params, "year_from": span and span[0], "year_to": span and span[1], "need": size - len(found)},
        )
        found += [(r["doc_id"], r["adjudication_date"], float(r["rank"])) for r in rows]
        if len(found) >= size:
            break
    return found


async def _decision(db: Database, doc_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(
        f"""SELECT {_ROW}, t.text, t.error AS text_error FROM court_decisions d
            LEFT JOIN court_decision_texts t ON t.doc_id = d.doc_id
            WHERE d.doc_id = %(id)s ORDER BY d.adjudication_date DESC LIMIT 1""",
        {"id": doc_id},
    )


def _text_status(row: dict[str, Any]) -> str:
    if row.get("text") is not None:
        return "loaded"
    if row.get("text_error"):
        return f"not available: {row['text_error']}"
    if row.get("text_url"):
        return "not loaded yet (secondlayer import edrsr-texts fetches it)"
    return "not published yet: the register has no text file for this decision"


async def _case_rows(db: Database, case_number: str, *, limit: int = MAX_CASE_DOCUMENTS) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        f"""SELECT {_ROW}, EXISTS (SELECT 1 FROM court_decision_texts t WHERE t.doc_id = d.doc_id
                                   AND t.text IS NOT NULL) AS has_text
            FROM court_decisions d
            WHERE d.cause_num = %(case)s ORDER BY d.adjudication_date, d.doc_id LIMIT %(limit)s""",
        {"case": " ".join(case_number.split()), "limit": limit},
    )
    return [finish(r) for r in rows]


async def get_court_decision(db: Database, doc_id: int, *, offset: int = 0, max_chars: int = 20000) -> dict[str, Any]:
    """One decision in words, a window of its text, and the other documents of its case."""
    row = await _decision(db, doc_id)
    if row is None:
        raise RecordNotFound("doc_id", f"no court decision with id {doc_id}")
    text = row.pop("text")
    row["text_status"] = _text_status({**row, "text": text})
    row.pop("text_error")
    finish(row)
    row["has_text"] = text is not None
    others = []
    if row["case_number"]:
        others = [
            {k: r[k] for k in ("doc_id", "adjudication_date", "court", "instance", "judgment_form", "url")}
            for r in await _case_rows(db, row["case_number"])
            if r["doc_id"] != doc_id
        ]
    return {**row, **text_window(text or "", offset, max_chars), "case_documents": others}


async def get_case_decisions(db: Database, case_number: str) -> dict[str, Any]:
    """The chain of one case across instances: every document oldest first, grouped by instance in the order the
    case reached them, the latest decision marked."""
    rows = await _case_rows(db, case_number)
    latest = rows[-1]["doc_id"] if rows else None
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["latest"] = row["doc_id"] == latest
        groups.setdefault(row.get("instance") or "—", []).append(row)
    return {
        "case_number": " ".join(case_number.split()),
        "count": len(rows),
        "latest_doc_id": latest,
        "instances": [{"instance": name, "decisions": items} for name, items in groups.items()],
        "decisions": rows,
    }


# by: (the decisions' column counted, its key after counting, the join that gives the key its name, the order).
# Region and instance belong to the court: the decisions are counted by court first (an index-only scan of
# ix_court_decisions_court_date) and the few hundred court counts are summed by region or instance after.
_GROUP_SQL = {
    "year": ("extract(year FROM d.adjudication_date)::int", "g0.key", "", "", "key"),
    "court": ("d.court_code", "g0.key", "", "LEFT JOIN edrsr_courts n ON n.court_code = g.key", "count DESC, key"),
    "region": (
        "d.court_code",
        "gc.region_code",
        "LEFT JOIN edrsr_courts gc ON gc.court_code = g0.key",
        "LEFT JOIN edrsr_regions n ON n.region_code = g.key",
        "count DESC, key",
    ),
    "instance": (
        "d.court_code",
        "gc.instance_code",
        "LEFT JOIN edrsr_courts gc ON gc.court_code = g0.key",
        "LEFT JOIN edrsr_instances n ON n.instance_code = g.key",
        "count DESC, key",
    ),
    "form": (
        "d.judgment_code",
        "g0.key",
        "",
        "LEFT JOIN edrsr_judgment_forms n ON n.judgment_code = g.key",
        "count DESC, key",
    ),
    "justice_kind": (
        "d.justice_kind",
        "g0.key",
        "",
        "LEFT JOIN edrsr_justice_kinds n ON n.justice_kind = g.key",
        "count DESC, key",
    ),
    "category": (
        "d.category_code",
        "g0.key",
        "",
        "LEFT JOIN edrsr_cause_categories n ON n.category_code = g.key",
        "count DESC, key",
    ),
}


async def court_statistics(db: Database, by: str, filters: Filters, *, limit: int = 50) -> dict[str, Any]:
    """How many decisions match the filters, in groups (`by` one of GROUPS), largest first (years in order)."""
    params: dict[str, Any] = {"limit": limit}
    column, key, map_join, name_join, order = _GROUP_SQL[by]
    name = "NULL::text" if by == "year" else "n.name"
    async with db.connection() as conn:
        found = await conditions(conn, filters, params)
        sql = f"""
            WITH g0 AS (
                SELECT {column} AS key, count(*) AS count FROM court_decisions d
                WHERE {" AND ".join(found) or "true"} GROUP BY 1
            ), g AS (
                SELECT {key} AS key, sum(g0.count)::bigint AS count FROM g0 {map_join} GROUP BY 1
            )
            SELECT g.key, {name} AS name, g.count, sum(g.count) OVER () AS total, count(*) OVER () AS groups
            FROM g {name_join} ORDER BY {order} LIMIT %(limit)s
        """
        rows = await conn.fetch_all(sql, params)
    total = int(rows[0]["total"]) if rows else 0
    groups = int(rows[0]["groups"]) if rows else 0
    return {
        "by": by,
        "total": total,
        "group_count": groups,
        "groups": [
            {"code": None if r["key"] is None else str(r["key"]), "name": r["name"], "count": int(r["count"])}
            for r in rows
        ],
        "truncated": groups > len(rows),
    }


async def list_courts(
    db: Database,
    *,
    query: str | None = None,
    region: str | None = None,
    instance: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Courts of the register's dictionary by name, region and instance, with their codes."""
    params: dict[str, Any] = {"limit": limit}
    conditions = []
    if query:
        if _is_code(query.strip()):
            conditions.append("c.court_code = %(query)s")
            params["query"] = query.strip()
        else:
            conditions.append(r"secondlayer_fold(c.name) LIKE %(query)s ESCAPE '\'")
            params["query"] = contains_pattern(fold(query))
    if region:
        if _is_code(region):
            conditions.append("c.region_code = %(region)s")
            params["region"] = int(region)
        else:
            conditions.append(r"secondlayer_fold(r.name) LIKE %(region)s ESCAPE '\'")
            params["region"] = contains_pattern(fold(region))
    if instance:
        conditions.append("secondlayer_fold(i.name) LIKE %(instance)s")
        params["instance"] = INSTANCES[instance]
    rows = await db.fetch_all(
        f"""SELECT c.court_code, c.name, i.name AS instance, r.name AS region, c.instance_code, c.region_code,
                   count(*) OVER () AS total
            FROM edrsr_courts c
            LEFT JOIN edrsr_instances i ON i.instance_code = c.instance_code
            LEFT JOIN edrsr_regions r ON r.region_code = c.region_code
            WHERE {" AND ".join(conditions) or "true"}
            ORDER BY c.name, c.court_code LIMIT %(limit)s""",
        params,
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        del row["total"]
    return {"count": total, "courts": rows, "truncated": total > len(rows)}


def _lines(*pairs: tuple[str, Any]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in pairs if value not in (None, "", []))


async def court_document(db: Database, key: str) -> Document:
    """ChatGPT's `fetch` of "court:<doc_id>": the decision in words, then its text."""
    if not (key.isascii() and key.isdigit() and len(key) <= 18):
        raise RecordNotFound("id", f"no court decision {key!r}: court ids are numbers")
    row = await _decision(db, int(key))
    if row is None:
        raise RecordNotFound("id", f"no court decision with id {key}")
    text = row.pop("text")
    status = _text_status({**row, "text": text})
    row.pop("text_error")
    finish(row)
    header = _lines(
        ("Справа", row["case_number"]),
        ("Суд", row["court"]),
        ("Інстанція", row["instance"]),
        ("Регіон", row["region"]),
        ("Суддя", row["judge"]),
        ("Форма рішення", row["judgment_form"]),
        ("Вид судочинства", row["justice_kind"]),
        ("Категорія", row["category"]),
        ("Дата ухвалення", row["adjudication_date"]),
        ("Текст", None if text is not None else status),
    )
    row["has_text"] = text is not None
    return Document(court_title(row), row["url"], header, text or "", row)
