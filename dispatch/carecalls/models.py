"""Care calls (探访关爱): scheduled well-being contacts, weekly for elders at risk, monthly for the rest."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type


class CareCadence(StrEnum):
    weekly = "weekly"  # living alone, empty nest, disabled, 80+ in hardship, family-planning special family
    monthly = "monthly"  # every other served elder: a greeting call


class CareChannel(StrEnum):
    phone = "phone"
    video = "video"
    visit = "visit"  # a home visit by the community worker


class CareAssignee(StrEnum):
    agent = "agent"
    community_worker = "community_worker"


class CareCallState(StrEnum):
    scheduled = "scheduled"
    done = "done"  # the elder was reached
    escalated = "escalated"  # unreached twice or overdue: handed to the community worker
    cancelled = "cancelled"


class CareCall(Base):
    """One well-being contact for one elder in one period (an ISO week or a month)."""

    __tablename__ = "care_call"
    __table_args__ = (
        UniqueConstraint("elder_id", "period", "assignee", name="uq_care_call_elder_period_assignee"),
        Index("ix_care_call_state_due", "state", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), index=True)
    elder_name: Mapped[str] = mapped_column(String(64))
    cadence: Mapped[CareCadence] = mapped_column(enum_type(CareCadence))
    period: Mapped[str] = mapped_column(String(10))  # "2026-W48" or "2026-11"
    due_on: Mapped[date]  # local (Shanghai) day it is planned for
    channel: Mapped[CareChannel] = mapped_column(enum_type(CareChannel))
    assignee: Mapped[CareAssignee] = mapped_column(enum_type(CareAssignee))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"), index=True)
    operator_name: Mapped[str | None] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[CareCallState] = mapped_column(enum_type(CareCallState))
    attempts: Mapped[int] = mapped_column(default=0)
    # Each attempt: {at, by, reached, channel, notes}.
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    escalated_from_id: Mapped[int | None] = mapped_column(ForeignKey("care_call.id"))
    escalation_reason: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    decline_reported_at: Mapped[datetime | None]  # an attempt that reached the elder found them worse
    completed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
