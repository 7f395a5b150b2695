"""API bodies for the follow-up worklist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch.followups.models import FollowUpKind, FollowUpState


class ComplaintNote(BaseModel):
    """A complaint the elder raised during the follow-up (against the provider when there is one)."""

    text: Annotated[str, Field(min_length=1, max_length=4000)]


class FollowUpRecord(BaseModel):
    reached: bool
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    comment: Annotated[str, Field(max_length=2000)] = ""
    complaint: ComplaintNote | None = None

    @model_validator(mode="after")
    def _scored_when_reached(self) -> FollowUpRecord:
        if self.reached and self.satisfaction is None:
            raise ValueError("a reached follow-up needs a satisfaction score (1-5)")
        if not self.reached and self.satisfaction is not None:
            raise ValueError("no satisfaction score without reaching anyone")
        return self


class FollowUpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: FollowUpKind
    order_id: int | None
    call_id: int | None
    elder_id: int
    elder_name: str
    elder_phone: str | None = None  # masked in lists, in full on the audited detail
    provider_id: int | None
    provider_name: str | None
    subject: str
    subject_params: dict[str, Any]
    state: FollowUpState
    due_at: datetime
    next_attempt_at: datetime
    attempts: int
    attempt_log: list[dict[str, Any]]
    reached: bool | None
    satisfaction: int | None
    comment: str
    completed_by: str | None
    completed_at: datetime | None
    created_at: datetime
    overdue: bool = False
    complaint_id: int | None = None
