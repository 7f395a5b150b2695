"""An online payment platform as the payments domain sees it: the `PaymentPlatform` protocol, its plain
records (money always in integer fen, instants aware UTC) and its two errors.

Exceptions:

    PaymentPlatformError      the platform refused or could not be reached (its own `code`, `retryable`)
    NotificationRejected      a notification that must change nothing (bad signature, stale, undecryptable,
                              malformed); `reason` says which
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

__all__ = [
    "BillRow",
    "Notification",
    "NotificationKind",
    "NotificationRejected",
    "PaymentPlatform",
    "PaymentPlatformError",
    "RefundState",
    "RefundStatus",
    "RejectReason",
    "TradeState",
    "TradeStatus",
]


class TradeStatus(StrEnum):
    """Where a trade stands at the platform (WeChat Pay's `trade_state` names)."""

    NOTPAY = "NOTPAY"
    USERPAYING = "USERPAYING"
    SUCCESS = "SUCCESS"
    REFUND = "REFUND"  # paid, and a refund has been asked for
    CLOSED = "CLOSED"
    REVOKED = "REVOKED"
    PAYERROR = "PAYERROR"


class RefundStatus(StrEnum):
    """Where a refund stands at the platform."""

    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    ABNORMAL = "ABNORMAL"


class NotificationKind(StrEnum):
    payment = "payment"
    refund = "refund"


class RejectReason(StrEnum):
    """Why a notification was refused."""

    bad_signature = "bad_signature"
    stale_timestamp = "stale_timestamp"
    decryption_failed = "decryption_failed"
    malformed = "malformed"


@dataclass(frozen=True, slots=True)
class TradeState:
    """A trade as the platform answers a query."""

    out_trade_no: str
    state: TradeStatus
    amount_fen: int
    transaction_id: str | None = None
    success_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundState:
    """A refund as the platform answers its request or a query."""

    out_refund_no: str
    out_trade_no: str
    state: RefundStatus
    refund_fen: int
    total_fen: int
    refund_id: str | None = None
    transaction_id: str | None = None
    success_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """A verified, decrypted notification; `notification_id` is the same on every redelivery of it."""

    kind: NotificationKind
    notification_id: str
    out_trade_no: str
    state: str  # TradeStatus for a payment, RefundStatus for a refund
    amount_fen: int  # the trade's total for a payment, the refunded amount for a refund
    transaction_id: str | None = None
    out_refund_no: str | None = None
    success_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class BillRow:
    """One line of the platform's daily trade bill: a payment (state SUCCESS) or a refund (REFUND)."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int  # the trade's total
    state: str
    refund_fen: int
    time: datetime
    out_refund_no: str | None = None


class PaymentPlatformError(Exception):
    """The platform answered with an error (`code` is its own, e.g. ORDER_NOT_EXIST) or could not be reached
    (`code` NETWORK_ERROR, `status` None); `retryable` when asking again later may succeed."""

    def __init__(self, message: str, *, code: str, status: int | None, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.message = message
        self.code = code
        self.status = status
        self.retryable = retryable


class NotificationRejected(Exception):
    """A notification that must not be acted on."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class PaymentPlatform(Protocol):
    """What the payments domain asks of an online payment platform (WeChat Pay now; Alipay can follow)."""

    async def create_native(
        self, *, out_trade_no: str, amount_fen: int, description: str, expire_at: datetime, notify_url: str
    ) -> str:
        """Open a QR-code trade; return the code URL to show."""

    async def query(self, out_trade_no: str) -> TradeState:
        """The trade as the platform now sees it."""

    async def close(self, out_trade_no: str) -> None:
        """Close an unpaid trade, so it can no longer be paid."""

    async def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str,
        notify_url: str,
    ) -> RefundState:
        """Ask for (part of) a paid trade back; asking again with the same `out_refund_no` is safe."""

    async def query_refund(self, out_refund_no: str) -> RefundState:
        """The refund as the platform now sees it."""

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Verify and decrypt a notification (NotificationRejected when it must change nothing)."""

    async def trade_bill(self, day: date) -> list[BillRow]:
        """The platform's trade bill of a (Shanghai) day; empty when it has none."""
