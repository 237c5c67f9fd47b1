"""Caps on automatic mail: per-domain and stranger counts, blocked looping addresses.

Revision ID: 0004_caps
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_caps"
down_revision = "0004_staffauth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("auto_replies") as batch:
        batch.add_column(sa.Column("domain", sa.String(255), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("stranger", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("copy", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_auto_replies_domain_at", "auto_replies", ["domain", "at"])
    op.create_index("ix_auto_replies_stranger_at", "auto_replies", ["stranger", "at"])
    op.create_table(
        "blocked_addresses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("blocked_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(320), nullable=False, server_default=""),
    )
    op.create_index("ix_blocked_addresses_address", "blocked_addresses", ["address"])


def downgrade() -> None:
    op.drop_index("ix_blocked_addresses_address", "blocked_addresses")
    op.drop_table("blocked_addresses")
    op.drop_index("ix_auto_replies_stranger_at", "auto_replies")
    op.drop_index("ix_auto_replies_domain_at", "auto_replies")
    with op.batch_alter_table("auto_replies") as batch:
        batch.drop_column("copy")
        batch.drop_column("stranger")
        batch.drop_column("domain")
