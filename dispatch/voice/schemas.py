"""API bodies for phone-call records, the caller card, call-back tasks and the service-level figures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatch.schemas import PhoneNumber, RowId
from dispatch.voice.models import (
    CallbackState,
    CallerKind,
    Direction,
    PhoneCallState,
    PhoneCategory,
    PhoneOutcome,
    RecordingState,
)

MAX_TALK_SECONDS = 24 * 3600


class PhoneCallLog(BaseModel):
    """A call logged by hand on the console (no telephony): who, what about, and how it went."""

    direction: Direction
    number: PhoneNumber = Field(description="the caller's (inbound) or the called party's (outbound) number")
    category: PhoneCategory
    outcome: PhoneOutcome
    started_at: AwareDatetime | None = Field(default=None, description="default: now minus talk_seconds")
    talk_seconds: Annotated[int, Field(ge=0, le=MAX_TALK_SECONDS)] | None = None
    note: Annotated[str, Field(max_length=4000)] = ""
    elder_id: RowId | None = Field(default=None, description="absent: the caller is looked up by number")
    call_id: RowId | None = None
    order_id: RowId | None = None
    follow_up_id: RowId | None = None
    care_call_id: RowId | None = None
    complaint_id: RowId | None = None


class RecordingBrief(BaseModel):
    id: int
    duration_s: int | None
    state: RecordingState


class PhoneCallRead(BaseModel):
    """One phone call; `from` and `to` are masked in lists and whole in an (audited) single read."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    direction: Direction
    from_: str = Field(alias="from")
    to: str
    elder_id: int | None
    agent: str | None
    agent_id: int | None
    offered_agent_id: int | None = None
    state: PhoneCallState
    outcome: PhoneOutcome | None
    category: PhoneCategory | None
    caller_kind: CallerKind
    queued_at: datetime | None
    offered_at: datetime | None
    offer_deadline_at: datetime | None = None
    answered_at: datetime | None
    ended_at: datetime | None
    talk_seconds: int | None
    recording: RecordingBrief | None
    call_id: int | None
    order_id: int | None
    follow_up_id: int | None
    care_call_id: int | None
    complaint_id: int | None
    contact_id: int | None
    provider_id: int | None
    device_id: int | None
    by_hand: bool
    note: str
    created_at: datetime


class PhoneCallPage(BaseModel):
    """Newest first; pass `next_before` as `before` for the next page (null: this was the last)."""

    items: list[PhoneCallRead]
    total: int  # matching the filters, on every page
    next_before: int | None


class CallerCard(BaseModel):
    """The screen-pop: who is calling, their open matters and their last contacts with the centre."""

    caller_kind: CallerKind
    number: str
    elder: dict[str, Any] | None
    contact: dict[str, Any] | None
    provider: dict[str, Any] | None
    open_calls: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]
    recent: list[dict[str, Any]]


class CallbackRead(BaseModel):
    id: int
    phone_call_id: int
    number: str
    elder_id: int | None
    category: PhoneCategory | None
    state: CallbackState
    alarm_open: bool = Field(description="the elder has an open alarm call: ring back first")
    done_by: str | None
    done_at: datetime | None
    outcome_note: str
    created_at: datetime


class CallbackPage(BaseModel):
    items: list[CallbackRead]


class CallbackDone(BaseModel):
    note: Annotated[str, Field(max_length=4000)] = ""


class VoiceStats(BaseModel):
    """Service levels over [since, until): inbound calls that reached the queue in the window."""

    since: datetime
    until: datetime
    offered: int
    answered: int
    abandoned: int
    waiting_now: int
    longest_wait_s: int
    answered_within_20s: int
    answered_within_60s: int
    answered_within_180s: int
    answered_within_20s_pct: float | None
    answered_within_60s_pct: float | None
    answered_within_180s_pct: float | None
    average_handle_s: float | None
    wrap_up_s: int = Field(description="the after-call work counted in each handle time (setting)")
    agents_by_state: dict[str, int]
