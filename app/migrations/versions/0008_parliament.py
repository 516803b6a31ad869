"""Parliament from the Rada's open data: bills with their passage and documents, initiators, deputies, factions,
committees and commissions; the invented bills table goes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXED_CHARS = 300000
_EMPTY_LIST = sa.text("'[]'::jsonb")


def _fts(*weighted: tuple[str, str]) -> sa.Computed:
    parts = [
        f"setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({expr})), '{weight}'::\"char\")"
        for expr, weight in weighted
    ]
    return sa.Computed(" || ".join(parts), persisted=True)


def _jsonb(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    default = None if nullable else _EMPTY_LIST
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), server_default=default, nullable=nullable)


def upgrade() -> None:
    op.drop_table("bills")
    op.create_table(
        "bills",
        sa.Column("bill_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("convocation", sa.Integer(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("session", sa.Text(), nullable=True),
        sa.Column("bill_type", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("rubric", sa.Text(), nullable=True),
        sa.Column("phase", sa.Text(), nullable=True),
        sa.Column("phase_date", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("lead_committee", sa.Text(), nullable=True),
        _jsonb("executives"),
        _jsonb("passings"),
        _jsonb("alternatives"),
        _jsonb("bound"),
        _jsonb("documents", nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(
                ("number || ' ' || title", "A"),
                (
                    "coalesce(subject, '') || ' ' || coalesce(rubric, '') || ' ' || coalesce(lead_committee, '') "
                    "|| ' ' || coalesce(bill_type, '')",
                    "C",
                ),
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("bill_id", name=op.f("pk_bills")),
    )
    op.create_index("ix_bills_registered_on", "bills", ["registered_on"], unique=False)
    op.create_index("ix_bills_search", "bills", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_bills_number_key", "bills", [sa.text("secondlayer_fold(number)"), "convocation"], unique=False)

    op.create_table(
        "bill_initiators",
        sa.Column("bill_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("post", sa.Text(), nullable=True),
        sa.Column("organization", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.bill_id"], name=op.f("fk_bill_initiators_bill_id_bills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bill_id", "position", name=op.f("pk_bill_initiators")),
    )
    op.create_index(op.f("ix_bill_initiators_person_id"), "bill_initiators", ["person_id"], unique=False)

    op.create_table(
        "deputies",
        sa.Column("convocation", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("rada_id", sa.BigInteger(), nullable=False),
        sa.Column("surname", sa.Text(), nullable=False),
        sa.Column("firstname", sa.Text(), server_default="", nullable=False),
        sa.Column("patronymic", sa.Text(), server_default="", nullable=False),
        sa.Column("gender", sa.SmallInteger(), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("date_oath", sa.Date(), nullable=True),
        sa.Column("resignation_date", sa.Date(), nullable=True),
        sa.Column("resignation_reason", sa.Text(), nullable=True),
        sa.Column("district_num", sa.Integer(), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("region_name", sa.Text(), nullable=True),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("party_name", sa.Text(), nullable=True),
        sa.Column("num_in_party", sa.Integer(), nullable=True),
        sa.Column("election_info", sa.Text(), nullable=True),
        sa.Column("short_info", sa.Text(), nullable=True),
        sa.Column("photo", sa.Text(), nullable=True),
        _jsonb("posts"),
        _jsonb("groups"),
        sa.Column(
            "attendance", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(
                ("surname || ' ' || firstname || ' ' || patronymic", "A"),
                ("coalesce(party_name, '') || ' ' || coalesce(region_name, '')", "C"),
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("convocation", "person_id", "rada_id", name=op.f("pk_deputies")),
    )
    op.create_index("ix_deputies_search", "deputies", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_deputies_person_id", "deputies", ["person_id"], unique=False)

    op.create_table(
        "rada_bodies",
        sa.Column("convocation", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("type", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("convocation", "body_id", name=op.f("pk_rada_bodies")),
    )
    op.create_table(
        "rada_dictionaries",
        sa.Column("convocation", sa.Integer(), nullable=False),
        sa.Column("dictionary", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("convocation", "dictionary", "entry_id", name=op.f("pk_rada_dictionaries")),
    )


def downgrade() -> None:
    op.drop_table("rada_dictionaries")
    op.drop_table("rada_bodies")
    op.drop_table("deputies")
    op.drop_table("bill_initiators")
    op.drop_table("bills")
    # The invented bills table of migration 0002, empty.
    op.create_table(
        "bills",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("initiators", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        sa.Column("committee", sa.Text(), nullable=True),
        sa.Column("convocation", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(
                ("number || ' ' || title", "A"),
                (f"coalesce(committee, '') || ' ' || left(summary, {INDEXED_CHARS})", "C"),
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_bills")),
    )
    op.create_index("ix_bills_registered_on", "bills", ["registered_on"], unique=False)
    op.create_index("ix_bills_search", "bills", ["search"], unique=False, postgresql_using="gin")
    op.create_index("uq_bills_number_key", "bills", [sa.text("secondlayer_fold(number)")], unique=True)
