"""claims and the rules sweeper: unprocessed-event index, rule attempts and parking, one live job each

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPROCESSED = sa.text("processed_at IS NULL")
LIVE_JOB = sa.text("state IN ('offering', 'assigned')")
# The event types the alarm rules look at when this migration was written (dispatch.ingest.events).
RULE_TYPES = (
    "sos",
    "fall",
    "alarm",
    "removed",
    "low_battery",
    "geofence_exit",
    "silent",
    "vitals",
    "position",
    "service_request",
)


def upgrade() -> None:
    with op.batch_alter_table("device_event") as batch:
        batch.add_column(sa.Column("rule_attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("parked_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("park_reason", sa.Text(), nullable=True))
    # Events the rules never look at count as processed, so the unprocessed ones are few and indexed.
    events = sa.table("device_event", sa.column("type"), sa.column("processed_at"), sa.column("received_at"))
    op.execute(
        events.update()
        .where(events.c.processed_at.is_(None), events.c.type.notin_(RULE_TYPES))
        .values(processed_at=events.c.received_at)
    )
    op.create_index(
        "ix_device_event_unprocessed",
        "device_event",
        ["id"],
        postgresql_where=UNPROCESSED,
        sqlite_where=UNPROCESSED,
    )
    op.create_index(
        "uq_job_live_call_service",
        "job",
        ["call_id", "service_type"],
        unique=True,
        postgresql_where=LIVE_JOB,
        sqlite_where=LIVE_JOB,
    )
    op.create_index(
        "uq_job_live_order",
        "job",
        ["order_id"],
        unique=True,
        postgresql_where=LIVE_JOB,
        sqlite_where=LIVE_JOB,
    )


def downgrade() -> None:
    op.drop_index("uq_job_live_order", table_name="job")
    op.drop_index("uq_job_live_call_service", table_name="job")
    op.drop_index("ix_device_event_unprocessed", table_name="device_event")
    with op.batch_alter_table("device_event") as batch:
        batch.drop_column("park_reason")
        batch.drop_column("parked_at")
        batch.drop_column("rule_attempts")
