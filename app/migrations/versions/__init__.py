"""One module per schema revision, loaded by alembic from this directory (`alembic revision -m ...` adds one)."""
