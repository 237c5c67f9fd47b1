"""Per-message return paths (VERP): the signing key, bounced contacts, outbox lookup by return path.

Revision ID: 0004_autosignals
Revises: 0003
Create Date: 2026-12-05
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004_autosignals"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verp_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    # The key is made here, once per database, so two daemons starting
    # together never race to create different ones.
    # The database's own clock stamps it, as for the reply-token key: the
    # process never reads the time here.
    op.execute(
        sa.text(
            "INSERT INTO verp_keys (id, secret, created_at) VALUES (1, :secret, CURRENT_TIMESTAMP)"
        ).bindparams(secret=secrets.token_hex(32))
    )
    op.create_table(
        "bounced_contacts",
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
        sa.Column("message_id", sa.String(998), nullable=False, server_default=""),
        sa.Column("bounced_at", sa.DateTime(), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_index("ix_bounced_contacts_bounced_at", "bounced_contacts", ["bounced_at"])
    op.create_index("ix_outbox_mail_from", "outbox", ["mail_from"])


def downgrade() -> None:
    op.drop_index("ix_outbox_mail_from", "outbox")
    op.drop_index("ix_bounced_contacts_bounced_at", "bounced_contacts")
    op.drop_table("bounced_contacts")
    op.drop_table("verp_keys")
