"""Stored device events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type
from dispatch.ingest.events import EventType


class DeviceEvent(Base):
    """One normalised message from a device, stored before the device is acknowledged."""

    __tablename__ = "device_event"
    __table_args__ = (
        Index("ix_device_event_device_received", "device_id", "received_at"),
        # The rules' work left to do, found without scanning every heartbeat ever stored.
        Index(
            "ix_device_event_unprocessed",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    # BIGINT on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    elder_id: Mapped[int] = mapped_column(index=True)
    type: Mapped[EventType] = mapped_column(enum_type(EventType))
    device_time: Mapped[datetime | None]
    received_at: Mapped[datetime]
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    fixed: Mapped[bool | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Same device, same message, same device time (or the same minute without one) = the same event.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Set when the alarm rules have looked at the event (at once for events they do not look at); the
    # sweeper hands the rest to the rules, whatever happened to their hand-off on the bus.
    processed_at: Mapped[datetime | None]
    rule_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # An event the rules failed on too often: kept aside for a supervisor instead of blocking the others.
    parked_at: Mapped[datetime | None]
    park_reason: Mapped[str | None] = mapped_column(Text)
