"""API bodies for care calls."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from dispatch.carecalls.models import CareAssignee, CareCadence, CareCallState, CareChannel
from dispatch.schemas import RowId

Text = Annotated[str, Field(max_length=2000)]


class AttemptIn(BaseModel):
    """One try at reaching the elder; a service order or call opened from it may be linked."""

    reached: bool
    channel: CareChannel = CareChannel.phone
    notes: Text = ""
    order_id: RowId | None = Field(default=None, description="a service order opened during this call")
    call_id: RowId | None = Field(default=None, description="a call opened during this call")
    elder_notes: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="appended to the elder's record"
    )
    declining: bool = Field(
        default=False,
        description="the elder reached is clearly worse than before: a re-assessment is proposed",
    )


class CareCallRead(BaseModel):
    id: int
    elder_id: int
    elder_name: str
    cadence: CareCadence
    period: str
    due_on: date
    channel: CareChannel
    assignee: CareAssignee
    operator_id: int | None
    operator_name: str | None
    contact_id: int | None
    contact_name: str | None
    state: CareCallState
    attempts: int
    attempt_log: list[dict[str, Any]]
    notes: str
    escalated_from_id: int | None
    escalation_reason: str
    order_id: int | None
    call_id: int | None
    completed_at: datetime | None
    completed_by: str | None
    created_at: datetime
    updated_at: datetime
    overdue: bool = Field(description="still scheduled and its day has passed")


class ScheduleResult(BaseModel):
    created: int = Field(description="care calls created by this run")
