"""Identity and credentials: users, passwords, OAuth clients, tokens and API keys (no Tornado here).

Every query here is SQLAlchemy Core over app/db/tables.py, run through app.db; no SQL text.
"""
