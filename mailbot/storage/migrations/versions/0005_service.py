"""The held queue: what a person did with each email held for a human.

Revision ID: 0005_service
Revises: 0005_staffmail
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_service"
down_revision = "0005_staffmail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id"), nullable=True),
        sa.Column("parked_id", sa.Integer(), sa.ForeignKey("parked.id"), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("by", sa.String(320), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.UniqueConstraint("message_id"),
        sa.UniqueConstraint("parked_id"),
    )


def downgrade() -> None:
    op.drop_table("held_decisions")
