"""Breach alerts: when a call's next unmet target passes, and which breaches were told.

Revision ID: 0005_staffmail
Revises: 0004_caps
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_staffmail"
down_revision = "0004_caps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("breach_due_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("breaches_told", sa.String(32), nullable=False, server_default="")
        )
    op.create_index("ix_calls_breach_due_at", "calls", ["breach_due_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_breach_due_at", "calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("breaches_told")
        batch.drop_column("breach_due_at")
