"""The expired-data cleanup: what it deletes, what it keeps, its job_runs record, and its advisory lock."""

from __future__ import annotations

import asyncio
import json

import psycopg2
import sqlalchemy as sa

from app.audit import Actor
from app.auth.clients import register_client
from app.auth.secrets import ACCESS_TOKEN_PREFIX, AUTH_CODE_PREFIX, hash_credential, new_credential
from app.db import Database
from app.db.tables import audit_log, job_runs, oauth_authorization_codes, oauth_grants, oauth_tokens
from app.jobs import CLEANUP_LOCK_KEY, run_cleanup


def _ago(text):
    return sa.func.now() - sa.text(f"interval '{text}'")


def _seed(database_url, user_id):
    """Codes and tokens in every state; returns {label: id} for codes and tokens."""

    async def go():
        db = Database(database_url, maxsize=2)
        try:
            client, _ = await register_client(
                db, name="cleanup", redirect_uris=["https://x.example/cb"], actor=Actor("test")
            )
            grant = await db.fetch_value(
                oauth_grants.insert()
                .values(user_id=user_id, client_pk=client["id"], scope="mcp")
                .returning(oauth_grants.c.id)
            )
            codes = {
                "code_expired_long_ago": {"expires_at": _ago("2 days")},
                "code_used_long_ago": {
                    "expires_at": sa.func.now() + sa.text("interval '1 minute'"),
                    "used_at": _ago("2 days"),
                },
                "code_expired_recently": {"expires_at": _ago("1 minute")},
                "code_fresh": {"expires_at": sa.func.now() + sa.text("interval '10 minutes'")},
            }
            tokens = {
                "token_expired": {"expires_at": _ago("1 minute")},
                "token_revoked_long_ago": {
                    "expires_at": sa.func.now() + sa.text("interval '1 day'"),
                    "revoked_at": _ago("8 days"),
                },
                "token_revoked_recently": {
                    "expires_at": sa.func.now() + sa.text("interval '1 day'"),
                    "revoked_at": _ago("1 hour"),
                },
                "token_live": {"expires_at": sa.func.now() + sa.text("interval '1 day'")},
            }
            ids = {}
            for label, values in codes.items():
                ids[label] = await db.fetch_value(
                    oauth_authorization_codes.insert()
                    .values(
                        code_hash=hash_credential(new_credential(AUTH_CODE_PREFIX)),
                        client_pk=client["id"],
                        user_id=user_id,
                        redirect_uri="x",
                        code_challenge="c" * 43,
                        scope="mcp",
                        **values,
                    )
                    .returning(oauth_authorization_codes.c.id)
                )
            for label, values in tokens.items():
                ids[label] = await db.fetch_value(
                    oauth_tokens.insert()
                    .values(
                        token_hash=hash_credential(new_credential(ACCESS_TOKEN_PREFIX)),
                        kind="access",
                        grant_id=grant,
                        client_pk=client["id"],
                        user_id=user_id,
                        scope="mcp",
                        **values,
                    )
                    .returning(oauth_tokens.c.id)
                )
            return ids
        finally:
            await db.close()

    return asyncio.run(go())


def _exists(dbrun, table, row_id):
    return (
        dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(table).where(table.c.id == row_id))) == 1
    )


def test_cleanup_deletes_expired_and_used_codes_and_dead_tokens(database_url, dbrun, make_user):
    ids = _seed(database_url, make_user()["id"])
    result = dbrun(lambda db: run_cleanup(db, "manual", audit_retention_days=365))
    assert result.status == "ok"
    assert result.details["authorization_codes"] >= 2 and result.details["tokens"] >= 2
    assert not _exists(dbrun, oauth_authorization_codes, ids["code_expired_long_ago"])
    assert not _exists(dbrun, oauth_authorization_codes, ids["code_used_long_ago"])
    assert _exists(dbrun, oauth_authorization_codes, ids["code_fresh"])
    # Kept a day past expiry, so that a replay is still recognised as one.
    assert _exists(dbrun, oauth_authorization_codes, ids["code_expired_recently"])
    assert not _exists(dbrun, oauth_tokens, ids["token_expired"])
    assert not _exists(dbrun, oauth_tokens, ids["token_revoked_long_ago"])
    # Recently revoked tokens stay a while (reuse detection, the grants page); live ones obviously stay.
    assert _exists(dbrun, oauth_tokens, ids["token_revoked_recently"])
    assert _exists(dbrun, oauth_tokens, ids["token_live"])
    run = dbrun(lambda db: db.fetch_one(sa.select(job_runs).where(job_runs.c.id == result.run_id)))
    assert run["status"] == "ok" and run["trigger"] == "manual" and run["finished_at"] is not None
    assert run["rows_deleted"] == result.rows_deleted >= 4 and run["duration_ms"] >= 0
    assert run["details"]["tokens"] == result.details["tokens"]


def test_second_concurrent_run_is_skipped(database_url, dbrun):
    holder = psycopg2.connect(database_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (CLEANUP_LOCK_KEY,))
        result = dbrun(lambda db: run_cleanup(db, "manual", audit_retention_days=365))
        assert result.status == "skipped" and result.rows_deleted == 0
        run = dbrun(lambda db: db.fetch_one(sa.select(job_runs).where(job_runs.c.id == result.run_id)))
        assert run["status"] == "skipped"
    finally:
        holder.close()
    assert dbrun(lambda db: run_cleanup(db, "manual", audit_retention_days=365)).status == "ok"


def test_cleanup_command(cli, database_url, make_user, dbrun):
    ids = _seed(database_url, make_user()["id"])
    r = cli("cleanup", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is True and out["status"] == "ok" and out["rows_deleted"] >= 4
    assert not _exists(dbrun, oauth_tokens, ids["token_expired"])
    last = dbrun(lambda db: db.fetch_one(sa.select(job_runs).order_by(job_runs.c.id.desc()).limit(1)))
    assert last["trigger"] == "cli" and last["status"] == "ok"


def _audit_entry(dbrun, days_ago):
    return dbrun(
        lambda db: db.fetch_value(
            audit_log.insert()
            .values(action="test.retention", actor="test", at=_ago(f"{days_ago} days"))
            .returning(audit_log.c.id)
        )
    )


def test_audit_entries_are_kept_for_audit_retention_days(dbrun):
    old, recent = _audit_entry(dbrun, 400), _audit_entry(dbrun, 300)
    result = dbrun(lambda db: run_cleanup(db, "manual", audit_retention_days=0))  # 0: kept forever
    assert result.status == "ok" and "audit_log" not in result.details
    assert _exists(dbrun, audit_log, old)
    result = dbrun(lambda db: run_cleanup(db, "manual", audit_retention_days=365))
    assert result.status == "ok" and result.details["audit_log"] >= 1
    assert not _exists(dbrun, audit_log, old)
    assert _exists(dbrun, audit_log, recent)


def test_cleanup_command_applies_audit_retention_days(cli, dbrun):
    old, recent = _audit_entry(dbrun, 40), _audit_entry(dbrun, 20)
    r = cli("cleanup", "--json", env={"AUDIT_RETENTION_DAYS": "30"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["details"]["audit_log"] >= 1
    assert not _exists(dbrun, audit_log, old) and _exists(dbrun, audit_log, recent)
