"""Satisfaction by email: when a call's requester was invited to rate it, and the rating.

Revision ID: 0006_satisfaction
Revises: 0006_review
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_satisfaction"
down_revision = "0006_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("rating_invited_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating_word", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("rating_comment", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("rated_at", sa.DateTime(), nullable=True))
    op.create_index("ix_calls_rated_at", "calls", ["rated_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_rated_at", "calls")
    with op.batch_alter_table("calls") as batch:
        for column in ("rated_at", "rating_comment", "rating_word", "rating", "rating_invited_at"):
            batch.drop_column(column)
