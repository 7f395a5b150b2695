"""Providers (加盟商) and their service staff (seed system 3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db.base import Base, JSONType, enum_type


class ProviderStatus(StrEnum):
    pending = "pending"
    active = "active"
    suspended = "suspended"
    exited = "exited"


class Provider(Base):
    """A franchised service company."""

    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    registration_number: Mapped[str] = mapped_column(String(32), unique=True)
    contact_person: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str] = mapped_column(String(32), index=True, default="")
    service_types: Mapped[list[str]] = mapped_column(JSONType)
    qualifications: Mapped[list[str]] = mapped_column(JSONType, default=list)  # the organisation's licences
    base_lon: Mapped[float] = mapped_column(Float)
    base_lat: Mapped[float] = mapped_column(Float)
    service_area: Mapped[dict[str, Any]] = mapped_column(JSONType)
    price_list: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    service_frequency: Mapped[str] = mapped_column(Text, default="")
    commitments: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(default=1)
    working_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[ProviderStatus] = mapped_column(
        enum_type(ProviderStatus), default=ProviderStatus.pending, index=True
    )
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # The admission review: criterion -> {met, evidence, checked_by, checked_at}.
    admission: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Set when the quality figures fall below the thresholds: why it should be reviewed.
    review_flag: Mapped[str] = mapped_column(Text, default="")
    flagged_at: Mapped[datetime | None]
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    rating_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    staff: Mapped[list[ProviderStaff]] = relationship(
        back_populates="provider", lazy="raise", order_by="ProviderStaff.id", cascade="all, delete-orphan"
    )


class ProviderStaff(Base):
    """A person who delivers a provider's services."""

    __tablename__ = "provider_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    qualifications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    service_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    provider: Mapped[Provider] = relationship(back_populates="staff", lazy="raise")
