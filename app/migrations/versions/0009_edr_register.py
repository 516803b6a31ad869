"""the state register (ЄДР): entities of three kinds, the people they name, links, history; the invented table goes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 23:30:00

The invented `companies` table (EDRPOU, name, address, head) is dropped and its demo rows with it; the register's
`companies` keeps the official dump's elements and is filled by `secondlayer import edr`. Downgrade recreates the
invented table empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fts(*weighted: tuple[str, str]) -> sa.Computed:
    parts = [
        f"setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({expr})), '{weight}'::\"char\")"
        for expr, weight in weighted
    ]
    return sa.Computed(" || ".join(parts), persisted=True)


def upgrade() -> None:
    op.drop_table("companies")
    op.create_table(
        "companies",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("edrpou", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="", nullable=False),
        sa.Column("status_code", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("capital", sa.Numeric(), nullable=True),
        sa.Column("head", sa.Text(), nullable=True),
        sa.Column(
            "activities", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("kveds", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
        sa.Column("termination", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("bankruptcy", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "tax_registrations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("import_id", sa.BigInteger(), nullable=True),
        sa.Column("vanished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(("coalesce(edrpou, '') || ' ' || name || ' ' || coalesce(short_name, '')", "A")),
            nullable=True,
        ),
        sa.CheckConstraint("kind IN ('uo', 'fop', 'fsu')", name=op.f("ck_companies_kind")),
        sa.CheckConstraint("edrpou ~ '^[0-9]{8}$'", name=op.f("ck_companies_edrpou_digits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_index("ix_companies_search", "companies", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_companies_kveds", "companies", ["kveds"], unique=False, postgresql_using="gin")
    op.create_index("ix_companies_status_code", "companies", ["status_code"], unique=False)
    op.create_index(
        "uq_companies_edrpou", "companies", ["edrpou"], unique=True, postgresql_where=sa.text("edrpou IS NOT NULL")
    )
    op.create_table(
        "company_persons",
        sa.Column("company_id", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("share", sa.Numeric(), nullable=True),
        sa.Column("share_percent", sa.Numeric(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_company_persons_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("company_id", "role", "position", name=op.f("pk_company_persons")),
    )
    op.create_index(
        "ix_company_persons_name",
        "company_persons",
        [sa.func.secondlayer_fold(sa.literal_column("name")).label("folded_name")],
        unique=False,
        postgresql_ops={"folded_name": "text_pattern_ops"},
    )
    op.create_index(
        "ix_company_persons_code",
        "company_persons",
        ["code"],
        unique=False,
        postgresql_where=sa.text("code IS NOT NULL"),
    )
    op.create_table(
        "company_links",
        sa.Column("company_id", sa.Text(), nullable=False),
        sa.Column("relation", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_company_links_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("company_id", "relation", "position", name=op.f("pk_company_links")),
    )
    op.create_index(
        "ix_company_links_code", "company_links", ["code"], unique=False, postgresql_where=sa.text("code IS NOT NULL")
    )
    op.create_table(
        "company_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("import_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_company_history_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_history")),
    )
    op.create_index("ix_company_history_company", "company_history", ["company_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("company_history")
    op.drop_table("company_links")
    op.drop_table("company_persons")
    op.drop_table("companies")
    op.create_table(
        "companies",
        sa.Column("edrpou", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "activities", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("head", sa.Text(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(
                ("edrpou || ' ' || name || ' ' || coalesce(short_name, '')", "A"),
                (
                    "coalesce(head, '') || ' ' || coalesce(address, '') || ' ' || jsonb_path_query_array(activities, "
                    "'$[*].name')::text",
                    "C",
                ),
            ),
            nullable=True,
        ),
        sa.CheckConstraint("edrpou ~ '^[0-9]{8}$'", name=op.f("ck_companies_edrpou_digits")),
        sa.PrimaryKeyConstraint("edrpou", name=op.f("pk_companies")),
    )
    op.create_index("ix_companies_search", "companies", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_companies_status", "companies", ["status"], unique=False)
