"""Planned maintenance and availability: incidents gain a kind, window, services, stage, outage.

Revision ID: 0006_planned
Revises: 0006_incidentsfix
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_planned"
down_revision = "0006_incidentsfix"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="major"))
        batch.add_column(sa.Column("starts_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("ends_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("services", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("stage", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("outage", sa.String(8), nullable=False, server_default="full"))
        batch.create_index("ix_incidents_kind", ["kind"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_kind")
        for name in ("outage", "stage", "services", "ends_at", "starts_at", "kind"):
            batch.drop_column(name)
