"""Alembic as the schema authority: upgrade, and the revision check the server starts with."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.db import Database

# Inside the package, so an installed wheel migrates as a source checkout does.
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for `database_url`, built here: the app reads no alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would eat '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/unused"))
    head = script.get_current_head()
    assert head is not None
    return head


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def current_revision(db: Database) -> str | None:
    exists = await db.fetch_value("SELECT to_regclass('public.alembic_version') IS NOT NULL")
    if not exists:
        return None
    value = await db.fetch_value("SELECT version_num FROM alembic_version")
    return None if value is None else str(value)


async def schema_problem(db: Database) -> str | None:
    """None when the schema is at head, else a sentence naming the fix."""
    current = await current_revision(db)
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "the database has no schema yet; run `secondlayer migrate`"
    return f"the database schema is at {current}, the code needs {head}; run `secondlayer migrate`"
