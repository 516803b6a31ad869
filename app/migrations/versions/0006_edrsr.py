"""court decisions from the official ЄДРСР dump: dictionaries, decisions partitioned by year, texts apart

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 23:30:00

The invented court_decisions table (one row with its text, our own JSON Lines format) goes; downgrade recreates
it empty. The yearly partitions court_decisions_yYYYY are created by the importer for the years it meets, so
the parent has none here; dropping the parent drops them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXED_CHARS = 300000
_DICTIONARIES = (
    ("edrsr_instances", "instance_code", sa.SmallInteger),
    ("edrsr_regions", "region_code", sa.SmallInteger),
    ("edrsr_justice_kinds", "justice_kind", sa.SmallInteger),
    ("edrsr_judgment_forms", "judgment_code", sa.SmallInteger),
    ("edrsr_cause_categories", "category_code", sa.Integer),
)


def _fts(expr: str, weight: str) -> sa.Computed:
    return sa.Computed(
        f"setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({expr})), '{weight}'::\"char\")",
        persisted=True,
    )


def upgrade() -> None:
    op.drop_table("court_decisions")
    op.create_table(
        "edrsr_courts",
        sa.Column("court_code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("instance_code", sa.SmallInteger(), nullable=True),
        sa.Column("region_code", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("court_code", name=op.f("pk_edrsr_courts")),
    )
    op.create_index("ix_edrsr_courts_region", "edrsr_courts", ["region_code"], unique=False)
    for table, key, key_type in _DICTIONARIES:
        op.create_table(
            table,
            sa.Column(key, key_type(), autoincrement=False, nullable=False),
            sa.Column("name", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "court_decisions",
        sa.Column("doc_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("adjudication_date", sa.Date(), nullable=False),
        sa.Column("court_code", sa.Text(), nullable=False),
        sa.Column("judgment_code", sa.SmallInteger(), nullable=True),
        sa.Column("justice_kind", sa.SmallInteger(), nullable=True),
        sa.Column("category_code", sa.Integer(), nullable=True),
        sa.Column("cause_num", sa.Text(), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=True),
        sa.Column("judge", sa.Text(), nullable=True),
        sa.Column("judge_key", sa.Text(), nullable=True),
        sa.Column("doc_url", sa.Text(), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("date_publ", sa.Date(), nullable=True),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("search", postgresql.TSVECTOR(), nullable=True),
        sa.PrimaryKeyConstraint("doc_id", "adjudication_date", name=op.f("pk_court_decisions")),
        postgresql_partition_by="RANGE (adjudication_date)",
    )
    for name, columns in (
        ("ix_court_decisions_doc_id", ["doc_id"]),
        ("ix_court_decisions_date", ["adjudication_date", "doc_id"]),
        ("ix_court_decisions_cause_num", ["cause_num", "adjudication_date"]),
        ("ix_court_decisions_court_date", ["court_code", "adjudication_date"]),
        ("ix_court_decisions_category_date", ["category_code", "adjudication_date"]),
        ("ix_court_decisions_form_date", ["judgment_code", "adjudication_date"]),
        ("ix_court_decisions_kind_date", ["justice_kind", "adjudication_date"]),
    ):
        op.create_index(name, "court_decisions", columns, unique=False)
    op.create_index(
        "ix_court_decisions_judge_key",
        "court_decisions",
        ["judge_key"],
        unique=False,
        postgresql_ops={"judge_key": "text_pattern_ops"},
    )
    op.create_index("ix_court_decisions_search", "court_decisions", ["search"], unique=False, postgresql_using="gin")
    op.create_table(
        "court_decision_texts",
        sa.Column("doc_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search", postgresql.TSVECTOR(), _fts(f"left(coalesce(text, ''), {INDEXED_CHARS})", "D"), nullable=True
        ),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_court_decision_texts")),
        postgresql_with={"toast_tuple_target": 256},
    )
    op.create_index(
        "ix_court_decision_texts_search", "court_decision_texts", ["search"], unique=False, postgresql_using="gin"
    )


def downgrade() -> None:
    op.drop_table("court_decision_texts")
    op.drop_table("court_decisions")
    for table, _, _ in reversed(_DICTIONARIES):
        op.drop_table(table)
    op.drop_table("edrsr_courts")
    # The invented table as migration 0002 made it.
    op.create_table(
        "court_decisions",
        sa.Column("doc_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("case_number", sa.Text(), nullable=False),
        sa.Column("court", sa.Text(), nullable=False),
        sa.Column("court_key", sa.Text(), sa.Computed("secondlayer_fold(court)", persisted=True), nullable=True),
        sa.Column("judge", sa.Text(), nullable=True),
        sa.Column("judgment_form", sa.Text(), nullable=False),
        sa.Column("proceeding_kind", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("adjudication_date", sa.Date(), nullable=False),
        sa.Column("full_text", sa.Text(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold(coalesce(case_number, '') || ' ' "
                "|| coalesce(category, '') || ' ' || coalesce(court, ''))), 'A'::\"char\") || "
                "setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold("
                f"left(full_text, {INDEXED_CHARS}))), 'D'::\"char\")",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "proceeding_kind IN ('civil', 'criminal', 'commercial', 'administrative', 'administrative_offense')",
            name=op.f("ck_court_decisions_proceeding_kind"),
        ),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_court_decisions")),
        postgresql_with={"toast_tuple_target": 256},
    )
    op.create_index(op.f("ix_court_decisions_case_number"), "court_decisions", ["case_number"], unique=False)
    op.create_index("ix_court_decisions_date", "court_decisions", ["adjudication_date"], unique=False)
    op.create_index(
        "ix_court_decisions_kind_date", "court_decisions", ["proceeding_kind", "adjudication_date"], unique=False
    )
    op.create_index("ix_court_decisions_search", "court_decisions", ["search"], unique=False, postgresql_using="gin")
