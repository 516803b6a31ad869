"""Ranked full-text search over the corpus, with ts_headline snippets and opaque page cursors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.corpus.records import act_url, court_url
from app.corpus.text import APOSTROPHE, APOSTROPHES, CONFIG, build_tsquery, fold
from app.db import Database
from app.db.expressions import contains_pattern

# Deeper pages are refused: nobody reads result 5,000, and OFFSET cost grows with depth.
MAX_OFFSET = 5000
PROCEEDING_KINDS = {
    "civil": "Цивільне",
    "criminal": "Кримінальне",
    "commercial": "Господарське",
    "administrative": "Адміністративне",
    "administrative_offense": "Справи про адміністративні правопорушення",
}
HEADLINE = 'StartSel=**, StopSel=**, MaxWords=35, MinWords=15, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "'
# Only the first characters of a very long document are scanned for the snippet.
HEADLINE_CHARS = 60000
# Ranking reads each match's whole tsvector, which costs tens of microseconds a row; so the matches ranked are
# the RANKED_POOL most recent ones (all of them for any query this specific). The candidates come from the GIN
# index and a narrow heap (toast_tuple_target keeps texts and tsvectors out of line), which stays fast.
RANKED_POOL = 500
# Above this share of the table, the pool is read in date order from the b-tree, stopping after RANKED_POOL
# matches; below it, the GIN bitmap and a sort win. PostgreSQL's planner cannot see that the per-row @@ test
# of the first plan reads a TOASTed tsvector (tens of microseconds), so the choice is made here from its own
# row estimate (EXPLAIN) and reltuples.
BROAD_SHARE = 0.15


class CursorError(ValueError):
    """The cursor is malformed or belongs to another search."""


@dataclass
class Page:
    """One page of results and the cursor of the next page (None on the last one)."""

    results: list[dict[str, Any]]
    next_cursor: str | None


def _scope(kind: str, params: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        [kind, {k: v for k, v in sorted(params.items()) if v is not None}], default=str, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(kind: str, params: Mapping[str, Any], offset: int) -> str:
    payload = json.dumps({"s": _scope(kind, params), "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, params: Mapping[str, Any]) -> int:
    """The offset a cursor stands for; CursorError unless it came from this same search."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        offset = payload["o"]
        scope = payload["s"]
    except (ValueError, TypeError, KeyError):
        raise CursorError("not a cursor returned by this search") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset <= MAX_OFFSET:
        raise CursorError("not a cursor returned by this search")
    if scope != _scope(kind, params):
        raise CursorError("the cursor belongs to a different search; repeat the same query and filters")
    return offset


def _like(value: str) -> str:
    """A LIKE pattern (escape character LIKE_ESCAPE) for folded values that contain `value`."""
    return contains_pattern(fold(value))


def _headline(expr: str) -> str:
    # Apostrophes are unified as in the index, so that words like пʼять highlight; case stays as written.
    return (
        f"ts_headline('{CONFIG}', translate(left({expr}, {HEADLINE_CHARS}), %(apostrophes)s, %(apostrophe)s), "
        f"q.query, %(headline)s)"
    )


def _pool(table: str, alias: str, key: str, recency: str, filters: list[str], pool_order: str = "") -> str:
    """CTEs `pool` (the most recent matches) and `hits` (one page of them, best ranked first)."""
    return f"""
        q AS MATERIALIZED (SELECT to_tsquery('{CONFIG}', %(tsq)s) AS query),
        pool AS MATERIALIZED (
            SELECT {alias}.{key} FROM {table} {alias}
            WHERE {alias}.search @@ to_tsquery('{CONFIG}', %(tsq)s) {" ".join(filters)}
            ORDER BY {pool_order or recency}
            LIMIT {RANKED_POOL}
        ),
        hits AS (
            SELECT {alias}.{key}, ts_rank_cd({alias}.search, q.query, 32) AS rank
            FROM pool JOIN {table} {alias} USING ({key}), q
            ORDER BY rank DESC, {recency}
            LIMIT %(limit)s OFFSET %(offset)s
        )"""


async def _is_broad(db: Database, table: str, where: str, params: dict[str, Any]) -> bool:
    """Whether the planner expects the matches to be a large share of the table (see BROAD_SHARE)."""
    plan = await db.fetch_value(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {where}", params)
    total = await db.fetch_value("SELECT reltuples FROM pg_class WHERE oid = %(t)s::regclass", {"t": table})
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimated = float(plan[0]["Plan"]["Plan Rows"])
    return bool(total and total > 0 and estimated > BROAD_SHARE * float(total))


def _base_params(query: str, limit: int, offset: int) -> dict[str, Any]:
    return {
        "tsq": build_tsquery(query),
        "limit": limit + 1,
        "offset": offset,
        "headline": HEADLINE,
        "apostrophes": APOSTROPHES,
        "apostrophe": APOSTROPHE * len(APOSTROPHES),
    }


def _page(rows: list[dict[str, Any]], kind: str, params: Mapping[str, Any], offset: int, limit: int) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    following = offset + limit
    next_cursor = encode_cursor(kind, params, following) if more and following <= MAX_OFFSET else None
    for row in rows:
        row["rank"] = round(float(row["rank"]), 6)
        for key, value in row.items():
            if isinstance(value, dt.date):
                row[key] = value.isoformat()
    return Page(rows, next_cursor)


async def search_court_decisions(
    db: Database,
    query: str,
    *,
    court: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    proceeding_kind: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Page:
    """Court decisions matching the query, best first; filters narrow the matches."""
    scope = {
        "query": query,
        "court": court,
        "date_from": date_from,
        "date_to": date_to,
        "proceeding_kind": proceeding_kind,
    }
    offset = decode_cursor(cursor, "court", scope)
    params = _base_params(query, limit, offset)
    filters = []
    if court:
        filters.append(r"AND d.court_key LIKE %(court)s ESCAPE '\'")
        params["court"] = _like(court)
    if date_from:
        filters.append("AND d.adjudication_date >= %(date_from)s")
        params["date_from"] = date_from
    if date_to:
        filters.append("AND d.adjudication_date <= %(date_to)s")
        params["date_to"] = date_to
    if proceeding_kind:
        filters.append("AND d.proceeding_kind = %(proceeding_kind)s")
        params["proceeding_kind"] = proceeding_kind
    recency = "d.adjudication_date DESC, d.doc_id DESC"
    where = f"court_decisions d WHERE d.search @@ to_tsquery('{CONFIG}', %(tsq)s) {' '.join(filters)}"
    # `- 0` hides the date order from the b-tree, leaving the planner the GIN bitmap for narrower queries.
    pool_order = (
        recency
        if await _is_broad(db, "court_decisions", where, params)
        else "d.adjudication_date - 0 DESC, d.doc_id DESC"
    )
    sql = f"""
        WITH {_pool("court_decisions", "d", "doc_id", recency, filters, pool_order)}
        SELECT d.doc_id, d.case_number, d.court, d.judge, d.judgment_form, d.proceeding_kind, d.category,
               d.adjudication_date, d.source_url, d.demo, hits.rank, {_headline("d.full_text")} AS snippet
        FROM hits JOIN court_decisions d USING (doc_id), q
        ORDER BY hits.rank DESC, {recency}
    """
    rows = await db.fetch_all(sql, params)
    for row in rows:
        row["url"] = court_url(row)
        row["proceeding_kind_label"] = PROCEEDING_KINDS.get(row["proceeding_kind"], row["proceeding_kind"])
        del row["source_url"]
    return _page(rows, "court", scope, offset, limit)


async def search_legislation(
    db: Database,
    query: str,
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Page:
    """Acts (by title and text) and their articles matching the query, best first."""
    scope = {"query": query, "kind": kind, "status": status}
    offset = decode_cursor(cursor, "legislation", scope)
    params = _base_params(query, limit, offset)
    filters = []
    if kind:
        filters.append("AND secondlayer_fold(a.kind) = %(kind)s")
        params["kind"] = fold(kind.strip())
    if status:
        filters.append("AND secondlayer_fold(a.status) = %(status)s")
        params["status"] = fold(status.strip())
    where = " ".join(filters)
    sql = f"""
        WITH q AS MATERIALIZED (SELECT to_tsquery('{CONFIG}', %(tsq)s) AS query),
        act_pool AS MATERIALIZED (
            SELECT a.reg_number FROM legislative_acts a
            WHERE a.search @@ to_tsquery('{CONFIG}', %(tsq)s) {where}
            ORDER BY a.adopted_on DESC NULLS LAST, a.reg_number LIMIT {RANKED_POOL}
        ),
        article_pool AS MATERIALIZED (
            SELECT ar.reg_number, ar.number FROM legislation_articles ar JOIN legislative_acts a USING (reg_number)
            WHERE ar.search @@ to_tsquery('{CONFIG}', %(tsq)s) {where}
            ORDER BY a.adopted_on DESC NULLS LAST, ar.reg_number, ar.position LIMIT {RANKED_POOL}
        ),
        hits AS (
            SELECT * FROM (
                SELECT 'act' AS type, a.reg_number, NULL::text AS number, NULL::int AS position,
                       ts_rank_cd(a.search, q.query, 32) AS rank
                FROM act_pool JOIN legislative_acts a USING (reg_number), q
                UNION ALL
                SELECT 'article', ar.reg_number, ar.number, ar.position, ts_rank_cd(ar.search, q.query, 32)
                FROM article_pool JOIN legislation_articles ar USING (reg_number, number), q
            ) found
            ORDER BY rank DESC, reg_number, position NULLS FIRST
            LIMIT %(limit)s OFFSET %(offset)s
        )
        SELECT hits.type, a.reg_number, a.title, a.kind, a.status, a.source_url, a.demo, hits.number,
               ar.heading, hits.rank, {_headline("coalesce(ar.text, a.text)")} AS snippet
        FROM hits JOIN legislative_acts a USING (reg_number)
             LEFT JOIN legislation_articles ar ON ar.reg_number = hits.reg_number AND ar.number = hits.number,
             q
        ORDER BY hits.rank DESC, hits.reg_number, hits.position NULLS FIRST
    """
    rows = await db.fetch_all(sql, params)
    for row in rows:
        row["url"] = act_url(row)
        del row["source_url"]
        if row["type"] == "act":
            del row["number"], row["heading"]
    return _page(rows, "legislation", scope, offset, limit)


async def search_everything(db: Database, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """ChatGPT's `search`: the best matches of every kind, as {id, title, url}, best first."""
    from app.corpus.edr.queries import company_title, search_companies  # both build on this module
    from app.corpus.rada.queries import search_bills
    from app.corpus.records import act_title, bill_title, court_title

    share = max(3, limit // 2)
    found: list[tuple[float, dict[str, Any]]] = []
    court = await search_court_decisions(db, query, limit=share)
    for row in court.results:
        found.append((row["rank"], {"id": f"court:{row['doc_id']}", "title": court_title(row), "url": row["url"]}))
    legislation = await search_legislation(db, query, limit=share)
    for row in legislation.results:
        if row["type"] == "act":
            item = {"id": f"act:{row['reg_number']}", "title": act_title(row), "url": row["url"]}
        else:
            item = {
                "id": f"article:{row['reg_number']}:{row['number']}",
                "title": f"{row['title']}, стаття {row['number']}"
                + (f". {row['heading']}" if row.get("heading") else ""),
                "url": row["url"],
            }
        found.append((row["rank"], item))
    for row in (await search_bills(db, query, limit=share)).results:
        found.append((row["rank"], {"id": f"bill:{row['number']}", "title": bill_title(row), "url": row["url"]}))
    for row in (await search_companies(db, query, limit=share)).results:
        found.append((row["rank"], {"id": f"company:{row['id']}", "title": company_title(row), "url": row["url"]}))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [item for _, item in found[:limit]]
