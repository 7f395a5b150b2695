"""device events and silent-device deadlines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:57:54.558376
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatch.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "sos",
                "fall",
                "alarm",
                "removed",
                "low_battery",
                "geofence_exit",
                "geofence_enter",
                "power_cut",
                "vitals",
                "position",
                "heartbeat",
                "media",
                "silent",
                name="eventtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("device_time", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("fixed", sa.Boolean(), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.id"], name=op.f("fk_device_event_device_id_device"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_event")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_device_event_dedupe_key")),
    )
    with op.batch_alter_table("device_event", schema=None) as batch_op:
        batch_op.create_index("ix_device_event_device_received", ["device_id", "received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_event_elder_id"), ["elder_id"], unique=False)

    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("silent_deadline_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("silent_since", dispatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_device_silent_deadline_at"), ["silent_deadline_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_silent_deadline_at"))
        batch_op.drop_column("silent_since")
        batch_op.drop_column("silent_deadline_at")

    with op.batch_alter_table("device_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_event_elder_id"))
        batch_op.drop_index("ix_device_event_device_received")

    op.drop_table("device_event")
