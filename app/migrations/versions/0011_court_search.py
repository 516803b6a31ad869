"""court search in one index: each decision's text words beside its metadata words on the decision's own row

Revision ID: 0011
Revises: 0013
Create Date: 2026-11-30 02:00:00

court_decisions gains text_search (the words of the decision's text), written by a trigger on
court_decision_texts, and one GIN index over `search || text_search` replaces the two GIN indexes (metadata on
court_decisions, text on court_decision_texts). A search then reads one partitioned table: a date range prunes
its partitions, the filters and the words meet in one bitmap, and a common word walks the date index newest
first instead of collecting every match. court_decision_texts.search goes (its words now live on the decision).
The backfill rewrites every decision that has a text: run VACUUM ANALYZE court_decisions afterwards.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXED_CHARS = 300000
# The words of a decision's text, weight D (metadata words weigh A-C). Kept in one function so that the trigger
# and the importer (a decision moved to another year's partition) compute them alike.
TEXT_WORDS = f"""
    CREATE FUNCTION secondlayer_court_text_words(value text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN value IS NULL THEN NULL ELSE
            setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold(left(value, {INDEXED_CHARS}))), 'D')
        END
    $$
"""
# Every writer of court_decision_texts (the fetcher, a --texts directory, the benchmarks' COPY, a test's INSERT)
# keeps the decision's words in step; a text whose decision is not stored yet has nothing to update.
SYNC = """
    CREATE FUNCTION secondlayer_court_text_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            UPDATE court_decisions SET text_search = NULL WHERE text_search IS NOT NULL;
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            UPDATE court_decisions SET text_search = NULL WHERE doc_id = OLD.doc_id AND text_search IS NOT NULL;
            RETURN OLD;
        ELSIF TG_OP = 'UPDATE' AND NEW.text IS NOT DISTINCT FROM OLD.text AND NEW.doc_id = OLD.doc_id THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.doc_id <> OLD.doc_id THEN
            UPDATE court_decisions SET text_search = NULL WHERE doc_id = OLD.doc_id;
        END IF;
        UPDATE court_decisions SET text_search = secondlayer_court_text_words(NEW.text) WHERE doc_id = NEW.doc_id;
        RETURN NEW;
    END
    $$
"""
SEARCH_EXPRESSION = "(coalesce(search, ''::tsvector) || coalesce(text_search, ''::tsvector))"


def upgrade() -> None:
    op.drop_index("ix_court_decisions_search", table_name="court_decisions")
    op.add_column("court_decisions", sa.Column("text_search", postgresql.TSVECTOR(), nullable=True))
    op.execute(TEXT_WORDS)
    op.execute(
        "UPDATE court_decisions d SET text_search = t.search FROM court_decision_texts t "
        "WHERE t.doc_id = d.doc_id AND t.text IS NOT NULL"
    )
    op.drop_index("ix_court_decision_texts_search", table_name="court_decision_texts")
    op.drop_column("court_decision_texts", "search")
    op.create_index(
        "ix_court_decisions_words",
        "court_decisions",
        [sa.text(SEARCH_EXPRESSION)],
        unique=False,
        postgresql_using="gin",
    )
    op.execute(SYNC)
    op.execute(
        "CREATE TRIGGER court_decision_texts_sync AFTER INSERT OR UPDATE OR DELETE ON court_decision_texts "
        "FOR EACH ROW EXECUTE FUNCTION secondlayer_court_text_sync()"
    )
    op.execute(
        "CREATE TRIGGER court_decision_texts_truncate AFTER TRUNCATE ON court_decision_texts "
        "FOR EACH STATEMENT EXECUTE FUNCTION secondlayer_court_text_sync()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER court_decision_texts_truncate ON court_decision_texts")
    op.execute("DROP TRIGGER court_decision_texts_sync ON court_decision_texts")
    op.execute("DROP FUNCTION secondlayer_court_text_sync()")
    op.drop_index("ix_court_decisions_words", table_name="court_decisions")
    op.add_column(
        "court_decision_texts",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold("
                f"left(coalesce(text, ''), {INDEXED_CHARS}))), 'D'::\"char\")",
                persisted=True,
            ),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_court_decision_texts_search", "court_decision_texts", ["search"], unique=False, postgresql_using="gin"
    )
    op.execute("DROP FUNCTION secondlayer_court_text_words(text)")
    op.drop_column("court_decisions", "text_search")
    op.create_index("ix_court_decisions_search", "court_decisions", ["search"], unique=False, postgresql_using="gin")
