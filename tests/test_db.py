"""The database layer: Core statements through aiopg, transactions that leave nothing half-written."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa

from app.db import UNAVAILABLE, Database, Row, compile_statement, redact_url
from app.db.tables import audit_log, oauth_clients, users


def test_compile_handles_in_lists_and_json():
    sql, params = compile_statement(sa.select(users.c.id).where(users.c.id.in_([1, 2, 3])))
    assert "IN (%(id_1_1)s, %(id_1_2)s, %(id_1_3)s)" in sql
    assert params == {"id_1_1": 1, "id_1_2": 2, "id_1_3": 3}
    sql, params = compile_statement(audit_log.insert().values(actor="t", action="a", details={"k": "в"}))
    assert any(isinstance(v, str) and '"k"' in v for v in params.values())  # JSONB serialised once


def test_compiled_statements_are_what_sqlalchemy_itself_would_send(database_url):
    """compile_statement uses only SQLAlchemy's public API; this holds it to SQLAlchemy's own execution path,
    so a change in how SQLAlchemy expands or converts parameters fails here rather than in production."""
    engine = sa.create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg2://", 1), poolclass=sa.pool.NullPool
    )
    sent = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, parameters, context, many: sent.append((statement, parameters)),
    )
    statements: list[sa.Insert | sa.Update | sa.Select[Any] | sa.TextClause] = [
        audit_log.insert().values(actor="t", action="a", details={"k": "в", "n": [1, None]}).returning(audit_log.c.id),
        sa.select(users.c.id).where(users.c.id.in_([1, 2, 3]), users.c.email.like("a%")),
        sa.select(users.c.id).where(users.c.id.in_([])),
        oauth_clients.update()
        .where(oauth_clients.c.id == -1)
        .values(redirect_uris=["https://a.example/cb"], metadata={"x": None}),
        sa.select(audit_log.c.id).where(audit_log.c.details.contains({"k": "v"})),
        sa.text("SELECT CAST(:a AS int) + 1 AS x").bindparams(a=1),
    ]
    try:
        with engine.connect() as conn:
            for stmt in statements:
                with conn.begin() as transaction:
                    conn.execute(stmt)
                    transaction.rollback()
                statement, parameters = sent[-1]
                assert compile_statement(stmt) == (statement, dict(parameters))
    finally:
        engine.dispose()


def test_redact_url_hides_only_the_password():
    assert redact_url("postgresql://app:s3cret@db.example:5432/sl") == "postgresql://app:***@db.example:5432/sl"
    assert redact_url("postgresql://app@db/sl") == "postgresql://app@db/sl"


def test_transaction_rolls_back_everything_on_error(dbrun):
    async def go(db: Database) -> None:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute(users.insert().values(email="rollback@example.com"))
                await conn.execute(audit_log.insert().values(actor="t", action="test.rollback"))
                raise RuntimeError("boom")
        assert (
            await db.fetch_value(
                sa.select(sa.func.count()).select_from(users).where(users.c.email == "rollback@example.com")
            )
            == 0
        )
        assert (
            await db.fetch_value(
                sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.action == "test.rollback")
            )
            == 0
        )

    dbrun(go)


def test_transaction_commits_and_rows_are_dicts(dbrun):
    async def go(db: Database) -> tuple[Row, Row | None]:
        async with db.transaction() as conn:
            row = await conn.fetch_one(users.insert().values(email="commit@example.com").returning(users))
        assert row is not None
        again = await db.fetch_one(sa.select(users).where(users.c.id == row["id"]))
        await db.execute(users.delete().where(users.c.id == row["id"]))
        return row, again

    row, again = dbrun(go)
    assert again is not None
    assert row["email"] == again["email"] == "commit@example.com"
    assert row["is_admin"] is False and row["created_at"].tzinfo is not None


def test_unique_email_is_case_insensitive(dbrun):
    async def go(db: Database) -> None:
        try:
            await db.execute(users.insert().values(email="Case@Example.com"))
            with pytest.raises(psycopg2.IntegrityError):
                await db.execute(users.insert().values(email="case@example.COM"))
        finally:
            await db.execute(users.delete().where(sa.func.lower(users.c.email) == "case@example.com"))

    dbrun(go)


def test_broken_connections_do_not_poison_the_pool(database_url):
    """A connection killed under the pool is dropped, and the next statement gets a healthy one."""

    async def go() -> None:
        db = Database(database_url, maxsize=1)  # one connection, so the next statement must get a new one
        try:
            pid = await db.fetch_value("SELECT pg_backend_pid()")
            killer = Database(database_url, maxsize=1)
            await killer.fetch_value("SELECT pg_terminate_backend(%(pid)s)", {"pid": pid})
            await killer.close()
            # The pool may notice the dead socket before handing the connection out, or the first statement fails
            # on it; either way that connection is dropped and the next statement runs on a new one.
            try:
                await db.fetch_value("SELECT 1")
            except UNAVAILABLE:
                pass
            assert await db.fetch_value("SELECT 1") == 1
            assert await db.fetch_value("SELECT pg_backend_pid()") != pid
        finally:
            await db.close()

    asyncio.run(go())
