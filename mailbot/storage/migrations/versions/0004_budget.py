"""Parked mail: emails moved to the Failed folder, with the reason.

Revision ID: 0004_budget
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_budget"
down_revision = "0004_autosignals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(80), nullable=False, unique=True),
        sa.Column("uid", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(998), nullable=False, server_default=""),
        sa.Column("sender", sa.String(998), nullable=False, server_default=""),
        sa.Column("subject", sa.Text(), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_parked_at", "parked", ["at"])


def downgrade() -> None:
    op.drop_index("ix_parked_at", table_name="parked")
    op.drop_table("parked")
