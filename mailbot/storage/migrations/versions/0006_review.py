"""The termly service review pack: which term's pack went to which audience.

Revision ID: 0006_review
Revises: 0006_staffreason
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_review"
down_revision = "0006_staffreason"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("term", sa.String(32), nullable=False),
        sa.Column("audience", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("term", "audience"),
    )


def downgrade() -> None:
    op.drop_table("review_runs")
