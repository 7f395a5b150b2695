"""Calls and their timelines."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.calls.rules import CallCategory
from dispatch.calls.states import CallState
from dispatch.db.base import Base, JSONType, enum_type


class CallSource(StrEnum):
    device_alarm = "device_alarm"
    inbound_phone = "inbound_phone"
    agent = "agent"


class Call(Base):
    """An incident an agent handles."""

    __tablename__ = "call"
    __table_args__ = (Index("ix_call_state_priority", "state", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    elder_name: Mapped[str] = mapped_column(String(64))  # shown in the queue without a join
    # Equals elder_id while the call is open, else NULL: the unique index allows one open call per elder,
    # even when two server processes raise alarms for the same elder at the same moment.
    open_elder_id: Mapped[int | None] = mapped_column(unique=True)
    source: Mapped[CallSource] = mapped_column(enum_type(CallSource))
    priority: Mapped[int]
    category: Mapped[CallCategory] = mapped_column(enum_type(CallCategory))
    state: Mapped[CallState] = mapped_column(enum_type(CallState))
    reason: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    fixed: Mapped[bool | None]
    opened_at: Mapped[datetime]
    state_since: Mapped[datetime]
    sla_deadline_at: Mapped[datetime | None]
    ack_deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    escalation_level: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    claimed_by_name: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class CallEntry(Base):
    """One line of a call's timeline: who did what, when."""

    __tablename__ = "call_entry"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    operator_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # A device event is applied to a call once, even if it is processed twice.
    device_event_id: Mapped[int | None] = mapped_column(BigInteger(), unique=True)


class AlarmCondition(Base):
    """Where one elder's alarm condition (a vital sign, the safe area) stands between readings: it raises
    after holding, clears past a margin (dispatch.calls.conditions)."""

    __tablename__ = "alarm_condition"

    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), primary_key=True)
    condition: Mapped[str] = mapped_column(String(16), primary_key=True)
    breaching_since: Mapped[datetime | None]
    breaches: Mapped[int] = mapped_column(default=0)
    clears: Mapped[int] = mapped_column(default=0)
    raised: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class DeferredAlarm(Base):
    """A P3/P4 alarm (device silent, battery low, watch off) that arrived in the quiet hours: it becomes a
    call when they end, unless one like it is already waiting."""

    __tablename__ = "deferred_alarm"
    __table_args__ = (Index("ix_deferred_alarm_due", "opened_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), index=True)
    device_event_id: Mapped[int] = mapped_column(BigInteger(), unique=True)
    priority: Mapped[int]
    category: Mapped[CallCategory] = mapped_column(enum_type(CallCategory))
    reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]  # claimed: the call was opened (or joined)
