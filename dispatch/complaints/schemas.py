"""API bodies for complaints and suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dispatch.complaints.models import ComplaintKind, ComplaintSource, ComplaintState, ComplaintTarget
from dispatch.schemas import PhoneNumber, RowId

Text = Annotated[str, Field(min_length=1, max_length=4000)]


class ComplaintCreate(BaseModel):
    """A complaint or suggestion as taken on the phone, on a call or during a follow-up."""

    kind: ComplaintKind = ComplaintKind.complaint
    source: ComplaintSource
    target: ComplaintTarget
    text: Text
    elder_id: RowId | None = None
    provider_id: RowId | None = Field(default=None, description="the provider complained about")
    operator_id: RowId | None = Field(default=None, description="the agent complained about")
    order_id: RowId | None = None
    call_id: RowId | None = None
    follow_up_id: RowId | None = None
    complainant_name: Annotated[str, Field(max_length=64)] = ""
    complainant_phone: PhoneNumber | None = Field(default=None, description="told the outcome by SMS")

    @model_validator(mode="after")
    def _names_whom_it_is_about(self) -> ComplaintCreate:
        provider_known = any(v is not None for v in (self.provider_id, self.order_id, self.follow_up_id))
        if self.target == ComplaintTarget.provider and not provider_known:
            raise ValueError("a complaint against a provider needs provider_id (or an order or follow-up)")
        if self.target == ComplaintTarget.agent and self.operator_id is None:
            raise ValueError("a complaint against an agent needs operator_id")
        return self


class ComplaintNote(BaseModel):
    """One line of the investigation."""

    at: datetime
    by: str
    text: str


class ComplaintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: ComplaintKind
    source: ComplaintSource
    target: ComplaintTarget
    elder_id: int | None
    provider_id: int | None
    operator_id: int | None
    order_id: int | None
    call_id: int | None
    follow_up_id: int | None
    complainant_name: str
    complainant_phone: str
    text: str
    state: ComplaintState
    assigned_to: int | None
    assigned_name: str | None
    due_at: datetime
    overdue: bool = Field(description="unresolved past its due date")
    notes: list[ComplaintNote]
    resolution: str
    upheld: bool | None
    informed_at: datetime | None
    informed_how: str
    escalation_level: int
    escalated_at: datetime | None
    resolved_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class ComplaintAssign(BaseModel):
    """Hand the complaint to a supervisor (or admin), optionally with a new due date."""

    operator_id: RowId
    due_at: AwareDatetime | None = None


class ComplaintNoteIn(BaseModel):
    text: Text


class ComplaintResolve(BaseModel):
    """The outcome, whether the complaint was upheld, and how the complainant was told."""

    resolution: Text
    upheld: bool
    informed_how: str = Field(
        min_length=1,
        max_length=64,
        description='"sms" texts the complainant the outcome; anything else records how they were told',
        examples=["sms", "phone", "visit"],
    )
