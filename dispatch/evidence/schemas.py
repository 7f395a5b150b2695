"""The supervisors' view of service evidence (masked: no position, no code, no phone)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from dispatch.catalog import ServiceType
from dispatch.evidence.models import CheckinFlag, ConfirmedBy
from dispatch.orders.models import OrderState

EvidenceState = Literal["unevidenced", "evidenced", "flagged"]


class EvidenceItem(BaseModel):
    item: str
    unit: str
    unit_price_fen: int
    quantity: int


class EvidenceRead(BaseModel):
    """One order and what proves it was done; `missing` names what is not there yet."""

    order_id: int
    order_state: OrderState
    service_type: ServiceType
    window_start: datetime
    window_end: datetime
    elder_name: str
    provider_id: int | None
    provider_name: str | None
    checkin_at: datetime | None
    checkin_distance_m: int | None
    checkin_flag: CheckinFlag | None
    checkout_at: datetime | None
    items: list[EvidenceItem]
    photo: bool
    code_sent_at: datetime | None
    code_attempts: int
    confirmed_at: datetime | None
    confirmed_by: ConfirmedBy | None
    evidenced_at: datetime | None
    missing: list[Literal["check_in", "check_out", "confirmation"]]
