"""security hardening: device secrets sealed at rest, one-time console tickets, no hand-off text on timelines

Revision ID: 0007
Revises: 0008
Create Date: 2027-01-10
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

import dispatch.db.base
from dispatch.ingest.secrets import box_for
from dispatch.settings import Settings, get_settings

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_device = sa.table("device", sa.column("id", sa.Integer()), sa.column("secret", sa.String()))


def _settings() -> Settings:
    config = op.get_context().config
    settings = config.attributes.get("settings") if config is not None else None
    return settings if isinstance(settings, Settings) else get_settings()


def _rewrite_secrets(change: Callable[[str], str]) -> None:
    """Apply `change` (sealed <-> plain) to every device secret."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(_device.c.id, _device.c.secret)).all()
    if rows:
        connection.execute(
            _device.update()
            .where(_device.c.id == sa.bindparam("b_id"))
            .values(secret=sa.bindparam("b_secret")),
            [{"b_id": row.id, "b_secret": change(row.secret)} for row in rows],
        )


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=128), type_=sa.String(length=512))
    _rewrite_secrets(box_for(_settings()).seal)

    op.create_table(
        "console_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", dispatch.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["operator_session.id"],
            name=op.f("fk_console_ticket_session_id_operator_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_ticket")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_console_ticket_ticket_hash")),
    )
    with op.batch_alter_table("console_ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_ticket_session_id"), ["session_id"], unique=False)

    # The 120 hand-off summary (health data, a relative's phone) was written on the timeline; it goes for good.
    op.execute(sa.text("UPDATE call_entry SET text = '' WHERE kind = 'handoff_120'"))


def downgrade() -> None:
    with op.batch_alter_table("console_ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_ticket_session_id"))
    op.drop_table("console_ticket")

    _rewrite_secrets(box_for(_settings()).open)
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=512), type_=sa.String(length=128))
