"""Complaints and suggestions (投诉建议)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type


class ComplaintKind(StrEnum):
    complaint = "complaint"
    suggestion = "suggestion"


class ComplaintSource(StrEnum):
    call = "call"  # raised on an emergency call
    follow_up = "follow_up"  # raised during a follow-up
    care_call = "care_call"
    phone = "phone"  # someone rang the hotline to complain
    other = "other"


class ComplaintTarget(StrEnum):
    provider = "provider"
    agent = "agent"
    service = "service"  # the platform / the service as a whole


class ComplaintState(StrEnum):
    open = "open"  # waiting for a supervisor
    assigned = "assigned"  # a supervisor investigates
    resolved = "resolved"  # resolution recorded and the complainant informed


class Complaint(Base):
    """A complaint or suggestion, handled by a supervisor by its due date."""

    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ComplaintKind] = mapped_column(enum_type(ComplaintKind))
    source: Mapped[ComplaintSource] = mapped_column(enum_type(ComplaintSource))
    target: Mapped[ComplaintTarget] = mapped_column(enum_type(ComplaintTarget))
    elder_id: Mapped[int | None] = mapped_column(ForeignKey("elder.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))  # the agent complained about
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"))
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up.id"))
    complainant_name: Mapped[str] = mapped_column(String(64), default="")
    complainant_phone: Mapped[str] = mapped_column(String(20), default="")
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[ComplaintState] = mapped_column(enum_type(ComplaintState))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("operator.id"))
    assigned_name: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime]
    # Investigation notes: {at, by, text}.
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    resolution: Mapped[str] = mapped_column(Text, default="")
    upheld: Mapped[bool | None]
    informed_at: Mapped[datetime | None]  # the complainant was told the outcome
    informed_how: Mapped[str] = mapped_column(String(64), default="")
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
