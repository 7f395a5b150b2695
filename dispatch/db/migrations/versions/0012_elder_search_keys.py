"""elder search keys: pinyin initials, whole pinyin, name, phone and ID-number suffixes, one index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dispatch.elders.search_keys import keys_for

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    table = op.create_table(
        "elder_search_key",
        sa.Column("key", KEY, nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["elder.id"], name=op.f("fk_elder_search_key_elder_id_elder"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "elder_id", name=op.f("pk_elder_search_key")),
    )
    op.create_index(op.f("ix_elder_search_key_elder_id"), "elder_search_key", ["elder_id"], unique=False)
    _backfill(table)


def _backfill(table: sa.Table) -> None:
    connection = op.get_bind()
    phones: dict[int, list[str | None]] = {}
    for elder_id, phone in connection.execute(
        sa.text("SELECT elder_id, phone FROM device WHERE phone IS NOT NULL")
    ):
        phones.setdefault(elder_id, []).append(phone)
    rows = [
        {"elder_id": elder_id, "key": key}
        for elder_id, name, phone, id_number in connection.execute(
            sa.text("SELECT id, name, phone, id_number FROM elder")
        )
        for key in keys_for(name, [phone, *phones.get(elder_id, [])], id_number)
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_elder_search_key_elder_id"), table_name="elder_search_key")
    op.drop_table("elder_search_key")
