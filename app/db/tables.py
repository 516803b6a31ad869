"""Every table of the product, as SQLAlchemy Core. Alembic migrations are the schema authority."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _created() -> sa.Column[dt.datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    _created(),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("uq_users_email_lower", sa.func.lower(sa.text("email")), unique=True),
)

oauth_clients = sa.Table(
    "oauth_clients",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    # Public identifier: random for operator/DCR clients, the document URL for metadata-document clients.
    sa.Column("client_id", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("redirect_uris", ARRAY(sa.Text), nullable=False),
    sa.Column("token_endpoint_auth_method", sa.Text, nullable=False),
    sa.Column("grant_types", ARRAY(sa.Text), nullable=False),
    sa.Column("scope", sa.Text, nullable=False, server_default="mcp"),
    # operator | dynamic | metadata_document
    sa.Column("registration_source", sa.Text, nullable=False),
    sa.Column("metadata", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    _created(),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    # For metadata-document clients: when the cached document must be fetched again.
    sa.Column("metadata_expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("registered_ip", sa.Text, nullable=True),
    # private_key_jwt clients: where their public keys are published, or the key set itself (one of the two).
    sa.Column("jwks_uri", sa.Text, nullable=True),
    sa.Column("jwks", JSONB, nullable=True),
    sa.CheckConstraint(
        "token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt')",
        name="auth_method",
    ),
    sa.CheckConstraint("jwks_uri IS NULL OR jwks IS NULL", name="one_key_source"),
    sa.CheckConstraint(
        "registration_source IN ('operator', 'dynamic', 'metadata_document')", name="registration_source"
    ),
)

# The jti of every private_key_jwt assertion accepted, until it expires: each is single-use on every process.
oauth_client_assertions = sa.Table(
    "oauth_client_assertions",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("jti_hash", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    _created(),
    sa.UniqueConstraint("client_id", "jti_hash", name="uq_oauth_client_assertions_client_jti"),
)

oauth_client_secrets = sa.Table(
    "oauth_client_secrets",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column(
        "client_pk", sa.BigInteger, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("secret_hash", sa.Text, nullable=False),
    _created(),
    # NULL while current; set to the end of the grace period when rotated out.
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)

oauth_grants = sa.Table(
    "oauth_grants",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column(
        "client_pk", sa.BigInteger, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("resource", sa.Text, nullable=True),
    _created(),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_reason", sa.Text, nullable=True),
)

oauth_authorization_codes = sa.Table(
    "oauth_authorization_codes",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("code_hash", sa.Text, nullable=False, unique=True),
    sa.Column("client_pk", sa.BigInteger, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    # RFC 6749 4.1.3: the token request must repeat redirect_uri only when the authorization request sent it.
    sa.Column("redirect_uri_given", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("code_challenge", sa.Text, nullable=False),
    sa.Column("code_challenge_method", sa.Text, nullable=False, server_default="S256"),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("resource", sa.Text, nullable=True),
    _created(),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    # The grant the code was exchanged into, so that a replay can revoke what it issued.
    sa.Column("grant_id", sa.BigInteger, sa.ForeignKey("oauth_grants.id", ondelete="SET NULL"), nullable=True),
)

oauth_tokens = sa.Table(
    "oauth_tokens",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),  # access | refresh
    sa.Column(
        "grant_id", sa.BigInteger, sa.ForeignKey("oauth_grants.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("client_pk", sa.BigInteger, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    # RFC 8707 audience: the resource the token is for; NULL means every MCP endpoint of this server.
    sa.Column("audience", sa.Text, nullable=True),
    _created(),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # Refresh tokens: when this one was exchanged for its successor (rotation).
    sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('access', 'refresh')", name="kind"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    # The first characters of the key, shown to operators so they can tell keys apart.
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False, unique=True),
    _created(),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("session_hash", sa.Text, nullable=False, unique=True),
    sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    _created(),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ip", sa.Text, nullable=True),
    sa.Column("user_agent", sa.Text, nullable=True),
)

auth_throttle = sa.Table(
    "auth_throttle",
    metadata,
    # "ip+account:<address> <email>" and "ip:<address>" (these lock), "account:<email>" (this slows down)
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lockouts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    # The one signin.throttled audit entry that counts the attempts refused during the current lockout.
    sa.Column("audit_id", sa.BigInteger, nullable=True),
)

rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now(), index=True),
    sa.Column("actor_user_id", sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    # Who acted, as shown: an email, "cli", "system" or "anonymous".
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False, index=True),
    sa.Column("target_type", sa.Text, nullable=True),
    sa.Column("target_id", sa.Text, nullable=True),
    sa.Column("ip", sa.Text, nullable=True),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
)

job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("job", sa.Text, nullable=False),
    sa.Column("trigger", sa.Text, nullable=False),  # schedule | manual | cli
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.Text, nullable=False),  # running | ok | error | skipped
    sa.Column("rows_deleted", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_job_runs_job_started", "job", "started_at"),
)

# Provenance of the official-data imports (app/corpus/provenance.py): one row per run, written when it starts
# (status running) and finished in its own transaction, so a failed import is recorded even though its data rolled
# back. Shown by the `sources` tool and the console's Data page.
data_imports = sa.Table(
    "data_imports",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # the URL or path as given
    sa.Column("actor", sa.Text, nullable=False),  # "cli", "schedule", "bootstrap" or an operator's email
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("published", sa.Text, nullable=True),  # the publication's own date or version, when it has one
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("added", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("updated", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("unchanged", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("bad", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("problems", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),  # the first bad rows
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'unchanged', 'failed', 'rolled_back')", name="status"),
    sa.Index("ix_data_imports_dataset_started", "dataset", "started_at"),
)

# ---- corpus ----
# The legal corpus served by the tools (app/corpus, app/tools/*), loaded by `secondlayer import`.
# Each searchable table has a generated tsvector over text folded by secondlayer_fold() (lower case, one
# apostrophe, ґ→г, ё→е, no stress marks) under the secondlayer_uk text search configuration (a copy of
# `simple`: stock PostgreSQL ships no Ukrainian stemmer, so inflection is handled on the query side by
# prefix matching of stems, see app/corpus/text.py). Both are created by migration 0002.
from sqlalchemy.dialects.postgresql import TSVECTOR  # noqa: E402

# Text beyond this many characters is stored and readable but not indexed (tsvector has a 1 MB limit).
INDEXED_CHARS = 300000


def _fts(*weighted: tuple[str, str]) -> sa.Computed:
    parts = [
        f"setweight(to_tsvector('secondlayer_uk'::regconfig, secondlayer_fold({expr})), '{weight}'::\"char\")"
        for expr, weight in weighted
    ]
    return sa.Computed(" || ".join(parts), persisted=True)


# ---- court decisions: the official ЄДРСР dump (app/corpus/edrsr) ----
# The register's dictionaries, loaded from each publication as they stand (codes are the publisher's).
edrsr_courts = sa.Table(
    "edrsr_courts",
    metadata,
    sa.Column("court_code", sa.Text, primary_key=True),  # text: "0713" keeps its leading zero
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("instance_code", sa.SmallInteger, nullable=True),
    sa.Column("region_code", sa.SmallInteger, nullable=True),
    sa.Index("ix_edrsr_courts_region", "region_code"),
)


def _dictionary(name: str, key: str, key_type: type[sa.SmallInteger] | type[sa.Integer]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column(key, key_type, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
    )


edrsr_instances = _dictionary("edrsr_instances", "instance_code", sa.SmallInteger)
edrsr_regions = _dictionary("edrsr_regions", "region_code", sa.SmallInteger)
edrsr_justice_kinds = _dictionary("edrsr_justice_kinds", "justice_kind", sa.SmallInteger)
edrsr_judgment_forms = _dictionary("edrsr_judgment_forms", "judgment_code", sa.SmallInteger)
edrsr_cause_categories = _dictionary("edrsr_cause_categories", "category_code", sa.Integer)

# The words a court search matches: a decision's metadata and its text (ix_court_decisions_words).
COURT_WORDS = "(coalesce(search, ''::tsvector) || coalesce(text_search, ''::tsvector))"

# One row per document of documents.csv, partitioned by year of adjudication (court_decisions_yYYYY, created by
# the importer for the years it meets): a year can be re-imported or dropped on its own, and a date range reads
# only its partitions. A unique constraint on a partitioned table must contain the partition key, so the primary
# key is (doc_id, adjudication_date); doc_id alone is kept unique by the importer, which holds an advisory lock
# and moves a document whose date changed (app/corpus/edrsr/store.py); a lookup by doc_id alone uses the primary
# key's index, doc_id first (no index of its own: migration 0014). Texts live in court_decision_texts.
court_decisions = sa.Table(
    "court_decisions",
    metadata,
    sa.Column("doc_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("adjudication_date", sa.Date, primary_key=True),  # the local calendar date, not UTC
    sa.Column("court_code", sa.Text, nullable=False),
    sa.Column("judgment_code", sa.SmallInteger, nullable=True),
    sa.Column("justice_kind", sa.SmallInteger, nullable=True),
    sa.Column("category_code", sa.Integer, nullable=True),
    sa.Column("cause_num", sa.Text, nullable=True),
    sa.Column("receipt_date", sa.Date, nullable=True),
    sa.Column("judge", sa.Text, nullable=True),
    # secondlayer_fold(judge), for the judge filter (a prefix: judges are written "Прізвище І. Б.").
    sa.Column("judge_key", sa.Text, nullable=True),
    sa.Column("doc_url", sa.Text, nullable=True),  # the text file; often filled only by a later publication
    sa.Column("status", sa.SmallInteger, nullable=True),
    sa.Column("date_publ", sa.Date, nullable=True),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # Case number, category, court and judge in words, written by the importer's merge (it joins the
    # dictionaries): a decision whose text is not loaded is still found by these.
    sa.Column("search", TSVECTOR, nullable=True),
    # The words of the decision's text (secondlayer_court_text_words), written by a trigger on
    # court_decision_texts (migration 0011): one GIN index over both finds words of either, and a search never
    # joins the texts to match or to filter.
    sa.Column("text_search", TSVECTOR, nullable=True),
    sa.Index("ix_court_decisions_date", "adjudication_date", "doc_id"),
    sa.Index("ix_court_decisions_cause_num", "cause_num", "adjudication_date"),
    sa.Index("ix_court_decisions_court_date", "court_code", "adjudication_date"),
    sa.Index("ix_court_decisions_category_date", "category_code", "adjudication_date"),
    sa.Index("ix_court_decisions_form_date", "judgment_code", "adjudication_date"),
    sa.Index("ix_court_decisions_kind_date", "justice_kind", "adjudication_date"),
    sa.Index("ix_court_decisions_judge_key", "judge_key", postgresql_ops={"judge_key": "text_pattern_ops"}),
    sa.Index("ix_court_decisions_words", sa.text(COURT_WORDS), postgresql_using="gin"),
    postgresql_partition_by="RANGE (adjudication_date)",
)

# The decisions' texts, converted from the register's RTF (or HTML) files, kept out of the metadata rows; their
# words are indexed on the decision (court_decisions.text_search, kept in step by a trigger).
court_decision_texts = sa.Table(
    "court_decision_texts",
    metadata,
    sa.Column("doc_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("text", sa.Text, nullable=True),  # NULL with `error` set: the file could not be fetched or read
    sa.Column("format", sa.Text, nullable=True),  # rtf | html | text
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    postgresql_with={"toast_tuple_target": 256},
)

# Partitions are managed by the importer, not by Alembic: autogenerate looks past them.
PARTITION_NAME = "court_decisions_y{year:04d}"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's include_name: everything except court_decisions' yearly partitions and the tables an import
    loads new years into before attaching them (court_decisions_load, app/corpus/edrsr/store.py)."""
    return not (
        type_ == "table" and name is not None and name.startswith(("court_decisions_y", "court_decisions_load"))
    )


# Legislation from the Rada's open data (app/corpus/laws/): one card per act, its editions, and each edition's
# structure (books, sections, chapters, articles) pointing at article texts stored once per distinct content.
legislative_acts = sa.Table(
    "legislative_acts",
    metadata,
    # Registration number as the Rada writes it: 435-15, 2755-17, 254к/96-вр.
    sa.Column("nreg", sa.Text, primary_key=True),
    sa.Column("dokid", sa.BigInteger, nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=True),  # code of the `stan` dictionary
    sa.Column("types", ARRAY(sa.Integer), nullable=False, server_default=sa.text("'{}'::integer[]")),
    sa.Column("issuers", ARRAY(sa.Integer), nullable=False, server_default=sa.text("'{}'::integer[]")),
    sa.Column("official_number", sa.Text, nullable=True),  # 2755-VI
    sa.Column("adopted_on", sa.Date, nullable=True),
    sa.Column("card_edition", sa.Date, nullable=True),  # the card's datred, as published
    sa.Column("edition_count", sa.Integer, nullable=True),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column(
        "search",
        TSVECTOR,
        _fts(("nreg || ' ' || coalesce(official_number, '') || ' ' || title", "A")),
        nullable=True,
    ),
    sa.Index("ix_legislative_acts_search", "search", postgresql_using="gin"),
    sa.Index("ix_legislative_acts_adopted_on", "adopted_on"),
    # Relations files may name acts by dokid (migration 0012).
    sa.Index("ix_legislative_acts_dokid", "dokid"),
    # Lookups by registration number ignore case and apostrophe style (254К/96-ВР finds 254к/96-вр).
    sa.Index("uq_legislative_acts_nreg_key", sa.text("secondlayer_fold(nreg)"), unique=True),
    # Citations name laws by title («Про захист прав споживачів»): found by equality, not by a scan.
    sa.Index("ix_legislative_acts_title_key", sa.text("secondlayer_fold(title)")),
)

# The publisher's dictionaries: stan (status), podia (events), typ (types), org (issuers).
legislation_dictionary = sa.Table(
    "legislation_dictionary",
    metadata,
    sa.Column("dictionary", sa.Text, primary_key=True),
    sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
)

# doc-dates.txt: what happened to an act on a date, and the act that caused it.
legislation_events = sa.Table(
    "legislation_events",
    metadata,
    sa.Column("nreg", sa.Text, primary_key=True),
    sa.Column("event_date", sa.Date, primary_key=True),
    sa.Column("event", sa.Integer, primary_key=True, autoincrement=False),  # code of the `podia` dictionary
    sa.Column("cause", sa.Text, primary_key=True, server_default=""),  # nreg of the causing act, or ''
)

legislation_editions = sa.Table(
    "legislation_editions",
    metadata,
    sa.Column(
        "nreg",
        sa.Text,
        sa.ForeignKey("legislative_acts.nreg", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("edition_date", sa.Date, primary_key=True),
    sa.Column("event", sa.Integer, nullable=True),
    sa.Column("cause", sa.Text, nullable=True),  # nreg of the act that caused this edition
    sa.Column("articles", sa.Integer, nullable=True),  # articles of the loaded text; null: text not loaded
)

# An article's heading and text, stored once however many editions carry it unchanged.
legislation_texts = sa.Table(
    "legislation_texts",
    metadata,
    sa.Column("hash", sa.Text, primary_key=True),  # sha256 of title and text
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column(
        "search",
        TSVECTOR,
        _fts(("coalesce(title, '')", "B"), (f"left(body, {INDEXED_CHARS})", "D")),
        nullable=True,
    ),
    sa.Index("ix_legislation_texts_search", "search", postgresql_using="gin"),
    postgresql_with={"toast_tuple_target": 256},
)

legislation_structure = sa.Table(
    "legislation_structure",
    metadata,
    sa.Column("nreg", sa.Text, primary_key=True),
    sa.Column("edition_date", sa.Date, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.Text, nullable=False),  # book, section, chapter, article
    sa.Column("number", sa.Text, nullable=False),  # as written: 625, 16-1, 1², IV
    sa.Column("number_key", sa.Text, nullable=False),  # as looked up: 16¹ and 16-1 are both 16-1
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("text_hash", sa.Text, sa.ForeignKey("legislation_texts.hash"), nullable=True),
    sa.ForeignKeyConstraint(
        ["nreg", "edition_date"],
        ["legislation_editions.nreg", "legislation_editions.edition_date"],
        name="fk_legislation_structure_edition",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
    sa.CheckConstraint("kind IN ('book', 'section', 'chapter', 'article')", name="kind"),
    sa.Index("ix_legislation_structure_article", "nreg", "number_key", "edition_date"),
    sa.Index("ix_legislation_structure_text_hash", "text_hash"),
)


# "act nreg <relation> act related", in the direction of the `vidnosh` dictionary (1 змінює, 5 роз'яснює, 22 визнає
# нечинним, ...): from the relations file, or from an edition's cause (the causing act amends the act: 1). Either
# end may be an act that is not loaded, hence no foreign key (migration 0012).
legislation_relations = sa.Table(
    "legislation_relations",
    metadata,
    sa.Column("nreg", sa.Text, primary_key=True),
    sa.Column("relation", sa.Integer, primary_key=True, autoincrement=False),  # code of the `vidnosh` dictionary
    sa.Column("related", sa.Text, primary_key=True),
    sa.Column("since", sa.Date, nullable=True),
    sa.Column("origin", sa.Text, nullable=False),  # relations (the file) or editions (an edition's cause)
    sa.CheckConstraint("origin IN ('relations', 'editions')", name="origin"),
    sa.Index("ix_legislation_relations_related", "related", "relation"),
)


# ---- Parliament (Verkhovna Rada open data, data.rada.gov.ua; migration 0008) ----------------------------

bills = sa.Table(
    "bills",
    metadata,
    # The bill's id in the Rada's open data (billinfo-skl{N}.json `id`): the key every publication keeps.
    sa.Column("bill_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("convocation", sa.Integer, nullable=False),
    sa.Column("number", sa.Text, nullable=False),  # registration number, e.g. 10045, 3005-д
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=True),  # null: missing or impossible in the feed
    sa.Column("session", sa.Text, nullable=True),
    sa.Column("bill_type", sa.Text, nullable=True),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("rubric", sa.Text, nullable=True),
    sa.Column("phase", sa.Text, nullable=True),  # currentPhase.title
    sa.Column("phase_date", sa.Date, nullable=True),
    sa.Column("status", sa.Text, nullable=True),  # currentPhase.status
    sa.Column("lead_committee", sa.Text, nullable=True),
    # Co-executing committees, the passage ([{date, title}]), alternative and bound bills ([{id, number, ...}]).
    sa.Column("executives", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("passings", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("alternatives", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("bound", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    # Documents ([{id, kind_id, kind, number, date, ..., urls}]); null until a full file brought them.
    sa.Column("documents", JSONB, nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column(
        "search",
        TSVECTOR,
        _fts(
            ("number || ' ' || title", "A"),
            (
                "coalesce(subject, '') || ' ' || coalesce(rubric, '') || ' ' || coalesce(lead_committee, '') || ' ' "
                "|| coalesce(bill_type, '')",
                "C",
            ),
        ),
        nullable=True,
    ),
    sa.Index("ix_bills_search", "search", postgresql_using="gin"),
    sa.Index("ix_bills_registered_on", "registered_on"),
    # Numbers repeat across convocations (each starts again from 1).
    sa.Index("ix_bills_number_key", sa.text("secondlayer_fold(number)"), "convocation"),
)

bill_initiators = sa.Table(
    "bill_initiators",
    metadata,
    sa.Column("bill_id", sa.BigInteger, sa.ForeignKey("bills.bill_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # mp | inner | outter | official, as the feed wraps them
    # A deputy's person id (deputies.person_id); linked when that deputy is loaded, before or after the bill.
    sa.Column("person_id", sa.BigInteger, nullable=True, index=True),
    sa.Column("name", sa.Text, nullable=False),  # as the feed gives it
    sa.Column("post", sa.Text, nullable=True),
    sa.Column("organization", sa.Text, nullable=True),
)

deputies = sa.Table(
    "deputies",
    metadata,
    sa.Column("convocation", sa.Integer, primary_key=True),
    # `id` of mps-data.json: one person; a person can hold two records (two mandates), so with rada_id.
    sa.Column("person_id", sa.BigInteger, primary_key=True),
    sa.Column("rada_id", sa.BigInteger, primary_key=True),
    sa.Column("surname", sa.Text, nullable=False),
    sa.Column("firstname", sa.Text, nullable=False, server_default=""),
    sa.Column("patronymic", sa.Text, nullable=False, server_default=""),
    sa.Column("gender", sa.SmallInteger, nullable=True),
    sa.Column("birthday", sa.Date, nullable=True),
    sa.Column("date_oath", sa.Date, nullable=True),
    sa.Column("resignation_date", sa.Date, nullable=True),
    sa.Column("resignation_reason", sa.Text, nullable=True),
    sa.Column("district_num", sa.Integer, nullable=True),  # null: elected on a party list
    sa.Column("region_id", sa.Integer, nullable=True),
    sa.Column("region_name", sa.Text, nullable=True),
    sa.Column("party_id", sa.Integer, nullable=True),
    sa.Column("party_name", sa.Text, nullable=True),
    sa.Column("num_in_party", sa.Integer, nullable=True),
    sa.Column("election_info", sa.Text, nullable=True),  # obr_info, without its markup
    sa.Column("short_info", sa.Text, nullable=True),
    sa.Column("photo", sa.Text, nullable=True),
    # Faction, committee, commission posts: [{body_id, body, kind, type, post_id, post}]; the body names are
    # also in rada_bodies. Inter-parliamentary groups: [{organization_id, post}].
    sa.Column("posts", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("groups", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    # presentAuto_present, presentAuto_absent, presentManualy_present, ... as published.
    sa.Column("attendance", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column(
        "search",
        TSVECTOR,
        _fts(
            ("surname || ' ' || firstname || ' ' || patronymic", "A"),
            ("coalesce(party_name, '') || ' ' || coalesce(region_name, '')", "C"),
        ),
        nullable=True,
    ),
    sa.Index("ix_deputies_search", "search", postgresql_using="gin"),
    sa.Index("ix_deputies_person_id", "person_id"),
)

rada_bodies = sa.Table(
    "rada_bodies",
    metadata,
    sa.Column("convocation", sa.Integer, primary_key=True),
    sa.Column("body_id", sa.BigInteger, primary_key=True),  # fr_associations.id
    sa.Column("name", sa.Text, nullable=False),
    # faction | group | committee | subcommittee | commission | leadership | other (from is_fr and type)
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("type", sa.Integer, nullable=True),
)

rada_dictionaries = sa.Table(
    "rada_dictionaries",
    metadata,
    sa.Column("convocation", sa.Integer, primary_key=True),
    sa.Column("dictionary", sa.Text, primary_key=True),  # parties | regions | fr_posts | mp_posts | assistant_types
    sa.Column("entry_id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

# The state register (ЄДР): legal entities (uo), individual entrepreneurs (fop), public associations (fsu).
# `id` is the EDRPOU code, or for an entrepreneur (published without one) `fop-` and a hash of the name and
# registration (app/corpus/edr/parse.py says how). A row that vanished from a later full dump keeps its data and
# gets `vanished_at`.
companies = sa.Table(
    "companies",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # uo, fop, fsu
    sa.Column("edrpou", sa.Text, nullable=True),  # 8 digits with a valid check digit; none for fop
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("short_name", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False, server_default=""),  # the word as published: зареєстровано, ...
    sa.Column("status_code", sa.Text, nullable=False),  # registered, terminating, terminated, bankruptcy, ...
    sa.Column("address", sa.Text, nullable=True),
    sa.Column("region", sa.Text, nullable=True),  # Львівська область, м. Київ, ... (from the address)
    sa.Column("registered_on", sa.Date, nullable=True),
    sa.Column("capital", sa.Numeric, nullable=True),  # authorised capital, UAH
    sa.Column("head", sa.Text, nullable=True),  # the signer whose role is "керівник"
    # [{"code": "62.01", "name": "...", "primary": true}, ...] (КВЕД), and the codes with their divisions.
    sa.Column("activities", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("kveds", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    sa.Column("termination", JSONB, nullable=True),  # TERMINATION_STARTED_INFO
    sa.Column("bankruptcy", JSONB, nullable=True),  # BANKRUPTCY_READJUSTMENT_INFO
    sa.Column("tax_registrations", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),  # EXCHANGE_DATA
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),  # the other elements
    sa.Column("fingerprint", sa.Text, nullable=False),  # of everything imported: tells a changed entity
    sa.Column("import_id", sa.BigInteger, nullable=True),  # the data_imports run that last changed it
    sa.Column("vanished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("demo", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column(
        "search",
        TSVECTOR,
        _fts(("coalesce(edrpou, '') || ' ' || name || ' ' || coalesce(short_name, '')", "A")),
        nullable=True,
    ),
    sa.CheckConstraint("kind IN ('uo', 'fop', 'fsu')", name="kind"),
    sa.CheckConstraint("edrpou ~ '^[0-9]{8}$'", name="edrpou_digits"),
    sa.Index("ix_companies_search", "search", postgresql_using="gin"),
    sa.Index("ix_companies_kveds", "kveds", postgresql_using="gin"),
    sa.Index("ix_companies_status_code", "status_code"),
    sa.Index("uq_companies_edrpou", "edrpou", unique=True, postgresql_where=sa.text("edrpou IS NOT NULL")),
)

# Everyone an entity names: role is head, signer, founder, beneficiary, member or branch_signer. A founder that is
# itself an entity carries its code; shares are in UAH as published, and as a percentage of the capital.
company_persons = sa.Table(
    "company_persons",
    metadata,
    sa.Column("company_id", sa.Text, sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("code", sa.Text, nullable=True),
    sa.Column("share", sa.Numeric, nullable=True),
    sa.Column("share_percent", sa.Numeric, nullable=True),
    sa.Column("details", sa.Text, nullable=True),  # the rest of the text; a beneficiary's nature of control first
    # Names are written surname first: a person is found by a prefix of the folded name, through a b-tree.
    sa.Index(
        "ix_company_persons_name",
        sa.func.secondlayer_fold(sa.literal_column("name")).label("folded_name"),
        postgresql_ops={"folded_name": "text_pattern_ops"},
    ),
    sa.Index("ix_company_persons_code", "code", postgresql_where=sa.text("code IS NOT NULL")),
)

# Other entities an entity names: relation is predecessor, assignee or branch.
company_links = sa.Table(
    "company_links",
    metadata,
    sa.Column("company_id", sa.Text, sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("relation", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("code", sa.Text, nullable=True),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Index("ix_company_links_code", "code", postgresql_where=sa.text("code IS NOT NULL")),
)

# A company's status and head as each import found them (field status or head), and when it vanished from a full
# dump or came back (field presence: vanished, returned).
company_history = sa.Table(
    "company_history",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("company_id", sa.Text, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("import_id", sa.BigInteger, nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Index("ix_company_history_company", "company_id", "id"),
)

# A ЄДР import in progress, per source and publication (size, ETag or mtime): the last element whose batch was
# committed (`file_index` within the source's XML files, `element` within that file), so a failed or killed
# import resumes after it; and the ids the publication held so far, for marking the vanished at the end.
edr_import_checkpoints = sa.Table(
    "edr_import_checkpoints",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("publication", sa.Text, nullable=False),
    sa.Column("file_index", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("element", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("elements", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("entities", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("kinds", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    sa.Column("import_id", sa.BigInteger, nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("source", "publication", name="uq_edr_import_checkpoints_source"),
)

edr_import_seen = sa.Table(
    "edr_import_seen",
    metadata,
    sa.Column(
        "checkpoint_id",
        sa.BigInteger,
        sa.ForeignKey("edr_import_checkpoints.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("id", sa.Text, primary_key=True),
)
