"""SLA clock state on calls: pauses, revised deadlines, solved, closed, auto-close due.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("responded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("solved_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("paused_minutes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("paused_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("revised_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("revised_paused_minutes", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("revised_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.create_index("ix_calls_close_due_at", ["close_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_close_due_at")
        for column in (
            "revised_reason",
            "revised_paused_minutes",
            "revised_due_at",
            "paused_since",
            "paused_minutes",
            "closed_at",
            "solved_at",
            "responded_at",
            "close_due_at",
        ):
            batch_op.drop_column(column)
