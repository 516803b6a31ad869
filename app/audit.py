"""The audit log: who did what to which thing, and when."""

from __future__ import annotations

from typing import Any

from app.db import Connection, Database
from app.db.tables import audit_log


async def record(
    db: Database | Connection,
    action: str,
    *,
    actor: str,
    actor_user_id: int | None = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry; pass the transaction's connection so it commits with the change it describes."""
    await db.execute(
        audit_log.insert().values(
            action=action,
            actor=actor,
            actor_user_id=actor_user_id,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            ip=ip,
            details=details or {},
        )
    )
