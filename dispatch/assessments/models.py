"""An assessment (评估): one run of the procedure for an elder, from the application to the final result."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.assessments.workflow import OPEN_PREDICATE, Procedure, Step
from dispatch.db.base import Base, JSONType, enum_type


class Applicant(StrEnum):
    elder = "elder"  # the elder themself (申请人)
    family = "family"  # a family member living with them
    community = "community"  # the village or residents' committee on their behalf (委托代为申请)


class Assessment(Base):
    """The application, the step it is at and that step's deadline, the two assessors' answers and
    signatures, the scores and level, the needs, and the review's decision."""

    __tablename__ = "assessment"
    __table_args__ = (
        Index("ix_assessment_step_due", "step", "due_on"),
        # One open assessment per elder: whoever applies second, even at the same instant, fails here.
        Index(
            "uq_assessment_one_open",
            "elder_id",
            unique=True,
            postgresql_where=text(OPEN_PREDICATE),
            sqlite_where=text(OPEN_PREDICATE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    elder_name: Mapped[str] = mapped_column(String(64))  # shown on the boards without a join
    procedure: Mapped[Procedure] = mapped_column(enum_type(Procedure))
    step: Mapped[Step] = mapped_column(enum_type(Step))
    instrument: Mapped[str] = mapped_column(String(32))  # the instrument file's name
    applicant: Mapped[Applicant] = mapped_column(enum_type(Applicant))
    applicant_name: Mapped[str] = mapped_column(String(64), default="")
    applicant_phone: Mapped[str] = mapped_column(String(20), default="")
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"))
    materials: Mapped[list[str]] = mapped_column(JSONType, default=list)  # what was handed in
    missing: Mapped[list[str]] = mapped_column(JSONType, default=list)  # what the applicant was told to bring
    step_entered_at: Mapped[datetime]
    due_on: Mapped[date | None] = mapped_column(Date)  # the step's last (Shanghai) day
    due_provisional: Mapped[bool] = mapped_column(default=False)  # counted without the year's holidays
    overdue_alerted_at: Mapped[datetime | None]
    reassessment_of_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"), unique=True)
    answers: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)  # item code -> option code
    findings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # {flags: [...], counts: {...}}
    needs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    assessor1_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    assessor2_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    signed1_at: Mapped[datetime | None]
    signed2_at: Mapped[datetime | None]
    total: Mapped[int | None]
    initial_level: Mapped[int | None]
    level: Mapped[int | None]
    indicator_scores: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    applied_rules: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subsidy_proposed: Mapped[bool | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    plans_made_at: Mapped[datetime | None]  # its service plan became recurring plans (once)
    reassessment_proposed_at: Mapped[datetime | None]  # a final result's re-assessment was proposed (once)
    created_by: Mapped[int] = mapped_column(ForeignKey("operator.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)  # drafts from a tablet: a stale save is refused
