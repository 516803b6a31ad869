"""legal corpus: court decisions, legislation, bills, companies, with Ukrainian full-text search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 06:00:00

Stock PostgreSQL ships no Ukrainian dictionary (and the embedded pgserver build has no unaccent or
pg_trgm), so search folds text with secondlayer_fold(): lower case by an explicit alphabet (the server's
locale may be C), every apostrophe variant to U+02BC, ґ→г, ё→е, stress marks removed. The secondlayer_uk
configuration is a copy of `simple`; inflection is handled by prefix queries built in app/corpus/text.py,
which applies the same folding table (a test keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UPPER = "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯЁЫЭЪABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "абвггдеєжзиіїйклмнопрстуфхцчшщьюяеыэъabcdefghijklmnopqrstuvwxyz"
_APOSTROPHES = "'`\u2019\u2018\u02b9\u2032\u02bc"
# translate() drops characters of FROM that have no counterpart in TO: the combining acute (stress mark).
_FROM = _UPPER + "ґё" + _APOSTROPHES + "\u0301"
_TO = _LOWER + "ге" + "\u02bc" * len(_APOSTROPHES)
INDEXED_CHARS = 300000


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fts(*weighted: tuple[str, str]) -> sa.Computed:
    parts = [
        f"setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({expr})), '{weight}'::\"char\")"
        for expr, weight in weighted
    ]
    return sa.Computed(" || ".join(parts), persisted=True)


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION secondlayer_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
        f"AS $$ SELECT translate(value, {_literal(_FROM)}, {_literal(_TO)}) $$"
    )
    op.execute("CREATE TEXT SEARCH CONFIGURATION secondlayer_uk (COPY = pg_catalog.simple)")

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
            _fts(
                ("coalesce(case_number, '') || ' ' || coalesce(category, '') || ' ' || coalesce(court, '')", "A"),
                (f"left(full_text, {INDEXED_CHARS})", "D"),
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "proceeding_kind IN ('civil', 'criminal', 'commercial', 'administrative', 'administrative_offense')",
            name=op.f("ck_court_decisions_proceeding_kind"),
        ),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_court_decisions")),
        # Texts and tsvectors out of line: a narrow heap keeps the candidate scans of search cheap.
        postgresql_with={"toast_tuple_target": 256},
    )
    op.create_index(op.f("ix_court_decisions_case_number"), "court_decisions", ["case_number"], unique=False)
    op.create_index("ix_court_decisions_date", "court_decisions", ["adjudication_date"], unique=False)
    op.create_index(
        "ix_court_decisions_kind_date", "court_decisions", ["proceeding_kind", "adjudication_date"], unique=False
    )
    op.create_index("ix_court_decisions_search", "court_decisions", ["search"], unique=False, postgresql_using="gin")

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
            _fts(
                ("reg_number || ' ' || title", "A"),
                (f"left(text, {INDEXED_CHARS})", "C"),
            ),
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
            _fts(
                ("coalesce(heading, '')", "B"),
                ("act_title", "C"),
                (f"left(text, {INDEXED_CHARS})", "D"),
            ),
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


def downgrade() -> None:
    op.drop_table("companies")
    op.drop_table("bills")
    op.drop_table("legislation_articles")
    op.drop_table("legislative_acts")
    op.drop_table("court_decisions")
    op.execute("DROP TEXT SEARCH CONFIGURATION secondlayer_uk")
    op.execute("DROP FUNCTION secondlayer_fold(text)")
