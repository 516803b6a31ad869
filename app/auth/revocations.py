"""Revocation notices: how every server process learns that a credential was revoked, so its bearer cache drops it.

A notice is a PostgreSQL NOTIFY on CHANNEL, sent inside the revoking transaction and so delivered only when it
commits. Its payload names one credential by hash (`token:<hash>`, `api_key:<hash>`) or every credential (`*`).
This module is the only place that builds or reads a payload: a typo elsewhere would silently keep revoked
credentials cached in other processes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from app.db import Connection

CHANNEL = "secondlayer_revocations"
EVERYTHING = "*"
# Above this many credentials in one revocation, tell caches to drop everything rather than send one NOTIFY each.
NOTIFY_EACH_LIMIT = 50
_KINDS = ("token", "api_key")


async def notify_tokens(conn: Connection, token_hashes: Sequence[str]) -> None:
    """Inside a transaction: every bearer cache drops these OAuth tokens when it commits."""
    await _notify(conn, "token", token_hashes)


async def notify_api_keys(conn: Connection, key_hashes: Sequence[str]) -> None:
    """Inside a transaction: every bearer cache drops these API keys when it commits."""
    await _notify(conn, "api_key", key_hashes)


async def notify_everything(conn: Connection) -> None:
    """Inside a transaction: every bearer cache drops everything it holds when it commits."""
    await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, EVERYTHING)))


async def _notify(conn: Connection, kind: str, hashes: Sequence[str]) -> None:
    if not hashes:
        return
    if len(hashes) > NOTIFY_EACH_LIMIT:
        await notify_everything(conn)
        return
    for credential_hash in hashes:
        await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{kind}:{credential_hash}")))


def credential_named(payload: str) -> str | None:
    """The hash of the one credential a notice names, or None: drop every credential.

    A payload not understood also means everything: a cache that forgets too much costs one lookup, one that
    keeps a revoked credential keeps it working.
    """
    kind, _, credential_hash = payload.partition(":")
    if kind in _KINDS and credential_hash:
        return credential_hash
    return None
