"""Reading Parliament: bills (search, one bill with its passage and documents), deputies (search, one deputy with
posts, attendance and bills), factions and committees of a convocation with member counts and heads."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from app.corpus.rada.feed import deputy_url
from app.corpus.records import Document, RecordNotFound, bill_title
from app.corpus.search import Page, _base_params, _headline, _like, _page, decode_cursor
from app.corpus.text import CONFIG, build_tsquery, fold
from app.db import Database

CONCLUSION_KIND_ID = 100  # the Main Scientific-Expert Department's conclusion, in the documents of a bill
FACTION_KINDS = ("faction", "group")
COMMITTEE_KINDS = ("committee", "subcommittee", "commission")
SOURCE_URL = "https://data.rada.gov.ua/ogd/mps/skl{}/mps-data.json"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def deputy_name(row: dict[str, Any]) -> str:
    return " ".join(p for p in (row["surname"], row["firstname"], row["patronymic"]) if p)


# ---- bills ----------------------------------------------------------------------------------------------------

_BILL_LIST = (
    "b.bill_id, b.number, b.title, b.convocation, b.registered_on, b.bill_type, b.rubric, b.phase, b.phase_date, "
    "b.status, b.lead_committee, b.url, b.demo"
)
_INITIATOR_NAMES = (
    "coalesce((SELECT array_agg(i.name ORDER BY i.position) FROM bill_initiators i WHERE i.bill_id = b.bill_id), "
    "'{}') AS initiators"
)


async def search_bills(
    db: Database,
    query: str | None,
    *,
    convocation: int | None = None,
    status: str | None = None,
    initiator: str | None = None,
    lead_committee: str | None = None,
    rubric: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Page:
    """Bills matching the words (best first) or, without words, the filters (newest first)."""
    scope = {
        "query": query,
        "convocation": convocation,
        "status": status,
        "initiator": initiator,
        "lead_committee": lead_committee,
        "rubric": rubric,
        "date_from": date_from,
        "date_to": date_to,
    }
    offset = decode_cursor(cursor, "bills", scope)
    params: dict[str, Any] = _base_params(query, limit, offset) if query else {"limit": limit + 1, "offset": offset}
    filters = []
    if query:
        filters.append(f"b.search @@ to_tsquery('{CONFIG}', %(tsq)s)")
    if convocation is not None:
        filters.append("b.convocation = %(convocation)s")
        params["convocation"] = convocation
    if status:
        filters.append(
            r"secondlayer_fold(coalesce(b.phase, '') || ' ' || coalesce(b.status, '')) LIKE %(status)s ESCAPE '\'"
        )
        params["status"] = _like(status)
    if initiator:
        filters.append(
            "EXISTS (SELECT 1 FROM bill_initiators i WHERE i.bill_id = b.bill_id AND ("
            r"secondlayer_fold(i.name || ' ' || coalesce(i.organization, '')) LIKE %(initiator)s ESCAPE '\'"
            + (" OR i.person_id = %(initiator_id)s" if initiator.isascii() and initiator.isdigit() else "")
            + "))"
        )
        params["initiator"] = _like(initiator)
        if initiator.isascii() and initiator.isdigit() and len(initiator) < 18:
            params["initiator_id"] = int(initiator)
    if lead_committee:
        filters.append(r"secondlayer_fold(b.lead_committee) LIKE %(lead_committee)s ESCAPE '\'")
        params["lead_committee"] = _like(lead_committee)
    if rubric:
        filters.append(
            r"secondlayer_fold(coalesce(b.rubric, '') || ' ' || coalesce(b.subject, '')) LIKE %(rubric)s ESCAPE '\'"
        )
        params["rubric"] = _like(rubric)
    if date_from:
        filters.append("b.registered_on >= %(date_from)s")
        params["date_from"] = date_from
    if date_to:
        filters.append("b.registered_on <= %(date_to)s")
        params["date_to"] = date_to
    where = " AND ".join(filters) or "TRUE"
    recency = "b.registered_on DESC NULLS LAST, b.bill_id DESC"
    if query:
        sql = f"""
            WITH q AS MATERIALIZED (SELECT to_tsquery('{CONFIG}', %(tsq)s) AS query)
            SELECT {_BILL_LIST}, {_INITIATOR_NAMES}, ts_rank_cd(b.search, q.query, 32) AS rank,
                   {_headline("b.number || '. ' || b.title")} AS snippet
            FROM bills b, q WHERE {where}
            ORDER BY rank DESC, {recency} LIMIT %(limit)s OFFSET %(offset)s
        """
    else:
        sql = f"""
            SELECT {_BILL_LIST}, {_INITIATOR_NAMES}, 0.0 AS rank, b.number || '. ' || b.title AS snippet
            FROM bills b WHERE {where}
            ORDER BY {recency} LIMIT %(limit)s OFFSET %(offset)s
        """
    rows = await db.fetch_all(sql, params)
    for row in rows:
        row["initiators"] = list(row["initiators"])
    return _page(rows, "bills", scope, offset, limit)


async def _bill_row(db: Database, number: str, convocation: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"key": fold(" ".join(number.split()))}
    where = "secondlayer_fold(number) = %(key)s"
    if convocation is not None:
        where += " AND convocation = %(convocation)s"
        params["convocation"] = convocation
    row = await db.fetch_one(
        "SELECT bill_id, number, title, convocation, registered_on, session, bill_type, subject, rubric, phase, "
        "phase_date, status, lead_committee, executives, passings, alternatives, bound, documents, url, demo "
        f"FROM bills WHERE {where} ORDER BY convocation DESC, registered_on DESC NULLS LAST LIMIT 1",
        params,
    )
    if row is None:
        suffix = f" in convocation {convocation}" if convocation is not None else ""
        raise RecordNotFound("number", f"no bill number {number}{suffix}")
    return row


async def get_bill(db: Database, number: str, *, convocation: int | None = None) -> dict[str, Any]:
    """One bill by its registration number (the latest convocation's unless one is named), with its initiators
    linked to deputies, lead committee, passage, documents and the expert department's conclusion."""
    row = await _bill_row(db, number, convocation)
    initiators = await db.fetch_all(
        """
        SELECT i.kind, i.name, i.post, i.organization, i.person_id, d.convocation AS d_convocation,
               d.surname, d.firstname, d.patronymic
        FROM bill_initiators i
        LEFT JOIN LATERAL (
            SELECT * FROM deputies d WHERE d.person_id = i.person_id
            ORDER BY d.convocation = %(convocation)s DESC, d.convocation DESC, d.resignation_date DESC NULLS FIRST
            LIMIT 1
        ) d ON TRUE
        WHERE i.bill_id = %(bill_id)s ORDER BY i.position
        """,
        {"bill_id": row["bill_id"], "convocation": row["convocation"]},
    )
    documents = [{**d, "url": d["urls"][0] if d.get("urls") else None} for d in (_json(row.pop("documents")) or [])]
    conclusion = next((d for d in documents if d.get("kind_id") == CONCLUSION_KIND_ID), None)
    return {
        **{k: _iso(v) for k, v in row.items() if k not in ("executives", "passings", "alternatives", "bound")},
        "co_executing_committees": _json(row["executives"]),
        "initiators": [
            {
                "name": i["name"],
                "kind": i["kind"],
                "post": i["post"],
                "organization": i["organization"],
                "person_id": i["person_id"],
                "deputy": {
                    "person_id": i["person_id"],
                    "name": deputy_name(i),
                    "convocation": i["d_convocation"],
                    "url": deputy_url(i["person_id"]),
                }
                if i["surname"] is not None
                else None,
            }
            for i in initiators
        ],
        "passage": _json(row["passings"]),
        "documents": documents,
        "expert_conclusion": conclusion,
        "alternatives": _json(row["alternatives"]),
        "bound": _json(row["bound"]),
    }


def _lines(*pairs: tuple[str, Any]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in pairs if value not in (None, "", []))


async def bill_document(db: Database, key: str) -> Document:
    """ChatGPT's `fetch` of `bill:<number>`: the card, the passage and the documents as text."""
    bill = await get_bill(db, key)
    header = _lines(
        ("Номер", bill["number"]),
        ("Скликання", bill["convocation"]),
        ("Дата реєстрації", bill["registered_on"]),
        ("Вид", bill["bill_type"]),
        ("Рубрика", bill["rubric"]),
        ("Стан", bill["phase"]),
        ("Ініціатори", ", ".join(i["name"] for i in bill["initiators"])),
        ("Головний комітет", bill["lead_committee"]),
    )
    passage = "\n".join(f"{p.get('date') or 'дата невідома'} — {p.get('title') or ''}" for p in bill["passage"])
    documents = "\n".join(
        f"{d.get('date') or ''} {d.get('kind') or ''} {d.get('number') or ''} {d.get('url') or ''}".strip()
        for d in bill["documents"]
    )
    body = "\n\n".join(
        part
        for part in (f"Проходження:\n{passage}" if passage else "", f"Документи:\n{documents}" if documents else "")
        if part
    )
    metadata = {
        k: bill[k] for k in ("bill_id", "number", "convocation", "registered_on", "phase", "lead_committee", "demo")
    }
    metadata["initiators"] = [i["name"] for i in bill["initiators"]]
    metadata["expert_conclusion_url"] = (bill["expert_conclusion"] or {}).get("url")
    return Document(bill_title(bill), bill["url"], header, body, metadata)


# ---- deputies -----------------------------------------------------------------------------------------------

_DEPUTY_LIST = """
    d.person_id, d.rada_id, d.convocation, d.surname, d.firstname, d.patronymic, d.party_name, d.region_name,
    d.district_num, d.num_in_party, d.date_oath, d.resignation_date, d.url, d.demo,
    (SELECT p->>'body' FROM jsonb_array_elements(d.posts) p WHERE p->>'kind' IN ('faction', 'group') LIMIT 1)
        AS faction
"""


# Of a person's records in one convocation, the one to show: serving, then the one carrying posts and attendance
# (the feed repeats a few deputies under a second rada_id with an empty record).
_FULLEST = (
    "resignation_date IS NOT NULL, jsonb_array_length(posts) DESC, attendance = '{}'::jsonb, "
    "date_oath DESC NULLS LAST, rada_id DESC"
)


async def latest_convocation(db: Database) -> int | None:
    value = await db.fetch_value("SELECT max(convocation) FROM deputies")
    return int(value) if value is not None else None


async def search_deputies(
    db: Database,
    query: str | None,
    *,
    convocation: int | None = None,
    faction: str | None = None,
    committee: str | None = None,
    region: str | None = None,
    district: int | None = None,
    party: str | None = None,
    include_former: bool = True,
    limit: int = 10,
    cursor: str | None = None,
    keep_rank: bool = False,
) -> Page:
    """Deputies by name (and filters), serving ones first, then by surname (`keep_rank`: each with the text
    rank of its match, for ChatGPT's search, which orders every kind by it)."""
    scope = {
        "query": query,
        "convocation": convocation,
        "faction": faction,
        "committee": committee,
        "region": region,
        "district": district,
        "party": party,
        "include_former": include_former,
    }
    offset = decode_cursor(cursor, "deputies", scope)
    params: dict[str, Any] = {"limit": limit + 1, "offset": offset}
    filters = []
    if query:
        params["tsq"] = build_tsquery(query)
        filters.append(f"d.search @@ to_tsquery('{CONFIG}', %(tsq)s)")
    if convocation is not None:
        filters.append("d.convocation = %(convocation)s")
        params["convocation"] = convocation
    for name, value, kinds in (("faction", faction, FACTION_KINDS), ("committee", committee, COMMITTEE_KINDS)):
        if value:
            kinds_sql = ", ".join(f"'{k}'" for k in kinds)
            filters.append(
                f"EXISTS (SELECT 1 FROM jsonb_array_elements(d.posts) p WHERE p->>'kind' IN ({kinds_sql}) "
                rf"AND secondlayer_fold(p->>'body') LIKE %({name})s ESCAPE '\')"
            )
            params[name] = _like(value)
    if region:
        filters.append(r"secondlayer_fold(coalesce(d.region_name, '')) LIKE %(region)s ESCAPE '\'")
        params["region"] = _like(region)
    if party:
        filters.append(r"secondlayer_fold(coalesce(d.party_name, '')) LIKE %(party)s ESCAPE '\'")
        params["party"] = _like(party)
    if district is not None:
        filters.append("d.district_num = %(district)s")
        params["district"] = district
    if not include_former:
        filters.append("d.resignation_date IS NULL")
    where = " AND ".join(filters) or "TRUE"
    rank = f"ts_rank(d.search, to_tsquery('{CONFIG}', %(tsq)s))" if query else "0.0"
    rows = await db.fetch_all(
        f"""
        SELECT * FROM (
            SELECT DISTINCT ON (d.convocation, d.person_id) {_DEPUTY_LIST}, {rank} AS rank
            FROM deputies d WHERE {where}
            ORDER BY d.convocation, d.person_id, {_FULLEST}
        ) found
        ORDER BY convocation DESC, resignation_date IS NOT NULL, surname, firstname, person_id
        LIMIT %(limit)s OFFSET %(offset)s
        """,
        params,
    )
    for row in rows:
        row["name"] = deputy_name(row)
        row["serving"] = row["resignation_date"] is None
        row["elected"] = _elected(row)
        for key in ("surname", "firstname", "patronymic"):
            del row[key]
    page = _page(rows, "deputies", scope, offset, limit)
    if not keep_rank:
        for row in page.results:
            del row["rank"]
    return page


def _elected(row: dict[str, Any]) -> str:
    if row.get("district_num") is not None:
        return f"одномандатний виборчий округ № {row['district_num']}"
    if row.get("num_in_party") is not None:
        return f"загальнодержавний виборчий округ (партійний список), № {row['num_in_party']} у списку"
    return "загальнодержавний виборчий округ (партійний список)"


async def get_deputy(
    db: Database, person_id: int, *, convocation: int | None = None, bills_limit: int = 50
) -> dict[str, Any]:
    """One deputy (a person) in a convocation (their latest unless named): posts, election, oath and resignation,
    attendance, and the bills they initiated."""
    params: dict[str, Any] = {"person_id": person_id}
    where = "person_id = %(person_id)s"
    if convocation is not None:
        where += " AND convocation = %(convocation)s"
        params["convocation"] = convocation
    records = await db.fetch_all(
        f"SELECT * FROM deputies WHERE {where} ORDER BY convocation DESC, {_FULLEST}",
        params,
    )
    if not records:
        suffix = f" in convocation {convocation}" if convocation is not None else ""
        raise RecordNotFound("person_id", f"no deputy with id {person_id}{suffix}")
    row = records[0]
    mandates = [r for r in records if r["convocation"] == row["convocation"]]
    posts = _json(row["posts"])
    bills = await db.fetch_all(
        """
        SELECT b.number, b.title, b.convocation, b.registered_on, b.phase, b.url
        FROM bill_initiators i JOIN bills b USING (bill_id)
        WHERE i.person_id = %(person_id)s
        ORDER BY b.registered_on DESC NULLS LAST, b.bill_id DESC LIMIT %(limit)s
        """,
        {"person_id": person_id, "limit": bills_limit},
    )
    bills_total = await db.fetch_value(
        "SELECT count(DISTINCT bill_id) FROM bill_initiators WHERE person_id = %(person_id)s", {"person_id": person_id}
    )

    def _posts(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"body": p["body"], "body_id": p["body_id"], "post": p["post"]} for p in posts if p["kind"] in kinds]

    faction = next((p for p in posts if p["kind"] in FACTION_KINDS), None)
    return {
        "person_id": row["person_id"],
        "rada_id": row["rada_id"],
        "convocation": row["convocation"],
        "name": deputy_name(row),
        "gender": {1: "чоловіча", 2: "жіноча"}.get(row["gender"]),
        "birthday": _iso(row["birthday"]),
        "party": row["party_name"],
        "faction": {"name": faction["body"], "body_id": faction["body_id"], "post": faction["post"]}
        if faction
        else None,
        "committees": _posts(("committee", "subcommittee")),
        "commissions": _posts(("commission",)),
        "other_posts": _posts(("leadership", "other")),
        "interparliamentary_groups": [g["post"] for g in _json(row["groups"])],
        "elected": _elected(row),
        "district_num": row["district_num"],
        "region": row["region_name"],
        "num_in_party": row["num_in_party"],
        "election_info": row["election_info"],
        "date_oath": _iso(row["date_oath"]),
        "resignation_date": _iso(row["resignation_date"]),
        "resignation_reason": row["resignation_reason"],
        "serving": row["resignation_date"] is None,
        "attendance": _json(row["attendance"]),
        "short_info": row["short_info"],
        "photo": row["photo"],
        "other_records": [
            {
                "rada_id": r["rada_id"],
                "date_oath": _iso(r["date_oath"]),
                "resignation_date": _iso(r["resignation_date"]),
            }
            for r in mandates[1:]
        ],
        "bills_initiated": int(bills_total or 0),
        "bills": [{k: _iso(v) for k, v in b.items()} for b in bills],
        "url": row["url"],
        "demo": row["demo"],
    }


def deputy_title(row: dict[str, Any]) -> str:
    return f"{row['name']}, народний депутат України {row['convocation']} скликання"


async def deputy_document(db: Database, key: str) -> Document:
    """ChatGPT's `fetch` of "deputy:{person_id}": the deputy's latest convocation as a readable record."""
    if not key.isascii() or not key.isdigit() or len(key) > 9:
        raise RecordNotFound("id", f"a deputy's id is deputy:<person_id>, a number; got {key!r}")
    deputy = await get_deputy(db, int(key))
    faction = deputy["faction"]
    header = _lines(
        ("Скликання", deputy["convocation"]),
        ("Обрано", deputy["elected"]),
        ("Партія", deputy["party"]),
        ("Фракція", faction and f"{faction['name']} ({faction['post']})"),
        ("Регіон", deputy["region"]),
        ("Присяга", deputy["date_oath"]),
        ("Повноваження припинено", deputy["resignation_date"]),
        ("Підстава", deputy["resignation_reason"]),
        ("Законопроєктів ініційовано", deputy["bills_initiated"]),
    )
    posts = [
        f"{p['post']}: {p['body']}"
        for p in deputy["committees"] + deputy["commissions"] + deputy["other_posts"]
        if p.get("post") or p.get("body")
    ]
    bills = [f"№ {b['number']} ({b['registered_on'] or '—'}): {b['title']}" for b in deputy["bills"]]
    body = "\n\n".join(
        part
        for part in (
            deputy["short_info"] or "",
            "Посади:\n" + "\n".join(posts) if posts else "",
            "Законопроєкти:\n" + "\n".join(bills) if bills else "",
        )
        if part
    )
    metadata = {k: deputy[k] for k in ("person_id", "convocation", "party", "serving", "bills_initiated", "demo")}
    return Document(deputy_title(deputy), deputy["url"], header, body, metadata)


async def list_factions_and_committees(
    db: Database, convocation: int | None = None, *, include_subcommittees: bool = False
) -> dict[str, Any]:
    """The factions and groups, committees and commissions (and subcommittees, when asked) of a convocation, with
    how many serving deputies each has and who heads it."""
    if convocation is None:
        convocation = await latest_convocation(db)
        if convocation is None:
            raise RecordNotFound("convocation", "no deputies are loaded: run secondlayer import rada-deputies")
    kinds = ["faction", "group", "committee", "commission", "leadership"] + (
        ["subcommittee"] if include_subcommittees else []
    )
    rows = await db.fetch_all(
        """
        SELECT b.body_id, b.name, b.kind,
               count(DISTINCT m.person_id) FILTER (WHERE m.person_id IS NOT NULL) AS members,
               coalesce(jsonb_agg(DISTINCT jsonb_build_object(
                   'person_id', m.person_id, 'name', m.name, 'post', m.post)) FILTER (WHERE m.head), '[]') AS heads
        FROM rada_bodies b
        LEFT JOIN LATERAL (
            SELECT d.person_id, d.surname || ' ' || d.firstname || ' ' || d.patronymic AS name, p->>'post' AS post,
                   secondlayer_fold(p->>'post') ~ '^(голова|співголова)' AS head
            FROM deputies d, jsonb_array_elements(d.posts) p
            WHERE d.convocation = b.convocation AND d.resignation_date IS NULL
              AND (p->>'body_id')::bigint = b.body_id
        ) m ON TRUE
        WHERE b.convocation = %(convocation)s AND b.kind = ANY(%(kinds)s)
        GROUP BY b.body_id, b.name, b.kind
        ORDER BY b.kind, members DESC, b.name
        """,
        {"convocation": convocation, "kinds": kinds},
    )
    if not rows:
        raise RecordNotFound("convocation", f"no factions or committees of convocation {convocation} are loaded")
    source = SOURCE_URL.format(convocation)
    groups: dict[str, list[dict[str, Any]]] = {
        "factions": [],
        "committees": [],
        "commissions": [],
        "subcommittees": [],
        "leadership": [],
    }
    section = {
        "faction": "factions",
        "group": "factions",
        "committee": "committees",
        "commission": "commissions",
        "subcommittee": "subcommittees",
        "leadership": "leadership",
    }
    for row in rows:
        heads = sorted(_json(row["heads"]), key=lambda h: (h["name"], h["post"]))
        groups[section[row["kind"]]].append(
            {
                "body_id": row["body_id"],
                "name": row["name"],
                "kind": row["kind"],
                "members": int(row["members"]),
                "heads": [{**h, "url": deputy_url(h["person_id"])} for h in heads],
                "url": source,
            }
        )
    if not include_subcommittees:
        del groups["subcommittees"]
    return {"convocation": convocation, **groups, "url": source}
