"""Fixed-window rate limits kept in PostgreSQL, so every server process counts together."""

from __future__ import annotations

import ipaddress
import math

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db import Database
from app.db.expressions import interval
from app.db.tables import rate_limits

REGISTRATION_WINDOW_SECONDS = 3600


async def hit(db: Database, key: str, *, limit: int, window_seconds: int) -> int:
    """Count one attempt for `key`; returns 0 when allowed, else the seconds until the window resets."""
    window = interval(window_seconds)
    table = rate_limits
    fresh = table.c.window_started_at < sa.func.now() - window
    insert = pg_insert(table).values(key=key, window_started_at=sa.func.now(), hits=1)
    stmt = insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "hits": sa.case((fresh, 1), else_=table.c.hits + 1),
            "window_started_at": sa.case((fresh, sa.func.now()), else_=table.c.window_started_at),
        },
    ).returning(
        table.c.hits,
        sa.func.extract("epoch", table.c.window_started_at + window - sa.func.now()).label("remaining"),
    )
    row = await db.fetch_one(stmt)
    assert row is not None
    if row["hits"] <= limit:
        return 0
    return max(1, math.ceil(float(row["remaining"])))


def address_key(ip: str | None) -> str:
    """Who is counted for per-address limits: an IPv4 address, or the /64 an IPv6 address is in (one host
    usually holds a whole /64, so counting single IPv6 addresses would give it 2^64 budgets)."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


async def registration_allowed(db: Database, ip: str | None, limit: int) -> int:
    """Dynamic client registration: 0 when this address (IPv6: its /64) may register now, else seconds to wait."""
    return await hit(db, f"register:{address_key(ip)}", limit=limit, window_seconds=REGISTRATION_WINDOW_SECONDS)
