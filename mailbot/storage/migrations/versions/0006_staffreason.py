"""Why a call missed its fix target, as the officer recorded it with #reason.

Revision ID: 0006_staffreason
Revises: 0006_planned
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_staffreason"
down_revision = "0006_planned"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("missed_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("missed_reason")
