"""The evidence that a service order was done: the provider's check-in near the home and check-out, the items
done, a photo, and the elder's confirmation (a code read out to the provider, or the agent's follow-up)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, JSONType, enum_type


class CheckinFlag(StrEnum):
    far = "far"  # further from the home than DISPATCH_CHECKIN_FAR_METERS
    no_position = "no_position"  # the phone gave no position


class ConfirmedBy(StrEnum):
    code = "code"  # the elder (or a relative) read the texted code out to the provider
    follow_up = "follow_up"  # the agent's follow-up call reached the elder and recorded satisfaction


class ServiceEvidence(Base):
    """One per order: what proves it was done. Evidenced once check-in, check-out and a confirmation are all
    there (`evidenced_at`, set once by a conditional UPDATE)."""

    __tablename__ = "service_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("service_order.id"), unique=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"), index=True)
    checkin_at: Mapped[datetime | None]
    checkin_lon: Mapped[float | None] = mapped_column(Float)
    checkin_lat: Mapped[float | None] = mapped_column(Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(Float)
    checkin_distance_m: Mapped[int | None]  # to the elder's home; None without a position
    checkin_flag: Mapped[CheckinFlag | None] = mapped_column(enum_type(CheckinFlag))
    checkout_at: Mapped[datetime | None]
    # Each: {"item", "unit", "unit_price_fen", "quantity"}, from the provider's price list.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    photo_path: Mapped[str | None] = mapped_column(String(200))  # under DISPATCH_DATA_DIR/evidence
    photo_type: Mapped[str | None] = mapped_column(String(20))
    code_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the elder's one-time code
    code_sent_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(default=0)
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[ConfirmedBy | None] = mapped_column(enum_type(ConfirmedBy))
    evidenced_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
