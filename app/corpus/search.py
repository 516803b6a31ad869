"""Ranked full-text search over the corpus, with ts_headline snippets and opaque page cursors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.corpus.laws.formats import edition_url
from app.corpus.laws.queries import ACT_COLUMNS, act_record
from app.corpus.text import APOSTROPHE, APOSTROPHES, CONFIG, build_tsquery, fold
from app.db import Database
from app.db.expressions import contains_pattern

# Deeper pages are refused: nobody reads result 5,000, and OFFSET cost grows with depth.
MAX_OFFSET = 5000
HEADLINE = 'StartSel=**, StopSel=**, MaxWords=35, MinWords=15, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "'
# Only the first characters of a very long document are scanned for the snippet.
HEADLINE_CHARS = 60000
# Ranking reads each match's whole tsvector, which costs tens of microseconds a row; so the matches ranked are
# the RANKED_POOL most recent ones (all of them for any query this specific). The candidates come from the GIN
# index and a narrow heap (toast_tuple_target keeps texts and tsvectors out of line), which stays fast.
RANKED_POOL = 500


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


async def search_legislation(
    db: Database,
    query: str,
    *,
    status: str | None = None,
    act_type: str | None = None,
    issuer: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Page:
    """Acts whose number or title match the query, best first; status, type and issuer are words of the
    publisher's dictionaries (part of them: `втратив` finds both kinds of lost force)."""
    scope = {
        "query": query,
        "status": status,
        "type": act_type,
        "issuer": issuer,
        "date_from": date_from,
        "date_to": date_to,
    }
    offset = decode_cursor(cursor, "legislation", scope)
    params = _base_params(query, limit, offset)
    filters = []
    for name, value, dictionary, test in (
        ("status", status, "stan", "a.status = ANY"),
        ("type", act_type, "typ", "a.types && "),
        ("issuer", issuer, "org", "a.issuers && "),
    ):
        if value:
            filters.append(
                f"AND {test}(ARRAY(SELECT code FROM legislation_dictionary WHERE dictionary = '{dictionary}' "
                rf"AND secondlayer_fold(name) LIKE %({name})s ESCAPE '\'))"
            )
            params[name] = _like(value.strip())
    if date_from:
        filters.append("AND a.adopted_on >= %(date_from)s")
        params["date_from"] = date_from
    if date_to:
        filters.append("AND a.adopted_on <= %(date_to)s")
        params["date_to"] = date_to
    recency = "a.adopted_on DESC NULLS LAST, a.nreg"
    sql = f"""
        WITH {_pool("legislative_acts", "a", "nreg", recency, filters)}
        SELECT {ACT_COLUMNS}, hits.rank, {_headline("a.title")} AS snippet
        FROM hits JOIN legislative_acts a USING (nreg), q
        ORDER BY hits.rank DESC, {recency}
    """
    rows = await db.fetch_all(sql, params)
    results = [{**act_record(row), "rank": row["rank"], "snippet": row["snippet"]} for row in rows]
    return _page(results, "legislation", scope, offset, limit)


async def search_articles(db: Database, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Articles of the acts' current editions (the latest not after today) matching the query, best first."""
    params = _base_params(query, limit, 0)
    sql = f"""
        WITH q AS MATERIALIZED (SELECT to_tsquery('{CONFIG}', %(tsq)s) AS query),
        pool AS MATERIALIZED (
            SELECT t.hash FROM legislation_texts t WHERE t.search @@ to_tsquery('{CONFIG}', %(tsq)s) LIMIT {RANKED_POOL}
        )
        SELECT s.nreg, s.number, s.title, s.edition_date, a.title AS act_title,
               ts_rank_cd(t.search, q.query, 32) AS rank
        FROM pool JOIN legislation_texts t USING (hash)
             JOIN legislation_structure s ON s.text_hash = t.hash
             JOIN legislative_acts a ON a.nreg = s.nreg, q
        WHERE s.edition_date = (SELECT max(e.edition_date) FROM legislation_editions e
                                WHERE e.nreg = s.nreg AND e.edition_date <= current_date)
        ORDER BY rank DESC, s.nreg, s.position
        LIMIT %(limit)s
    """
    rows = await db.fetch_all(sql, params)
    for row in rows:
        row["url"] = edition_url(row["nreg"], row.pop("edition_date"))
        row["rank"] = round(float(row["rank"]), 6)
    return rows[:limit]


async def search_everything(db: Database, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """ChatGPT's `search`: the best matches of every kind, as {id, title, url}, best first."""
    from app.corpus.edr.queries import company_title, search_companies  # both build on this module
    from app.corpus.edrsr.queries import search_court_decisions
    from app.corpus.rada.queries import deputy_title, search_bills, search_deputies
    from app.corpus.records import act_title, bill_title, court_title

    share = max(3, limit // 2)
    found: list[tuple[float, dict[str, Any]]] = []
    court = await search_court_decisions(db, query, limit=share)
    for row in court.results:
        found.append((row["rank"], {"id": f"court:{row['doc_id']}", "title": court_title(row), "url": row["url"]}))
    for row in (await search_legislation(db, query, limit=share)).results:
        found.append((row["rank"], {"id": f"act:{row['nreg']}", "title": act_title(row), "url": row["url"]}))
    for row in await search_articles(db, query, limit=share):
        title = f"{row['act_title']}, стаття {row['number']}" + (f". {row['title']}" if row["title"] else "")
        found.append((row["rank"], {"id": f"article:{row['nreg']}:{row['number']}", "title": title, "url": row["url"]}))
    for row in (await search_bills(db, query, limit=share)).results:
        found.append((row["rank"], {"id": f"bill:{row['number']}", "title": bill_title(row), "url": row["url"]}))
    for row in (await search_deputies(db, query, limit=max(3, share // 2), keep_rank=True)).results:
        found.append((row["rank"], {"id": f"deputy:{row['person_id']}", "title": deputy_title(row), "url": row["url"]}))
    for row in (await search_companies(db, query, limit=share)).results:
        found.append((row["rank"], {"id": f"company:{row['id']}", "title": company_title(row), "url": row["url"]}))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [item for _, item in found[:limit]]
