"""calls and their timelines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:07:13.993972
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatch.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("elder_name", sa.String(length=64), nullable=False),
        sa.Column("open_elder_id", sa.Integer(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "device_alarm", "inbound_phone", "agent", name="callsource", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "sos",
                "fall",
                "vitals",
                "geofence_exit",
                "device_silent",
                "low_battery",
                "device_removed",
                "service_request",
                "enquiry",
                "complaint",
                name="callcategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "new",
                "acknowledged",
                "dispatched",
                "on_scene",
                "resolved",
                "closed",
                "cancelled",
                "false_alarm",
                name="callstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("fixed", sa.Boolean(), nullable=True),
        sa.Column("opened_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state_since", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sla_deadline_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ack_deadline_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_by_name", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("updated_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claimed_by"], ["operator.id"], name=op.f("fk_call_claimed_by_operator")),
        sa.ForeignKeyConstraint(["elder_id"], ["elder.id"], name=op.f("fk_call_elder_id_elder")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call")),
        sa.UniqueConstraint("open_elder_id", name=op.f("uq_call_open_elder_id")),
    )
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_ack_deadline_at"), ["ack_deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_elder_id"), ["elder_id"], unique=False)
        batch_op.create_index("ix_call_state_priority", ["state", "priority"], unique=False)

    op.create_table(
        "call_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("device_event_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_call_entry_call_id_call"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_entry")),
        sa.UniqueConstraint("device_event_id", name=op.f("uq_call_entry_device_event_id")),
    )
    with op.batch_alter_table("call_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_entry_call_id"), ["call_id"], unique=False)

    with op.batch_alter_table("device_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("processed_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("device_event", schema=None) as batch_op:
        batch_op.drop_column("processed_at")

    with op.batch_alter_table("call_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_entry_call_id"))

    op.drop_table("call_entry")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index("ix_call_state_priority")
        batch_op.drop_index(batch_op.f("ix_call_elder_id"))
        batch_op.drop_index(batch_op.f("ix_call_ack_deadline_at"))

    op.drop_table("call")
