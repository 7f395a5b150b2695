"""reason codes for jobs and orders, follow-up subjects as data: the console renders them in its language

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("reason_params", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalation_code", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("escalation_params", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_params", JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_column("subject_params")
    with op.batch_alter_table("service_order", schema=None) as batch_op:
        batch_op.drop_column("escalation_params")
        batch_op.drop_column("escalation_code")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("reason_params")
        batch_op.drop_column("reason_code")
