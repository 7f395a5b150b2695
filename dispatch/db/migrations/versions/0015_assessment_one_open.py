"""assessments: at most one open assessment per elder (a partial unique index)

An elder may have one assessment that is not final or withdrawn; two agents applying at the same instant
cannot both succeed. Elders who already have more than one open keep their first (the lowest id); the later
ones are withdrawn, with a note saying why, so the index can be built.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The closed steps when this migration was written (dispatch.assessments.workflow.CLOSED).
OPEN = "step NOT IN ('final', 'withdrawn')"
WITHDRAWN_NOTE = "迁移 0014：该老人已有更早的未办结评估，本申请撤回"


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE assessment SET step = 'withdrawn', decision_note = :note"
            " WHERE step NOT IN ('final', 'withdrawn') AND EXISTS (SELECT 1 FROM assessment AS earlier"
            " WHERE earlier.elder_id = assessment.elder_id AND earlier.id < assessment.id"
            " AND earlier.step NOT IN ('final', 'withdrawn'))"
        ).bindparams(note=WITHDRAWN_NOTE)
    )
    op.create_index(
        "uq_assessment_one_open",
        "assessment",
        ["elder_id"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_assessment_one_open", table_name="assessment")
