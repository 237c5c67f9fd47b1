"""An index on when each call was opened: the flood cap's count per email reads only the last hour.

Every new request counts the calls its domain opened within the hour
(``Store.new_calls_from_domain_since``); without this index that count read
every call ever opened, so each email cost more as the database grew.

Revision ID: 0007_intakeindex
Revises: 0006_satisfaction
Create Date: 2026-12-06
"""

from alembic import op

revision = "0007_intakeindex"
down_revision = "0006_satisfaction"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_calls_created_at", "calls", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_created_at", "calls")
