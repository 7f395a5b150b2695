"""The hotline's phone calls (来电 / 外呼), their recordings (录音), agents' presence and call-back tasks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class PhoneCallState(StrEnum):
    menu = "menu"  # inbound: greeting and menu, not yet queued
    queued = "queued"  # inbound: waiting for a ready agent
    ringing = "ringing"  # an agent's phone (inbound) or the agent / the target (outbound) is ringing
    talking = "talking"
    ended = "ended"


class PhoneOutcome(StrEnum):
    answered = "answered"
    abandoned = "abandoned"  # inbound: the caller hung up before an agent answered
    no_answer = "no_answer"
    busy = "busy"
    failed = "failed"


class PhoneCategory(StrEnum):
    """The menu's choices (1-4; no key = emergency), or what the agent chose when logging by hand."""

    emergency = "emergency"
    home_service = "home_service"
    enquiry = "enquiry"
    complaint = "complaint"
    follow_up = "follow_up"
    care_call = "care_call"
    emotional_support = "emotional_support"  # 精神慰藉: someone to talk to
    other = "other"


class CallerKind(StrEnum):
    elder = "elder"  # the elder's own phone
    device = "device"  # a watch's or locator's SIM
    contact = "contact"  # a relative or neighbour (-> their elder)
    provider = "provider"
    staff = "staff"  # a provider's worker or one of our operators
    unknown = "unknown"


class PhoneCall(Base):
    """One voice call through the hotline, inbound or outbound, or one logged by hand (no telephony)."""

    __tablename__ = "phone_call"
    __table_args__ = (
        Index("ix_phone_call_state_queued", "state", "queued_at"),
        Index("ix_phone_call_offer_deadline", "offer_deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[Direction] = mapped_column(enum_type(Direction))
    state: Mapped[PhoneCallState] = mapped_column(enum_type(PhoneCallState))
    outcome: Mapped[PhoneOutcome | None] = mapped_column(enum_type(PhoneOutcome))
    category: Mapped[PhoneCategory | None] = mapped_column(enum_type(PhoneCategory))
    from_number: Mapped[str] = mapped_column(String(40))
    to_number: Mapped[str] = mapped_column(String(40))
    # The caller's (inbound) or the target's (outbound) leg at Twilio; unique, so a repeated webhook is seen.
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    agent_leg_sid: Mapped[str | None] = mapped_column(String(64), index=True)  # the agent's phone's leg
    conference_name: Mapped[str | None] = mapped_column(String(64))
    caller_kind: Mapped[CallerKind] = mapped_column(enum_type(CallerKind), default=CallerKind.unknown)
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elder.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"), index=True)  # who took / made it
    agent_name: Mapped[str | None] = mapped_column(String(64))
    # Links: where the call belongs (an alarm's call, an order, a follow-up, a care call, a complaint).
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"))
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    care_call_id: Mapped[int | None] = mapped_column(ForeignKey("care_call.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    # Routing: emergency first (0), then by age in the queue; the agent rung now and until when.
    queue_rank: Mapped[int] = mapped_column(default=1)
    offered_agent_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    offer_deadline_at: Mapped[datetime | None]
    tried_agent_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    waiting_alerted_at: Mapped[datetime | None]  # supervisors were alerted that this caller waits
    queued_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    talk_seconds: Mapped[int | None]
    by_hand: Mapped[bool] = mapped_column(default=False)  # logged on the console, no telephony
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RecordingState(StrEnum):
    pending = "pending"  # Twilio said it is ready; not fetched yet (or retrying)
    stored = "stored"
    failed = "failed"  # could not be fetched after every attempt: flagged for supervisors
    deleted = "deleted"  # past the retention period; the row stays as the record that it existed


class Recording(Base):
    """The audio of a phone call, fetched from Twilio and kept under the data directory with its checksum."""

    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_call_id: Mapped[int] = mapped_column(ForeignKey("phone_call.id", ondelete="CASCADE"), index=True)
    twilio_sid: Mapped[str] = mapped_column(String(64), unique=True)
    source_url: Mapped[str] = mapped_column(String(512))
    duration_s: Mapped[int | None]
    state: Mapped[RecordingState] = mapped_column(enum_type(RecordingState))
    storage_key: Mapped[str | None] = mapped_column(String(255))  # relative to the recordings store
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(String(255))
    recorded_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AgentState(StrEnum):
    offline = "offline"
    ready = "ready"
    ringing = "ringing"  # offered a call, not answered yet
    on_call = "on_call"
    wrap_up = "wrap_up"  # after-call work; ready again at wrap_up_until
    away = "away"


class AgentPresence(Base):
    """One operator's seat state; only ready agents are offered calls, the longest idle first."""

    __tablename__ = "agent_presence"

    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[AgentState] = mapped_column(enum_type(AgentState))
    since: Mapped[datetime]
    ready_since: Mapped[datetime | None]  # longest idle first: the oldest ready_since is offered first
    wrap_up_until: Mapped[datetime | None]
    # Where the agent goes after wrap-up when not ready: offline if they logged out during the call.
    after_wrap_up: Mapped[AgentState | None] = mapped_column(enum_type(AgentState))
    phone_call_id: Mapped[int | None] = mapped_column(ForeignKey("phone_call.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]


class CallbackState(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class CallbackTask(Base):
    """Ring this caller back: they hung up while waiting (abandoned), at the top of the agents' worklist."""

    __tablename__ = "callback_task"
    __table_args__ = (Index("ix_callback_task_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_call_id: Mapped[int] = mapped_column(ForeignKey("phone_call.id", ondelete="CASCADE"), unique=True)
    number: Mapped[str] = mapped_column(String(40))
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elder.id"))
    category: Mapped[PhoneCategory | None] = mapped_column(enum_type(PhoneCategory))
    state: Mapped[CallbackState] = mapped_column(enum_type(CallbackState))
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None]
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
