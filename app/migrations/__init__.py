"""Alembic migrations, the only schema authority: env.py and versions/, shipped inside the package."""
