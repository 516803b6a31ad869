"""the ЄДР import's resumable checkpoint: how far a publication was read, and the entities it held so far

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 02:00:00

An import of the register commits one batch at a time; `edr_import_checkpoints` keeps, per source and
publication (size and ETag/mtime), the last element whose batch was committed, so a killed or failed import
resumes after it. `edr_import_seen` holds the ids the publication held so far: marking the entities that
vanished from the dump is the final step, once the whole dump has been read, and needs them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edr_import_checkpoints",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("publication", sa.Text(), nullable=False),
        sa.Column("file_index", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("element", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("elements", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("entities", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("kinds", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        sa.Column("import_id", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edr_import_checkpoints")),
        sa.UniqueConstraint("source", "publication", name="uq_edr_import_checkpoints_source"),
    )
    op.create_table(
        "edr_import_seen",
        sa.Column("checkpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["edr_import_checkpoints.id"],
            name=op.f("fk_edr_import_seen_checkpoint_id_edr_import_checkpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("checkpoint_id", "id", name=op.f("pk_edr_import_seen")),
    )


def downgrade() -> None:
    op.drop_table("edr_import_seen")
    op.drop_table("edr_import_checkpoints")
