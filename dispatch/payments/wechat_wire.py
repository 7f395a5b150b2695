"""WeChat Pay API v3's formats, without I/O: its times, trade and refund JSON, decrypted notification
resources and the daily trade bill, read into `dispatch.payments.platform` records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from dispatch.localtime import LOCAL_TZ
from dispatch.payments.platform import (
    BillRow,
    Notification,
    NotificationKind,
    RefundState,
    RefundStatus,
    TradeState,
    TradeStatus,
)

__all__ = [
    "BILL_SUMMARY_MARK",
    "MalformedAnswer",
    "bill_rows",
    "json_object",
    "notification",
    "parse_time",
    "refund_state",
    "required_text",
    "rfc3339",
    "trade_state",
    "yuan_to_fen",
]

BILL_SUMMARY_MARK = "总交易单数"  # the first column of the bill's summary header, which ends the rows
BILL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Beijing time
E = TypeVar("E", TradeStatus, RefundStatus)


class MalformedAnswer(ValueError):
    """The platform sent something that is not what its documentation promises."""


def json_object(text: str | bytes) -> dict[str, object]:
    """A JSON object (MalformedAnswer for anything else)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedAnswer("not JSON") from None
    if not isinstance(data, dict):
        raise MalformedAnswer("not a JSON object")
    return data


def rfc3339(moment: datetime) -> str:
    """An instant as the API writes them, in Beijing time: `2026-03-02T09:00:00+08:00`."""
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def parse_time(text: object) -> datetime:
    """An API time (RFC 3339 with an offset) as aware UTC."""
    if not isinstance(text, str):
        raise MalformedAnswer(f"expected a time, got {text!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedAnswer(f"not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise MalformedAnswer(f"a time without an offset: {text!r}")
    return moment.astimezone(UTC)


def _optional_time(text: object) -> datetime | None:
    return None if text in (None, "") else parse_time(text)


def required_text(data: Mapping[str, object], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedAnswer(f"missing {name!r}")
    return value


def _optional_text(data: Mapping[str, object], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def _fen(amount: object, name: str) -> int:
    value = amount.get(name) if isinstance(amount, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedAnswer(f"missing amount.{name}")
    return value


def _enum(kind: type[E], value: object) -> E:
    try:
        return kind(str(value))
    except ValueError:
        raise MalformedAnswer(f"unknown {kind.__name__}: {value!r}") from None


def trade_state(data: Mapping[str, object]) -> TradeState:
    """A trade (query answer or payment notification resource)."""
    return TradeState(
        out_trade_no=required_text(data, "out_trade_no"),
        state=_enum(TradeStatus, data.get("trade_state")),
        amount_fen=_fen(data.get("amount"), "total"),
        transaction_id=_optional_text(data, "transaction_id"),
        success_time=_optional_time(data.get("success_time")),
    )


def refund_state(data: Mapping[str, object]) -> RefundState:
    """A refund (refund answer or query); notifications name the state `refund_status`, answers `status`."""
    return RefundState(
        out_refund_no=required_text(data, "out_refund_no"),
        out_trade_no=required_text(data, "out_trade_no"),
        state=_enum(RefundStatus, data.get("status", data.get("refund_status"))),
        refund_fen=_fen(data.get("amount"), "refund"),
        total_fen=_fen(data.get("amount"), "total"),
        refund_id=_optional_text(data, "refund_id"),
        transaction_id=_optional_text(data, "transaction_id"),
        success_time=_optional_time(data.get("success_time")),
    )


def notification(event_type: str, notification_id: str, resource: Mapping[str, object]) -> Notification:
    """A decrypted notification resource: TRANSACTION.* is a payment, REFUND.* a refund."""
    if event_type.startswith("TRANSACTION."):
        trade = trade_state(resource)
        return Notification(
            kind=NotificationKind.payment,
            notification_id=notification_id,
            out_trade_no=trade.out_trade_no,
            state=trade.state.value,
            amount_fen=trade.amount_fen,
            transaction_id=trade.transaction_id,
            success_time=trade.success_time,
        )
    if event_type.startswith("REFUND."):
        refund = refund_state(resource)
        return Notification(
            kind=NotificationKind.refund,
            notification_id=notification_id,
            out_trade_no=refund.out_trade_no,
            state=refund.state.value,
            amount_fen=refund.refund_fen,
            transaction_id=refund.transaction_id,
            out_refund_no=refund.out_refund_no,
            success_time=refund.success_time,
        )
    raise MalformedAnswer(f"unknown event_type {event_type!r}")


def yuan_to_fen(text: str) -> int:
    """A bill amount in yuan (`12.30`) as integer fen, refusing fractions of a fen."""
    try:
        fen = Decimal(text) * 100
    except InvalidOperation:
        raise MalformedAnswer(f"not an amount: {text!r}") from None
    if fen != fen.to_integral_value():
        raise MalformedAnswer(f"an amount with a fraction of a fen: {text!r}")
    return int(fen)


def _fields(line: str) -> list[str]:
    """A bill line's fields: each starts with a backtick (so spreadsheets keep long numbers as text); a comma
    inside a field (a description) is no separator."""
    return line.removeprefix("`").split(",`")


def _bill_row(columns: Mapping[str, int], fields: list[str]) -> BillRow:
    def field(name: str) -> str:
        return fields[columns[name]].strip()

    refund_no = field("商户退款单号")
    return BillRow(
        out_trade_no=field("商户订单号"),
        transaction_id=field("微信订单号"),
        amount_fen=yuan_to_fen(field("订单金额")),
        state=field("交易状态"),
        refund_fen=yuan_to_fen(field("申请退款金额")),
        time=datetime.strptime(field("交易时间"), BILL_TIME_FORMAT).replace(tzinfo=LOCAL_TZ).astimezone(UTC),
        out_refund_no=refund_no if refund_no not in ("", "0") else None,
    )


def bill_rows(text: str) -> list[BillRow]:
    """The rows of a trade bill (`bill_type=ALL`): a header line, backtick-prefixed rows, then a summary."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        raise MalformedAnswer("an empty bill")
    columns = {name.strip(): index for index, name in enumerate(lines[0].split(","))}
    rows = []
    for line in lines[1:]:
        if line.startswith(BILL_SUMMARY_MARK):
            break
        fields = _fields(line)
        if len(fields) != len(columns):
            raise MalformedAnswer(f"a bill row with {len(fields)} fields, not {len(columns)}")
        try:
            rows.append(_bill_row(columns, fields))
        except (KeyError, ValueError) as exc:
            raise MalformedAnswer(f"an unreadable bill row: {exc}") from None
    return rows
