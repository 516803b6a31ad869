"""private_key_jwt clients: their keys (jwks_uri or jwks) and the single-use record of assertion jti values

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_METHODS = "'none', 'client_secret_basic', 'client_secret_post'"


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("jwks_uri", sa.Text(), nullable=True))
    op.add_column("oauth_clients", sa.Column("jwks", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.drop_constraint(op.f("ck_oauth_clients_auth_method"), "oauth_clients", type_="check")
    op.create_check_constraint(
        op.f("ck_oauth_clients_auth_method"),
        "oauth_clients",
        f"token_endpoint_auth_method IN ({_METHODS}, 'private_key_jwt')",
    )
    op.create_check_constraint(
        op.f("ck_oauth_clients_one_key_source"), "oauth_clients", "jwks_uri IS NULL OR jwks IS NULL"
    )
    op.create_table(
        "oauth_client_assertions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("jti_hash", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_client_assertions")),
        sa.UniqueConstraint("client_id", "jti_hash", name=op.f("uq_oauth_client_assertions_client_jti")),
    )
    op.create_index(op.f("ix_oauth_client_assertions_expires_at"), "oauth_client_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_oauth_client_assertions_expires_at"), table_name="oauth_client_assertions")
    op.drop_table("oauth_client_assertions")
    # Clients that can only authenticate with keys cannot be kept by the old schema.
    op.execute("DELETE FROM oauth_clients WHERE token_endpoint_auth_method = 'private_key_jwt'")
    op.drop_constraint(op.f("ck_oauth_clients_one_key_source"), "oauth_clients", type_="check")
    op.drop_constraint(op.f("ck_oauth_clients_auth_method"), "oauth_clients", type_="check")
    op.create_check_constraint(
        op.f("ck_oauth_clients_auth_method"), "oauth_clients", f"token_endpoint_auth_method IN ({_METHODS})"
    )
    op.drop_column("oauth_clients", "jwks")
    op.drop_column("oauth_clients", "jwks_uri")
