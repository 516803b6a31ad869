"""legislation from the Rada's open data: cards, dictionaries, events, editions, structure, article texts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:30:00

Replaces the invented legislation tables of 0002 (legislative_acts with one text per act, legislation_articles):
an act now has every edition, each edition a structure whose articles point at texts stored once per distinct
content. The downgrade recreates the old tables empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXED_CHARS = 300000


def _fts(*weighted: tuple[str, str]) -> sa.Computed:
    parts = [
        f"setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({expr})), '{weight}'::\"char\")"
        for expr, weight in weighted
    ]
    return sa.Computed(" || ".join(parts), persisted=True)


def upgrade() -> None:
    op.drop_table("legislation_articles")
    op.drop_table("legislative_acts")
    op.create_table(
        "legislative_acts",
        sa.Column("nreg", sa.Text(), nullable=False),
        sa.Column("dokid", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("types", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{}'::integer[]"), nullable=False),
        sa.Column("issuers", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{}'::integer[]"), nullable=False),
        sa.Column("official_number", sa.Text(), nullable=True),
        sa.Column("adopted_on", sa.Date(), nullable=True),
        sa.Column("card_edition", sa.Date(), nullable=True),
        sa.Column("edition_count", sa.Integer(), nullable=True),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(("nreg || ' ' || coalesce(official_number, '') || ' ' || title", "A")),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("nreg", name=op.f("pk_legislative_acts")),
    )
    op.create_index("ix_legislative_acts_search", "legislative_acts", ["search"], postgresql_using="gin")
    op.create_index("ix_legislative_acts_adopted_on", "legislative_acts", ["adopted_on"])
    op.create_index(
        "uq_legislative_acts_nreg_key", "legislative_acts", [sa.text("secondlayer_fold(nreg)")], unique=True
    )
    op.create_index("ix_legislative_acts_title_key", "legislative_acts", [sa.text("secondlayer_fold(title)")])

    op.create_table(
        "legislation_dictionary",
        sa.Column("dictionary", sa.Text(), nullable=False),
        sa.Column("code", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("dictionary", "code", name=op.f("pk_legislation_dictionary")),
    )
    op.create_table(
        "legislation_events",
        sa.Column("nreg", sa.Text(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("event", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cause", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("nreg", "event_date", "event", "cause", name=op.f("pk_legislation_events")),
    )
    op.create_table(
        "legislation_editions",
        sa.Column("nreg", sa.Text(), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("event", sa.Integer(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("articles", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["nreg"],
            ["legislative_acts.nreg"],
            name=op.f("fk_legislation_editions_nreg_legislative_acts"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("nreg", "edition_date", name=op.f("pk_legislation_editions")),
    )
    op.create_table(
        "legislation_texts",
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(("coalesce(title, '')", "B"), (f"left(body, {INDEXED_CHARS})", "D")),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_legislation_texts")),
        postgresql_with={"toast_tuple_target": 256},
    )
    op.create_index("ix_legislation_texts_search", "legislation_texts", ["search"], postgresql_using="gin")
    op.create_table(
        "legislation_structure",
        sa.Column("nreg", sa.Text(), nullable=False),
        sa.Column("edition_date", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("number_key", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text_hash", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('book', 'section', 'chapter', 'article')", name=op.f("ck_legislation_structure_kind")
        ),
        sa.ForeignKeyConstraint(
            ["nreg", "edition_date"],
            ["legislation_editions.nreg", "legislation_editions.edition_date"],
            name="fk_legislation_structure_edition",
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["text_hash"],
            ["legislation_texts.hash"],
            name=op.f("fk_legislation_structure_text_hash_legislation_texts"),
        ),
        sa.PrimaryKeyConstraint("nreg", "edition_date", "position", name=op.f("pk_legislation_structure")),
    )
    op.create_index("ix_legislation_structure_article", "legislation_structure", ["nreg", "number_key", "edition_date"])
    op.create_index("ix_legislation_structure_text_hash", "legislation_structure", ["text_hash"])


def downgrade() -> None:
    for table in (
        "legislation_structure",
        "legislation_texts",
        "legislation_editions",
        "legislation_events",
        "legislation_dictionary",
        "legislative_acts",
    ):
        op.drop_table(table)
    op.create_table(
        "legislative_acts",
        sa.Column("reg_number", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("demo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(("reg_number || ' ' || title", "A"), (f"left(text, {INDEXED_CHARS})", "C")),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("reg_number", name=op.f("pk_legislative_acts")),
    )
    op.create_index("ix_legislative_acts_kind", "legislative_acts", ["kind"], unique=False)
    op.create_index("ix_legislative_acts_search", "legislative_acts", ["search"], unique=False, postgresql_using="gin")
    op.create_index(
        "uq_legislative_acts_reg_key", "legislative_acts", [sa.text("secondlayer_fold(reg_number)")], unique=True
    )
    op.create_table(
        "legislation_articles",
        sa.Column("reg_number", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("act_title", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            _fts(("coalesce(heading, '')", "B"), ("act_title", "C"), (f"left(text, {INDEXED_CHARS})", "D")),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["reg_number"],
            ["legislative_acts.reg_number"],
            name=op.f("fk_legislation_articles_reg_number_legislative_acts"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reg_number", "number", name=op.f("pk_legislation_articles")),
        postgresql_with={"toast_tuple_target": 256},
    )
    op.create_index(
        "ix_legislation_articles_position", "legislation_articles", ["reg_number", "position"], unique=False
    )
    op.create_index(
        "ix_legislation_articles_search", "legislation_articles", ["search"], unique=False, postgresql_using="gin"
    )
