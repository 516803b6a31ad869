"""Reading the register: companies by name, code and filters, one company whole, people, and the ownership graph."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from app.corpus.edr.parse import KIND_LABELS, STATUS_CODES, STATUSES
from app.corpus.edrpou import is_valid_edrpou
from app.corpus.records import Document, RecordNotFound, _lines
from app.corpus.search import Page, decode_cursor, encode_cursor
from app.corpus.text import CONFIG, QueryError, build_tsquery, fold
from app.db import Database
from app.db.expressions import contains_pattern

# The register has no public page per entity: its free search is where a code or a name is looked up.
REGISTER_URL = "https://usr.minjust.gov.ua/content/free-search"
DATASET_URL = "https://data.gov.ua/dataset/1c7f3815-3259-45e0-bdf1-64dca07ddc10"
PERSON_ROLES = ("head", "signer", "founder", "beneficiary", "member", "branch_signer")
ROLE_LABELS = {
    "head": "керівник",
    "signer": "підписант",
    "founder": "засновник",
    "beneficiary": "кінцевий бенефіціарний власник",
    "member": "член керівного органу",
    "branch_signer": "керівник відокремленого підрозділу",
}
MAX_DEPTH = 3
MAX_NODES = 300  # a graph stops growing here (the answer says it was cut)
RANKED_POOL = 500

_SUMMARY = (
    "c.id, c.kind, c.edrpou, c.name, c.short_name, c.status, c.status_code, c.region, c.address, c.head, "
    "c.registered_on, c.vanished_at, c.demo"
)


def company_url(_row: dict[str, Any]) -> str:
    return REGISTER_URL


def company_title(row: dict[str, Any]) -> str:
    code = f"ЄДРПОУ {row['edrpou']}" if row.get("edrpou") else KIND_LABELS.get(row.get("kind", ""), "")
    return f"{row['name']} ({code})"


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        elif key in ("share", "share_percent", "capital") and value is not None:
            value = float(value)
        out[key] = value
    return out


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    row = _plain(row)
    row["vanished"] = row.pop("vanished_at") is not None
    row["url"] = company_url(row)
    return row


def person_key(name: str) -> str:
    """A name folded as the index folds it, words single-spaced: "Іваненко  Іван" -> "іваненко іван"."""
    key = " ".join(fold(name).split())
    if not any(ch.isalpha() for ch in key):
        raise QueryError("the name has no letters to search for")
    return key


def person_prefix(name: str) -> str:
    """A LIKE pattern for names that start with `name` (the register writes surname, first name, patronymic)."""
    return contains_pattern(person_key(name))[1:]  # the leading % dropped: a prefix, which the b-tree serves


def status_filter(status: str) -> tuple[str, str]:
    """(SQL, value) for a status given as a code (registered, ...) or a word as published (припинено)."""
    if status in STATUS_CODES:
        return "c.status_code = %(status)s", status
    folded = fold(status.strip())
    code = STATUSES.get(folded)
    if code is not None:
        return "c.status_code = %(status)s", code
    return r"secondlayer_fold(c.status) LIKE %(status)s ESCAPE '\'", contains_pattern(folded)


async def search_companies(
    db: Database,
    query: str | None,
    *,
    status: str | None = None,
    kind: str | None = None,
    region: str | None = None,
    kved: str | None = None,
    person: str | None = None,
    person_role: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Page:
    """Entities by name or code, narrowed by the filters; with only a person, the entities that person is in."""
    scope = {
        "query": query,
        "status": status,
        "kind": kind,
        "region": region,
        "kved": kved,
        "person": person,
        "person_role": person_role,
    }
    offset = decode_cursor(cursor, "edr", scope)
    params: dict[str, Any] = {"limit": limit + 1, "offset": offset}
    filters: list[str] = []
    if status:
        sql, params["status"] = status_filter(status)
        filters.append(sql)
    if kind:
        filters.append("c.kind = %(kind)s")
        params["kind"] = kind
    if region:
        filters.append(r"secondlayer_fold(c.region) LIKE %(region)s ESCAPE '\'")
        params["region"] = contains_pattern(fold(region.strip()))
    if kved:
        filters.append("c.kveds @> ARRAY[%(kved)s]::text[]")
        params["kved"] = kved.strip()
    if person:
        roles = [person_role] if person_role else ["head", "founder", "beneficiary"]
        filters.append(
            "c.id IN (SELECT p.company_id FROM company_persons p "
            r"WHERE secondlayer_fold(p.name) LIKE %(person)s ESCAPE '\' AND p.role = ANY(%(roles)s))"
        )
        params["person"] = person_prefix(person)
        params["roles"] = roles
    code = query.strip() if query else ""
    if code.isascii() and code.isdigit() and len(code) == 8:
        filters.append("c.edrpou = %(code)s")
        params["code"] = code
        rank = "1.0"
    elif query:
        filters.append(f"c.search @@ to_tsquery('{CONFIG}', %(tsq)s)")
        params["tsq"] = build_tsquery(query)
        rank = f"ts_rank_cd(c.search, to_tsquery('{CONFIG}', %(tsq)s), 32)"
    elif person:
        rank = "1.0"
    else:
        raise QueryError("give a name or EDRPOU code (query) or a person's name (person)")
    where = " AND ".join(filters)
    sql = f"""
        WITH pool AS MATERIALIZED (
            SELECT c.id FROM companies c WHERE {where}
            ORDER BY c.vanished_at IS NOT NULL, c.status_code <> 'registered', c.id LIMIT {RANKED_POOL}
        )
        SELECT {_SUMMARY}, {rank} AS rank
        FROM pool JOIN companies c USING (id)
        ORDER BY rank DESC, c.vanished_at IS NOT NULL, c.status_code <> 'registered', c.name, c.id
        LIMIT %(limit)s OFFSET %(offset)s
    """
    rows = await db.fetch_all(sql, params)
    more = len(rows) > limit
    results = []
    for row in rows[:limit]:
        item = _summary(row)
        item["rank"] = round(float(item["rank"]), 6)
        results.append(item)
    following = offset + limit
    return Page(results, encode_cursor("edr", scope, following) if more and following <= 5000 else None)


async def _company_row(db: Database, key: str) -> dict[str, Any]:
    row = await db.fetch_one(
        "SELECT id, kind, edrpou, name, short_name, status, status_code, address, region, registered_on, capital, "
        "head, activities, termination, bankruptcy, tax_registrations, details, vanished_at, updated_at, demo "
        "FROM companies WHERE id = %(key)s",
        {"key": key.strip()},
    )
    if row is None:
        raise RecordNotFound("edrpou", f"no entity {key} in the register")
    return row


async def get_company(db: Database, key: str) -> dict[str, Any]:
    """Everything the register holds on one entity: people, links, history, with the register's URL."""
    row = await _company_row(db, key)
    people = await db.fetch_all(
        "SELECT role, position, name, code, share, share_percent, details FROM company_persons "
        "WHERE company_id = %(id)s ORDER BY role, position",
        {"id": row["id"]},
    )
    links = await db.fetch_all(
        "SELECT k.relation, k.position, k.name, k.code, k.details, c.id IS NOT NULL AS in_register "
        "FROM company_links k LEFT JOIN companies c ON c.edrpou = k.code "
        "WHERE k.company_id = %(id)s ORDER BY k.relation, k.position",
        {"id": row["id"]},
    )
    history = await db.fetch_all(
        "SELECT field, value, recorded_at, import_id FROM company_history WHERE company_id = %(id)s ORDER BY id",
        {"id": row["id"]},
    )
    record = _plain(row)
    record["kind_label"] = KIND_LABELS[row["kind"]]
    record["vanished"] = row["vanished_at"] is not None
    record["url"] = company_url(row)
    record["dataset_url"] = DATASET_URL

    def of(role: str) -> list[dict[str, Any]]:
        chosen = [_plain(p) for p in people if p["role"] == role]
        return [{k: v for k, v in p.items() if k not in ("role", "position")} for p in chosen]

    record["signers"] = of("signer")
    record["heads"] = of("head")
    record["founders"] = of("founder")
    record["beneficiaries"] = of("beneficiary")
    record["members"] = of("member")
    for relation, name in (("branch", "branches"), ("predecessor", "predecessors"), ("assignee", "assignees")):
        record[name] = [
            {k: v for k, v in link.items() if k not in ("relation", "position")}
            for link in links
            if link["relation"] == relation
        ]
    record["history"] = [_plain(h) for h in history]
    return record


async def search_persons(
    db: Database, name: str, *, role: str | None = None, limit: int = 20, cursor: str | None = None
) -> Page:
    """Every entity a person is named in, with the role (and share for founders); exact full names first."""
    scope = {"name": name, "role": role}
    offset = decode_cursor(cursor, "edr-persons", scope)
    params: dict[str, Any] = {
        "prefix": person_prefix(name),
        "exact": person_key(name),
        "limit": limit + 1,
        "offset": offset,
        "roles": [role] if role else list(PERSON_ROLES),
    }
    sql = f"""
        SELECT p.name AS person, p.role, p.share, p.share_percent, p.details, p.code,
               {_SUMMARY}
        FROM company_persons p JOIN companies c ON c.id = p.company_id
        WHERE secondlayer_fold(p.name) LIKE %(prefix)s ESCAPE '\\' AND p.role = ANY(%(roles)s)
        ORDER BY secondlayer_fold(p.name) <> %(exact)s, c.vanished_at IS NOT NULL, p.name, c.name, c.id, p.role
        LIMIT %(limit)s OFFSET %(offset)s
    """
    rows = await db.fetch_all(sql, params)
    more = len(rows) > limit
    results = []
    for row in rows[:limit]:
        row = _plain(row)
        person = {k: row.pop(k) for k in ("person", "role", "share", "share_percent", "details", "code")}
        results.append(
            {
                "person": person["person"],
                "role": person["role"],
                "role_label": ROLE_LABELS.get(person["role"], person["role"]),
                "share": person["share"],
                "share_percent": person["share_percent"],
                "details": person["details"],
                "company": _summary({**row, "vanished_at": row["vanished_at"]}),
            }
        )
    following = offset + limit
    return Page(results, encode_cursor("edr-persons", scope, following) if more and following <= 5000 else None)


async def company_relations(db: Database, edrpou: str, *, depth: int = 1) -> dict[str, Any]:
    """The ownership graph around an entity, breadth first up to `depth` steps: founders that are entities, the
    entities it founded, predecessors and assignees. Edges point from owner to owned, and from predecessor to
    successor."""
    root = await _company_row(db, edrpou)
    if root["edrpou"] is None:
        raise RecordNotFound("edrpou", f"{edrpou} has no EDRPOU code, so no entity can name it")
    nodes: dict[str, dict[str, Any]] = {root["edrpou"]: {"edrpou": root["edrpou"], "depth": 0}}
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    frontier = [root["edrpou"]]
    truncated = False
    for level in range(1, depth + 1):
        found: list[tuple[str, str, str, dict[str, Any], str | None]] = []  # (from, to, type, extra, name)
        # Six lookups, each by an index: the entity's own list (company_id is the code) or the code it is named by.
        rows = await db.fetch_all(
            """
            SELECT 'founder' AS type, p.code AS source, p.company_id AS target, p.code AS named_code, p.name AS named,
                   p.share, p.share_percent
            FROM company_persons p
            WHERE p.role = 'founder' AND p.code IS NOT NULL
              AND (p.company_id = ANY(%(codes)s) OR p.code = ANY(%(codes)s))
            UNION ALL
            SELECT 'predecessor', k.code, k.company_id, k.code, k.name, NULL, NULL
            FROM company_links k
            WHERE k.relation = 'predecessor' AND k.code IS NOT NULL
              AND (k.company_id = ANY(%(codes)s) OR k.code = ANY(%(codes)s))
            UNION ALL
            SELECT 'predecessor', k.company_id, k.code, k.code, k.name, NULL, NULL
            FROM company_links k
            WHERE k.relation = 'assignee' AND k.code IS NOT NULL
              AND (k.company_id = ANY(%(codes)s) OR k.code = ANY(%(codes)s))
            """,
            {"codes": frontier},
        )
        for row in rows:
            extra = {k: float(row[k]) for k in ("share", "share_percent") if row[k] is not None}
            found.append((row["source"], row["target"], row["type"], extra, None))
            for code in (row["source"], row["target"]):
                nodes.setdefault(code, {"edrpou": code, "depth": level})
            nodes[row["named_code"]].setdefault("name_as_written", row["named"])
        for source, target, kind, extra, _ in found:
            edges.setdefault((source, target, kind), {"from": source, "to": target, "type": kind, **extra})
        frontier = [code for code, node in nodes.items() if node["depth"] == level]
        if len(nodes) > MAX_NODES:
            truncated = True
            break
        if not frontier:
            break
    described = await _describe(db, nodes.keys())
    out_nodes = []
    for code, node in nodes.items():
        known = described.get(code)
        if known is not None:
            out_nodes.append({**_summary(known), "depth": node["depth"], "in_register": True})
        else:
            out_nodes.append(
                {
                    "id": code,
                    "edrpou": code,
                    "name": node.get("name_as_written") or code,
                    "depth": node["depth"],
                    "in_register": False,
                    "url": REGISTER_URL,
                }
            )
    out_nodes.sort(key=lambda n: (n["depth"], n["edrpou"] or ""))
    return {
        "edrpou": root["edrpou"],
        "name": root["name"],
        "depth": depth,
        "nodes": out_nodes,
        "edges": sorted(edges.values(), key=lambda e: (e["type"], e["from"], e["to"])),
        "truncated": truncated,
        "url": REGISTER_URL,
    }


async def _describe(db: Database, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    sql = f"SELECT {_SUMMARY} FROM companies c WHERE c.edrpou = ANY(%(codes)s)"
    rows = await db.fetch_all(sql, {"codes": list(codes)})
    return {row["edrpou"]: row for row in rows}


def valid_key(value: str) -> bool:
    """An EDRPOU code with a correct check digit, or an entrepreneur's id (fop-...)."""
    value = value.strip()
    hex_digits = set("0123456789abcdef")
    return is_valid_edrpou(value) or (value.startswith("fop-") and len(value) == 24 and set(value[4:]) <= hex_digits)


async def company_document(db: Database, key: str) -> Document:
    """An entity as ChatGPT's `fetch` shows it: the register's facts as labelled lines."""
    if not valid_key(key):
        raise RecordNotFound("id", f"no entity {key!r}: company ids are an EDRPOU code or fop-...")
    company = await get_company(db, key)
    people = [
        *(("Керівник", p) for p in company["heads"]),
        *(("Підписант", p) for p in company["signers"]),
        *(("Засновник", p) for p in company["founders"]),
        *(("Кінцевий бенефіціарний власник", p) for p in company["beneficiaries"]),
    ]
    lines = [
        f"{label}: {p['name']}"
        + (f" (ЄДРПОУ {p['code']})" if p.get("code") else "")
        + (f", частка {p['share']:,.2f} грн" if p.get("share") is not None else "")
        + (f" ({p['share_percent']}%)" if p.get("share_percent") is not None else "")
        + (f"; {p['details']}" if label.startswith("Кінцевий") and p.get("details") else "")
        for label, p in people
    ]
    activities = "; ".join(
        f"{a.get('code') or ''} {a.get('name') or ''}".strip() + (" (основний)" if a.get("primary") else "")
        for a in company["activities"]
    )
    header = _lines(
        ("ЄДРПОУ", company["edrpou"]),
        ("Вид", company["kind_label"]),
        ("Скорочена назва", company["short_name"]),
        ("Стан", company["status"] + (" (немає в останньому наборі даних)" if company["vanished"] else "")),
        ("Адреса", company["address"]),
        ("Дата реєстрації", company["registered_on"]),
        ("Статутний капітал, грн", company["capital"]),
        ("Види діяльності", activities),
        ("Правонаступники", "; ".join(f"{a['name'] or ''} {a['code'] or ''}".strip() for a in company["assignees"])),
        ("Попередники", "; ".join(f"{a['name'] or ''} {a['code'] or ''}".strip() for a in company["predecessors"])),
    )
    metadata = {
        k: company[k]
        for k in ("id", "kind", "edrpou", "name", "status", "status_code", "region", "head", "vanished", "demo")
    }
    return Document(company_title(company), company["url"], header, "\n".join(lines), metadata)
