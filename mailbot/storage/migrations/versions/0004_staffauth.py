"""Index received email by outcome and time, to count unverified staff mail.

Revision ID: 0004_staffauth
Revises: 0003
Create Date: 2026-12-05
"""

from alembic import op

revision = "0004_staffauth"
down_revision = "0004_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_outcome_received", "messages", ["outcome", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_outcome_received", table_name="messages")
