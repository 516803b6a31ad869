"""The audit log: who did what to which thing, and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db import Connection, Database
from app.db.tables import audit_log


@dataclass(frozen=True)
class Actor:
    """Who does something, as the audit log records it: a name (an email, a client id, "cli", "anonymous"),
    the user's id when a known user acts, and the address the request came from."""

    name: str
    user_id: int | None = None
    ip: str | None = None


CLI = Actor("cli")


async def record(
    db: Database | Connection,
    action: str,
    *,
    actor: Actor,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Write one audit entry and return its id; pass the transaction's connection so it commits with the change
    it describes."""
    entry_id: int = await db.fetch_value(
        audit_log.insert()
        .values(
            action=action,
            actor=actor.name,
            actor_user_id=actor.user_id,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            ip=actor.ip,
            details=details or {},
        )
        .returning(audit_log.c.id)
    )
    return entry_id
