"""Fixed-window rate limits kept in PostgreSQL, so every server process counts together."""

from __future__ import annotations

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


async def registration_allowed(db: Database, ip: str | None, limit: int) -> int:
    """Dynamic client registration: 0 when this IP may register now, else seconds to wait."""
    return await hit(db, f"register:{ip or 'unknown'}", limit=limit, window_seconds=REGISTRATION_WINDOW_SECONDS)
