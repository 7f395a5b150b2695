"""Alerts for agents and supervisors: something needs a person (coverage broken, an order nobody took,
an elder nobody could reach, a complaint overdue, a provider below the quality thresholds)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type


class AlertAudience(StrEnum):
    agents = "agents"
    supervisors = "supervisors"


class Alert(Base):
    """One alert; at most one unacknowledged alert per key, so a timer repeating itself does not flood."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_key_open", "key", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(128))
    audience: Mapped[AlertAudience] = mapped_column(enum_type(AlertAudience))
    text: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
