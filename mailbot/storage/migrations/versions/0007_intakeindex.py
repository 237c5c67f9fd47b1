"""Indexes for the two lookups every new request makes, so neither reads every call.

The flood cap counts the calls a domain opened within the hour
(``Store.new_calls_from_domain_since``): with ``calls.created_at`` indexed it
reads only the last hour's calls.  The recurrence check looks for the
school's incidents solved recently (``Store.recent_done``): with
``(school_id, solved_at)`` indexed it reads only those, not every call the
school ever opened.  Without them each email cost more as the database grew.

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
    op.create_index("ix_calls_school_solved", "calls", ["school_id", "solved_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_school_solved", "calls")
    op.drop_index("ix_calls_created_at", "calls")
