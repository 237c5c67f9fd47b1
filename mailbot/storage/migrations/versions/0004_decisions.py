"""The secret key behind the reply tokens that make decisions by email unforgeable.

Revision ID: 0004_decisions
Revises: 0003
Create Date: 2026-12-05
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004_decisions"
down_revision = "0004_budget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    # The key is made here, once, so that every process finds it already
    # there: generating it lazily would let two processes race to create it.
    # It lives only in the database, never in the repository or config.
    op.execute(
        sa.text(
            "INSERT INTO secrets (name, value, created_at) "
            "VALUES ('reply_token_key', :value, CURRENT_TIMESTAMP)"
        ).bindparams(value=secrets.token_hex(32))
    )


def downgrade() -> None:
    op.drop_table("secrets")
