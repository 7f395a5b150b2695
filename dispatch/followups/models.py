"""Follow-up calls (回访) after a completed order or a closed emergency call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type


class FollowUpState(StrEnum):
    pending = "pending"  # to be called (again, after a failed attempt, from next_attempt_at)
    done = "done"  # the elder (or family) was reached and answered
    unreachable = "unreachable"  # every attempt failed
    cancelled = "cancelled"


class FollowUpKind(StrEnum):
    order = "order"
    call = "call"


class FollowUp(Base):
    """A call back to ask how it went; the satisfaction score feeds the provider's rating."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FollowUpKind] = mapped_column(enum_type(FollowUpKind))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"), unique=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), unique=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    elder_name: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"), index=True)
    provider_name: Mapped[str | None] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(200))  # what it is about, e.g. "保洁 11-24 09:00"
    # The subject as data, for the console to say: {"service_type", "at"} or {"priority", "category", "at"}
    subject_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[FollowUpState] = mapped_column(enum_type(FollowUpState))
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    # Each attempt: {at, by, reached, comment}.
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    reached: Mapped[bool | None]
    satisfaction: Mapped[int | None]  # 1..5
    comment: Mapped[str] = mapped_column(Text, default="")
    completed_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
