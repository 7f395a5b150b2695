"""API bodies of calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch.calls.models import CallSource
from dispatch.calls.rules import CallCategory
from dispatch.calls.states import CallState
from dispatch.schemas import RowId

Priority = Annotated[str, Field(pattern=r"^P[1-4]$", examples=["P1"])]


class CallCreate(BaseModel):
    """A call an agent opens: an inbound phone call, a service request, an enquiry, a complaint."""

    elder_id: RowId
    priority: Priority = "P3"
    category: CallCategory
    source: CallSource = CallSource.inbound_phone
    reason: Annotated[str, Field(max_length=1000)] = ""


class TransitionIn(BaseModel):
    state: CallState
    outcome: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_]+$")] | None = None
    note: Annotated[str, Field(max_length=2000)] = ""


class CloseIn(BaseModel):
    outcome: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
    note: Annotated[str, Field(max_length=2000)] = ""


class NoteIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class NotifyIn(BaseModel):
    contact_id: RowId


class ClaimIn(BaseModel):
    take_over: bool = False


class CallEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    username: str
    text: str
    detail: dict[str, Any]


class ContactMessage(BaseModel):
    """One text to a contact about a call, and what became of it."""

    contact_id: int
    sms_id: int
    purpose: str  # contact_alert (the automatic chain) or contact_notice (an agent's notify)
    state: Literal["queued", "sent", "delivered", "failed", "replied"]
    status: str  # the message's own status (outbox, pending, ..., delivered, undelivered, failed)
    error_code: str | None
    sent_at: datetime
    updated_at: datetime


class CallDetail(BaseModel):
    call: dict[str, Any]
    timeline: list[CallEntryRead]
    contact_messages: list[ContactMessage] = []
