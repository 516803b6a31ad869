"""Alembic environment: migrations run over a synchronous psycopg2 connection.

app.db.schema runs it from the installed package (no alembic.ini needed); developers' `alembic` commands find it
through the alembic.ini at the repository root.
"""

from __future__ import annotations

from logging.config import dictConfig

from alembic import context
from sqlalchemy import create_engine, pool

from app.db.tables import include_name, metadata

# Alembic's progress ("Running upgrade 0001 -> 0002") on stderr; everything else only from WARNING.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"generic": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "generic"}},
    "root": {"level": "WARNING", "handlers": ["console"]},
    "loggers": {"sqlalchemy.engine": {"level": "WARNING"}, "alembic": {"level": "INFO"}},
}

config = context.config
if config.attributes.get("configure_logging", True):
    dictConfig(LOGGING)

target_metadata = metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or ""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
