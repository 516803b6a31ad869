"""legislation: relations between acts (vidnosh), and an index to resolve an act by its dokid

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 02:10:00

`legislation_relations` holds "act `nreg` <relation> act `related`" in the direction of the publisher's `vidnosh`
dictionary (1 змінює, 5 роз'яснює, 22 визнає нечинним, ...): a relations file names them, and every edition whose
cause (pidstava) is known says that the causing act amends the act (relation 1). The acts at either end need not
be loaded, so there is no foreign key; a relation whose source gives acts by dokid is resolved through
`legislative_acts.dokid`, hence its index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legislation_relations",
        sa.Column("nreg", sa.Text(), nullable=False),
        sa.Column("relation", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("related", sa.Text(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.CheckConstraint("origin IN ('relations', 'editions')", name=op.f("ck_legislation_relations_origin")),
        sa.PrimaryKeyConstraint("nreg", "relation", "related", name=op.f("pk_legislation_relations")),
    )
    op.create_index("ix_legislation_relations_related", "legislation_relations", ["related", "relation"])
    op.create_index("ix_legislative_acts_dokid", "legislative_acts", ["dokid"])


def downgrade() -> None:
    op.drop_index("ix_legislative_acts_dokid", table_name="legislative_acts")
    op.drop_index("ix_legislation_relations_related", table_name="legislation_relations")
    op.drop_table("legislation_relations")
