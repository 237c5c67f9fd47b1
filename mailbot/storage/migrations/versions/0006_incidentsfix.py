"""Catch-up notices: a delivery that carries the incident so far to someone who missed it.

Revision ID: 0006_incidentsfix
Revises: 0005_service
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_incidentsfix"
down_revision = "0005_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("catchup", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("catchup")
