"""Major incidents and their broadcasts, change approval votes, monthly report runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(32), nullable=False, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("email_down", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("keywords", sa.Text(), nullable=False, server_default=""),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("declared_by", sa.String(320), nullable=False, server_default=""),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("by", sa.String(320), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("expanded", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("incident_id", "seq"),
    )
    op.create_index("ix_incident_updates_incident_id", "incident_updates", ["incident_id"])
    op.create_index("ix_incident_updates_expanded", "incident_updates", ["expanded"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("update_id", sa.Integer(), sa.ForeignKey("incident_updates.id"), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("school_id", sa.String(64), nullable=True),
        sa.Column("lists", sa.Text(), nullable=False, server_default=""),
        sa.Column("route", sa.String(16), nullable=False, server_default="smtp"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("update_id", "address"),
    )
    op.create_index("ix_deliveries_pending", "deliveries", ["status", "update_id"])
    op.create_table(
        "change_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("call_id", sa.Integer(), sa.ForeignKey("calls.id"), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("member", sa.String(320), nullable=False),
        sa.Column("vote", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("call_id", "round", "member"),
    )
    op.create_index("ix_change_votes_call_id", "change_votes", ["call_id"])
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("audience", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("month", "audience"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("change_board", sa.String(16), nullable=True))
        batch_op.add_column(
            sa.Column("change_round", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("change_due_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_calls_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_calls_change_due_at", ["change_due_at"], unique=False)
        batch_op.create_foreign_key("fk_calls_incident_id", "incidents", ["incident_id"], ["id"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("route", sa.String(16), nullable=False, server_default="smtp")
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("route")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint("fk_calls_incident_id", type_="foreignkey")
        batch_op.drop_index("ix_calls_change_due_at")
        batch_op.drop_index("ix_calls_incident_id")
        for column in ("change_due_at", "change_round", "change_board", "incident_id"):
            batch_op.drop_column(column)
    op.drop_table("report_runs")
    op.drop_index("ix_change_votes_call_id", table_name="change_votes")
    op.drop_table("change_votes")
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_incident_updates_expanded", table_name="incident_updates")
    op.drop_index("ix_incident_updates_incident_id", table_name="incident_updates")
    op.drop_table("incident_updates")
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.drop_table("incidents")
