"""A payment (for one order's self-pay, or a prepaid top-up), its refunds, and the platform notifications
already acted on (so a replay changes nothing)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, enum_type


class Channel(StrEnum):
    wechat = "wechat"  # WeChat Pay Native: a QR code shown to the family or a link texted to them
    cash = "cash"  # taken by an agent or a community worker
    bank_transfer = "bank_transfer"


class PaymentState(StrEnum):
    pending = "pending"  # waiting for the family to pay on the platform
    paid = "paid"
    closed = "closed"  # never paid; closed at the platform after its deadline


class RefundState(StrEnum):
    pending = "pending"  # asked of the platform, waiting for its notification
    succeeded = "succeeded"
    failed = "failed"


class Payment(Base):
    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"), index=True)  # None: top-up
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    state: Mapped[PaymentState] = mapped_column(enum_type(PaymentState), index=True)
    amount_fen: Mapped[int]
    refunded_fen: Mapped[int] = mapped_column(default=0)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    code_url: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Refund(Base):
    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[RefundState] = mapped_column(enum_type(RefundState))
    from_provider: Mapped[bool] = mapped_column(
        default=False
    )  # the service was charged: the provider bears it
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    succeeded_at: Mapped[datetime | None]


class PlatformNotification(Base):
    """A payment platform's notification, by its own id: stored in the transaction that acts on it."""

    __tablename__ = "platform_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
