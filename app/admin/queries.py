"""Queries only the operator console needs: the audit log filter, lookups by id, overview counts, and the
one-time claim of forms that create secrets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.auth.secrets import hash_credential
from app.db import Database, Row
from app.db.expressions import LIKE_ESCAPE, contains_pattern
from app.db.tables import api_keys, audit_log, job_runs, oauth_clients, oauth_grants, oauth_tokens, rate_limits, users


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log page filters on; every part is optional."""

    action: str | None = None
    actor: str | None = None
    target: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None


def _audit_conditions(f: AuditFilter) -> list[Any]:
    conditions: list[Any] = []
    if f.action:
        conditions.append(audit_log.c.action == f.action)
    if f.actor:
        conditions.append(sa.func.lower(audit_log.c.actor).like(contains_pattern(f.actor.lower()), escape=LIKE_ESCAPE))
    if f.target:
        kind, sep, ident = f.target.partition(":")
        if sep and ident:
            conditions.append(sa.and_(audit_log.c.target_type == kind.strip(), audit_log.c.target_id == ident.strip()))
        elif sep:
            conditions.append(audit_log.c.target_type == kind.strip())
        else:
            conditions.append(sa.or_(audit_log.c.target_id == f.target, audit_log.c.target_type == f.target))
    # Dates are whole UTC days: "until" includes the day it names.
    if f.since:
        start = dt.datetime.combine(f.since, dt.time.min, tzinfo=dt.UTC)
        conditions.append(audit_log.c.at >= start)
    if f.until:
        end = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        conditions.append(audit_log.c.at < end)
    return conditions


async def audit_entries(db: Database, f: AuditFilter, *, limit: int, offset: int) -> tuple[list[Row], int]:
    """One page of audit entries matching the filter, newest first, and how many match in all."""
    conditions = _audit_conditions(f)
    rows = await db.fetch_all(
        sa.select(audit_log)
        .where(*conditions)
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await db.fetch_value(sa.select(sa.func.count()).select_from(audit_log).where(*conditions))
    return rows, int(total)


async def audit_actions(db: Database) -> list[str]:
    """Every action name in the log, for the filter's choices."""
    rows = await db.fetch_all(sa.select(audit_log.c.action).distinct().order_by(audit_log.c.action))
    return [r["action"] for r in rows]


async def client_by_pk(db: Database, client_pk: int) -> Row | None:
    """A client by its row id (URLs use it: metadata-document client ids are themselves URLs)."""
    return await db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.id == client_pk))


async def grant_by_id(db: Database, grant_id: int) -> Row | None:
    """A grant with its user's email and its client's id and name, for the revoke confirmation."""
    return await db.fetch_one(
        sa.select(oauth_grants, users.c.email, oauth_clients.c.client_id, oauth_clients.c.name.label("client_name"))
        .join(users, users.c.id == oauth_grants.c.user_id)
        .join(oauth_clients, oauth_clients.c.id == oauth_grants.c.client_pk)
        .where(oauth_grants.c.id == grant_id)
    )


async def api_key_by_id(db: Database, key_id: int) -> Row | None:
    return await db.fetch_one(
        sa.select(api_keys, users.c.email).join(users, users.c.id == api_keys.c.user_id).where(api_keys.c.id == key_id)
    )


async def overview(db: Database) -> dict[str, Any]:
    """The counts on the console's first page."""
    now = sa.func.now()

    def count(table: sa.Table, *where: Any) -> Any:
        return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

    row = await db.fetch_one(
        sa.select(
            count(oauth_clients, oauth_clients.c.disabled.is_(False)).label("clients"),
            count(users, users.c.disabled.is_(False)).label("users"),
            count(users, users.c.is_admin, users.c.disabled.is_(False)).label("operators"),
            count(oauth_grants, oauth_grants.c.revoked_at.is_(None)).label("grants"),
            count(
                oauth_tokens,
                oauth_tokens.c.kind == "access",
                oauth_tokens.c.revoked_at.is_(None),
                oauth_tokens.c.expires_at > now,
            ).label("access_tokens"),
            count(
                api_keys,
                api_keys.c.revoked_at.is_(None),
                sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
            ).label("api_keys"),
        )
    )
    assert row is not None
    last_run = await db.fetch_one(
        sa.select(job_runs).where(job_runs.c.job == "cleanup").order_by(job_runs.c.started_at.desc()).limit(1)
    )
    return {**row, "last_cleanup": last_run}


async def claim_submission(db: Database, token: str) -> bool:
    """True the first time a form's one-time token is submitted, False on a resubmission (browser refresh).

    The claims live in rate_limits (key "form:<hash>") and the daily cleanup removes them after a day.
    """
    claimed = await db.fetch_value(
        pg_insert(rate_limits)
        .values(key=f"form:{hash_credential(token)}", window_started_at=sa.func.now(), hits=1)
        .on_conflict_do_nothing()
        .returning(rate_limits.c.key)
    )
    return claimed is not None
