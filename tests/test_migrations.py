"""Alembic is the schema authority: every migration upgrades, downgrades and upgrades again, and the
migrated schema matches app/db/tables.py."""

from __future__ import annotations

import psycopg2
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from app.db.schema import alembic_config, downgrade, head_revision, upgrade
from app.db.tables import include_name, metadata


def _tables(url: str) -> set[str]:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = {r[0] for r in cur.fetchall()}
    conn.close()
    return names


def _revision(url: str) -> str | None:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT version_num FROM alembic_version")
        row = cur.fetchone()
    conn.close()
    return row[0] if row else None


def test_upgrade_downgrade_upgrade(make_database):
    url = make_database("sl_migrate")
    upgrade(url)
    assert _revision(url) == head_revision()
    full = _tables(url)
    assert {"users", "oauth_clients", "oauth_tokens", "api_keys", "audit_log", "job_runs"} <= full
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert _tables(url) == full


def test_each_revision_steps_down_and_up(make_database):
    url = make_database("sl_steps")
    script = ScriptDirectory.from_config(alembic_config(url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for rev in revisions:
        upgrade(url, rev)
        assert _revision(url) == rev
        downgrade(url, "-1")
        upgrade(url, rev)
        assert _revision(url) == rev


def test_migrated_schema_matches_tables_module(database_url):
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg2://", 1), poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), metadata)
    engine.dispose()
    assert diff == [], f"tables.py and the migrations disagree: {diff}"
