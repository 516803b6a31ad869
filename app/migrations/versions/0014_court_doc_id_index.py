"""court_decisions: the index on doc_id alone goes (the primary key's index, doc_id first, answers the same)

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-30 04:30:00

Every lookup by doc_id alone (a decision by its number, the importer's search for where a republished decision
is stored, the texts' trigger) is answered by the primary key (doc_id, adjudication_date), whose first column
is doc_id; the second index was built for every yearly partition at every import and kept up at every insert.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_court_decisions_doc_id", table_name="court_decisions")


def downgrade() -> None:
    op.create_index("ix_court_decisions_doc_id", "court_decisions", ["doc_id"], unique=False)
