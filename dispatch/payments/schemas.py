"""Payments, refunds and an elder's money as the API shows them (all amounts integer fen)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch.payments.models import Channel, PaymentState, RefundState

Fen = Annotated[int, Field(ge=1, le=100_000_000)]


class PaymentCreate(BaseModel):
    method: Channel


class TopUpCreate(BaseModel):
    method: Channel
    amount_fen: Fen


class RefundCreate(BaseModel):
    amount_fen: Fen
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    elder_id: int
    order_id: int | None
    method: Channel = Field(validation_alias="channel")
    state: PaymentState
    amount_fen: int
    refunded_fen: int
    out_trade_no: str
    code_url: str | None  # the QR code's content for an online payment
    expires_at: datetime | None
    paid_at: datetime | None
    created_by: str
    created_at: datetime


class RefundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payment_id: int
    amount_fen: int
    reason: str
    state: RefundState
    from_provider: bool
    created_by: str
    created_at: datetime
    succeeded_at: datetime | None


class LinkSent(BaseModel):
    sms_id: int
    to: str  # masked


class ReconciliationMismatch(BaseModel):
    """A trade or refund on one side only, or with another amount: both sides (None: absent there)."""

    kind: Literal["payment", "refund"]
    number: str
    platform_fen: int | None
    ledger_fen: int | None


class ReconciliationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    platform: str
    checked_at: datetime
    lines: int
    mismatches: list[ReconciliationMismatch]
