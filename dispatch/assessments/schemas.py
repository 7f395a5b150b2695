"""What the assessment endpoints take and give. A list row carries the step, its deadline and the level
(what agents may see); the whole assessment, answers included, is for assessors and supervisors."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from dispatch.assessments.models import Applicant, Assessment
from dispatch.assessments.needs import Needs
from dispatch.assessments.service import is_overdue
from dispatch.assessments.subsidy import allowance
from dispatch.assessments.workflow import Procedure, Step
from dispatch.catalog import ServiceType
from dispatch.localtime import at_local
from dispatch.schemas import Page, RowId

Code = str  # an item or option code of the instrument (checked by the service)


class AssessmentCreate(BaseModel):
    elder_id: RowId
    procedure: Procedure = Procedure.standard
    applicant: Applicant = Applicant.elder
    applicant_name: str = Field(default="", max_length=64)
    applicant_phone: str = Field(default="", max_length=20)
    materials: list[str] = Field(default_factory=list, max_length=20)
    call_id: RowId | None = None
    reassessment_of: RowId | None = None  # a re-assessment after an objection


class AnswersUpdate(BaseModel):
    version: int = Field(ge=1)  # the version the form was loaded at
    answers: dict[Code, Code] = Field(max_length=200)
    findings: dict[str, Any] | None = None  # {flags: [coma, dementia, ...], counts: {risk_events_30d: N}}
    needs: Needs | None = None


class TransitionRequest(BaseModel):
    to: Step
    note: str = Field(default="", max_length=2000)
    materials: list[str] | None = Field(default=None, max_length=20)


class AssessmentRow(BaseModel):
    id: int
    elder_id: int
    elder_name: str
    procedure: Procedure
    state: Step
    due_on: date | None  # the step's last day (Shanghai)
    due_at: datetime | None  # when that day ends
    due_provisional: bool
    overdue: bool
    missing: list[str]
    level: int | None
    allowance_fen: int  # the monthly allowance a final result with a subsidy grants (else 0)
    reassessment_of: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, assessment: Assessment, today: date) -> AssessmentRow:
        return cls(**_row(assessment, today))


class AssessmentRead(AssessmentRow):
    instrument: str
    applicant: Applicant
    applicant_name: str
    applicant_phone: str
    call_id: int | None
    materials: list[str]
    answers: dict[str, str]
    findings: dict[str, Any]
    needs: dict[str, Any]
    total: int | None
    initial_level: int | None
    indicator_scores: dict[str, int]
    applied_rules: list[str]
    assessor1_id: int | None
    assessor2_id: int | None
    signed1_at: datetime | None
    signed2_at: datetime | None
    subsidy_proposed: bool | None
    subsidy_suggested: bool  # what the rules support, for the review
    suggested_fen: int
    decision_note: str
    version: int

    @classmethod
    def whole(cls, assessment: Assessment, today: date) -> AssessmentRead:
        suggested = allowance(assessment.level, Needs.model_validate(assessment.needs or {}).economic)
        computed = {"subsidy_suggested": suggested.suggested, "suggested_fen": suggested.monthly_fen}
        stored = {
            name: getattr(assessment, name)
            for name in cls.model_fields
            if name not in AssessmentRow.model_fields and name not in computed
        }
        fields = stored | computed
        return cls(**_row(assessment, today), **fields)


def _granted_fen(assessment: Assessment) -> int:
    if assessment.step != Step.final or not assessment.subsidy_proposed:
        return 0
    return allowance(assessment.level, Needs.model_validate(assessment.needs or {}).economic).monthly_fen


def _row(assessment: Assessment, today: date) -> dict[str, Any]:
    due = assessment.due_on
    return {
        "id": assessment.id,
        "elder_id": assessment.elder_id,
        "elder_name": assessment.elder_name,
        "procedure": assessment.procedure,
        "state": assessment.step,
        "due_on": due,
        "due_at": at_local(due + timedelta(days=1), time(0, 0)) if due else None,
        "due_provisional": assessment.due_provisional,
        "overdue": is_overdue(assessment, today),
        "missing": assessment.missing,
        "level": assessment.level if assessment.step == Step.final else None,
        "allowance_fen": _granted_fen(assessment),
        "reassessment_of": assessment.reassessment_of_id,
        "created_at": assessment.created_at,
        "updated_at": assessment.updated_at,
    }


AssessmentPage = Page[AssessmentRow]


class PlanLineIn(BaseModel):
    """One line of the service plan as the agent edited it: a weekly recurring plan."""

    service_type: ServiceType
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)
    start_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end_time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> PlanLineIn:
        if self.start_time >= self.end_time:
            raise ValueError("start_time must be before end_time")
        return self


class PlanRequest(BaseModel):
    lines: list[PlanLineIn] = Field(min_length=1, max_length=len(ServiceType))


class PlanLineRead(BaseModel):
    service_type: ServiceType
    per_week: int
    weekdays: list[int]
    start_time: str
    end_time: str
    recommended: bool


class PlanProposal(BaseModel):
    level: int
    lines: list[PlanLineRead]
