"""auth_throttle.audit_id: one signin.throttled audit entry per lockout, counting the attempts it refused

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_throttle", sa.Column("audit_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("auth_throttle", "audit_id")
