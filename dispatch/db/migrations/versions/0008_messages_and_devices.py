"""messages: retries kept in the database (next attempt, reason of failure) and report deadlines

Revision ID: 0008
Revises: 0006
Create Date: 2027-01-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db.base

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_message", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("next_attempt_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("report_due_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_sms_message_report_due_at", ["report_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_message", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_message_report_due_at")
        batch_op.drop_column("report_due_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("error_message")
