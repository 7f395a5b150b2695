"""What the fake WeChat Pay holds: trades, refunds, the notifications it sent, faults and the bill
mismatches a test asked for; and what each API request does to them (no I/O here)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from simulators.fake_wechatpay import wire
from simulators.fake_wechatpay.wire import BillLine, Merchant, WeChatPayError

MISMATCH_KINDS = frozenset({"amount", "extra", "missing"})


def utc_now() -> datetime:
    """The wall clock, aware UTC (the fake's default clock)."""
    return datetime.now(UTC)


@dataclass(slots=True, kw_only=True)
class FakeTrade:
    """One Native trade as the platform keeps it."""

    out_trade_no: str
    description: str
    total_fen: int
    notify_url: str
    code_url: str
    created_at: datetime
    time_expire: datetime | None
    attach: str = ""
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    openid: str | None = None
    refunded_fen: int = 0  # asked for back so far (every refund not closed)

    def resource(self, merchant: Merchant) -> dict[str, object]:
        """The trade as a query answers it and a payment notification carries it."""
        data: dict[str, object] = {
            "appid": merchant.appid,
            "mchid": merchant.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "NATIVE",
            "trade_state": self.state,
            "trade_state_desc": TRADE_STATE_DESC[self.state],
            "attach": self.attach,
            "amount": {"total": self.total_fen, "currency": "CNY"},
        }
        if self.transaction_id is not None and self.success_time is not None:
            data |= {
                "transaction_id": self.transaction_id,
                "bank_type": "OTHERS",
                "success_time": wire.rfc3339(self.success_time),
                "payer": {"openid": self.openid},
                "amount": {
                    "total": self.total_fen,
                    "payer_total": self.total_fen,
                    "currency": "CNY",
                    "payer_currency": "CNY",
                },
            }
        return data


TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "CLOSED": "订单已关闭",
}


@dataclass(slots=True, kw_only=True)
class FakeRefund:
    """One refund of a paid trade."""

    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund_fen: int
    total_fen: int
    reason: str
    notify_url: str | None
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None

    def resource(self) -> dict[str, object]:
        """The refund as the refund and query answers give it."""
        data: dict[str, object] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": wire.rfc3339(self.created_at),
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": self._amount(),
        }
        if self.success_time is not None:
            data["success_time"] = wire.rfc3339(self.success_time)
        return data

    def notification_resource(self, merchant: Merchant) -> dict[str, object]:
        """What a REFUND.* notification carries."""
        data: dict[str, object] = {
            "mchid": merchant.mchid,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": self._amount(),
        }
        if self.success_time is not None:
            data["success_time"] = wire.rfc3339(self.success_time)
        return data

    def _amount(self) -> dict[str, object]:
        return {
            "total": self.total_fen,
            "refund": self.refund_fen,
            "payer_total": self.total_fen,
            "payer_refund": self.refund_fen,
            "currency": "CNY",
        }


@dataclass(slots=True, kw_only=True)
class SentNotification:
    """A notification as sent (headers and body exactly), and how the merchant's server answered each try."""

    id: str
    event_type: str
    url: str
    headers: dict[str, str]
    body: bytes
    variant: str = "original"  # or replay, tampered, stale, wrong_key, bad_ciphertext
    answers: list[int | str] = field(default_factory=list)  # HTTP statuses, or the connection error
    delivered: bool = False

    def summary(self) -> dict[str, object]:
        """As `GET /_fake/notifications` lists it."""
        return {
            "id": self.id,
            "event_type": self.event_type,
            "url": self.url,
            "variant": self.variant,
            "headers": self.headers,
            "body": self.body.decode(),
            "answers": self.answers,
            "delivered": self.delivered,
        }


@dataclass(frozen=True, slots=True)
class Fault:
    """Answer API requests with `status` for `remaining` more requests and/or until `until`."""

    status: int
    remaining: int | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A difference the next bills of a day show: a trade's amount changed, a stranger's row, a row missing."""

    kind: str
    out_trade_no: str
    amount_fen: int = 0


@dataclass(frozen=True, slots=True)
class Bill:
    """A prepared download: the bill text and its SHA-1."""

    text: str

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.text.encode()).hexdigest()  # noqa: S324 - the platform's hash_type


class FakeState:
    """The platform's memory and its rules."""

    def __init__(self, merchant: Merchant, *, now: Callable[[], datetime] = utc_now) -> None:
        self.merchant = merchant
        self.now = now
        self.trades: dict[str, FakeTrade] = {}
        self.refunds: dict[str, FakeRefund] = {}
        self.notifications: list[SentNotification] = []
        self.fault: Fault | None = None
        self.mismatches: dict[date, list[Mismatch]] = {}
        self.bills: dict[str, Bill] = {}  # download token -> bill

    def check_fault(self) -> None:
        """Raise the configured fault's error while it lasts."""
        fault = self.fault
        if fault is None:
            return
        if (fault.until is not None and self.now() >= fault.until) or fault.remaining == 0:
            self.fault = None
            return
        if fault.remaining is not None:
            self.fault = Fault(fault.status, fault.remaining - 1, fault.until)
        code, message = wire.FAULT_ERRORS[fault.status]
        raise WeChatPayError(fault.status, code, message)

    def create_native(self, body: Mapping[str, object]) -> FakeTrade:
        """POST /v3/pay/transactions/native: a new trade, or the same one again for the same request."""
        self._check_ids(body)
        out_trade_no = wire.require_text(body, "out_trade_no", max_chars=32, pattern=wire.OUT_TRADE_NO)
        description = wire.require_text(body, "description", max_chars=127)
        notify_url = wire.require_notify_url(body.get("notify_url"), "/notify_url")
        total = wire.require_fen(body.get("amount"), "total")
        expire = body.get("time_expire")
        time_expire = None if expire is None else wire.parse_rfc3339(expire, "/time_expire")
        if time_expire is not None and time_expire <= self.now():
            raise wire.invalid_request("time_expire 已过期")
        known = self.trades.get(out_trade_no)
        if known is not None:
            if (known.total_fen, known.description) != (total, description) or known.state != "NOTPAY":
                raise WeChatPayError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            return known
        trade = FakeTrade(
            out_trade_no=out_trade_no,
            description=description,
            total_fen=total,
            notify_url=notify_url,
            code_url=f"weixin://wxpay/bizpayurl?pr={wire.nonce(9)}",
            created_at=self.now(),
            time_expire=time_expire,
            attach=str(body.get("attach") or ""),
        )
        self.trades[out_trade_no] = trade
        return trade

    def _check_ids(self, body: Mapping[str, object]) -> None:
        if body.get("mchid") != self.merchant.mchid or body.get("appid") != self.merchant.appid:
            raise WeChatPayError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")

    def trade(self, out_trade_no: str, mchid: str | None) -> FakeTrade:
        """GET /v3/pay/transactions/out-trade-no/{no}?mchid=."""
        if mchid is None:
            raise param_query("mchid")
        if mchid != self.merchant.mchid:
            raise WeChatPayError(400, "APPID_MCHID_NOT_MATCH", "商户号不匹配")
        trade = self.trades.get(out_trade_no)
        if trade is None:
            raise WeChatPayError(404, "ORDER_NOT_EXIST", "订单不存在")
        return trade

    def close(self, out_trade_no: str, body: Mapping[str, object]) -> None:
        """POST .../close: an unpaid trade becomes CLOSED (closing it again is fine)."""
        mchid = body.get("mchid")
        trade = self.trade(out_trade_no, mchid if isinstance(mchid, str) else None)
        if trade.state in ("SUCCESS", "REFUND"):
            raise WeChatPayError(400, "ORDER_PAID", "订单已支付")
        trade.state = "CLOSED"

    def pay(self, out_trade_no: str, openid: str) -> FakeTrade:
        """The family scanned the code and paid."""
        trade = self.trades.get(out_trade_no)
        if trade is None:
            raise WeChatPayError(404, "ORDER_NOT_EXIST", "订单不存在")
        if trade.state != "NOTPAY":
            raise invalid_state(f"the trade is {trade.state}")
        now = self.now()
        if trade.time_expire is not None and now >= trade.time_expire:
            raise invalid_state("the trade's time_expire has passed")
        trade.state, trade.success_time, trade.openid = "SUCCESS", now, openid
        trade.transaction_id = wire.transaction_id(now)
        return trade

    def refund(self, body: Mapping[str, object]) -> tuple[FakeRefund, bool]:
        """POST /v3/refund/domestic/refunds: the refund, and whether it is new (the same request again
        answers the refund it made)."""
        out_refund_no = wire.require_text(body, "out_refund_no", max_chars=64, pattern=wire.OUT_REFUND_NO)
        trade = self._refunded_trade(body)
        refund_fen = wire.require_fen(body.get("amount"), "refund")
        total_fen = wire.require_fen(body.get("amount"), "total")
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
            raise wire.param_error("/reason", "不超过80个字符", reason)
        notify = body.get("notify_url")
        notify_url = None if notify is None else wire.require_notify_url(notify, "/notify_url")
        known = self.refunds.get(out_refund_no)
        if known is not None:
            if (known.out_trade_no, known.refund_fen) != (trade.out_trade_no, refund_fen):
                raise wire.invalid_request("商户退款单号重复，且退款信息与之前不一致")
            return known, False
        if total_fen != trade.total_fen:
            raise wire.invalid_request("订单金额与原订单金额不一致")
        if trade.refunded_fen + refund_fen > trade.total_fen:
            raise wire.invalid_request("申请退款金额超过订单可退金额")
        assert trade.transaction_id is not None  # noqa: S101 - a paid trade has one
        refund = FakeRefund(
            out_refund_no=out_refund_no,
            refund_id=wire.refund_id(),
            out_trade_no=trade.out_trade_no,
            transaction_id=trade.transaction_id,
            refund_fen=refund_fen,
            total_fen=total_fen,
            reason=str(reason or ""),
            notify_url=notify_url,
            created_at=self.now(),
        )
        trade.refunded_fen += refund_fen
        trade.state = "REFUND"
        self.refunds[out_refund_no] = refund
        return refund, True

    def _refunded_trade(self, body: Mapping[str, object]) -> FakeTrade:
        out_trade_no, transaction = body.get("out_trade_no"), body.get("transaction_id")
        if isinstance(transaction, str):
            found = [trade for trade in self.trades.values() if trade.transaction_id == transaction]
            trade = found[0] if found else None
        elif isinstance(out_trade_no, str):
            trade = self.trades.get(out_trade_no)
        else:
            raise wire.param_error("/out_trade_no", "out_trade_no与transaction_id必填其一")
        if trade is None:
            raise WeChatPayError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if trade.state not in ("SUCCESS", "REFUND"):
            raise wire.invalid_request("订单未支付，不能退款")
        return trade

    def finish_refund(self, refund: FakeRefund) -> None:
        """The money is back with the payer."""
        refund.status, refund.success_time = "SUCCESS", self.now()

    def refund_by_no(self, out_refund_no: str) -> FakeRefund:
        """GET /v3/refund/domestic/refunds/{out_refund_no}."""
        refund = self.refunds.get(out_refund_no)
        if refund is None:
            raise WeChatPayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund

    def prepare_bill(self, bill_date: str | None, bill_type: str | None) -> tuple[str, Bill]:
        """GET /v3/bill/tradebill: a download token for the day's bill (NO_STATEMENT_EXIST when empty).
        Unlike the platform (which has a day's bill from 10:00 the next day), any day is served at once."""
        if bill_type not in (None, "ALL"):
            raise wire.param_error("/bill_type", "this fake serves ALL only", bill_type)
        try:
            day = date.fromisoformat(bill_date or "")
        except ValueError:
            raise wire.param_error("/bill_date", "格式应为yyyy-MM-DD", bill_date) from None
        lines = self._bill_lines(day)
        if not lines:
            raise WeChatPayError(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        token = wire.nonce(24)
        self.bills[token] = Bill(wire.bill_text(lines, self.merchant))
        return token, self.bills[token]

    def _bill_lines(self, day: date) -> list[BillLine]:
        lines = [line for line in self._true_bill_lines() if line.time.astimezone(wire.BEIJING).date() == day]
        for mismatch in self.mismatches.get(day, []):
            lines = _apply(mismatch, lines, day)
        return sorted(lines, key=lambda line: line.time)

    def _true_bill_lines(self) -> list[BillLine]:
        lines = [
            BillLine(
                time=trade.success_time,
                transaction_id=trade.transaction_id,
                out_trade_no=trade.out_trade_no,
                openid=trade.openid or "",
                state="SUCCESS",
                total_fen=trade.total_fen,
                description=trade.description,
            )
            for trade in self.trades.values()
            if trade.success_time is not None and trade.transaction_id is not None
        ]
        for refund in self.refunds.values():
            if refund.status == "SUCCESS" and refund.success_time is not None:
                trade = self.trades[refund.out_trade_no]
                lines.append(
                    BillLine(
                        time=refund.success_time,
                        transaction_id=refund.transaction_id,
                        out_trade_no=refund.out_trade_no,
                        openid=trade.openid or "",
                        state="REFUND",
                        total_fen=refund.total_fen,
                        description=trade.description,
                        refund_id=refund.refund_id,
                        out_refund_no=refund.out_refund_no,
                        refund_fen=refund.refund_fen,
                    )
                )
        return lines

    def add_mismatch(self, day: date, mismatch: Mismatch) -> None:
        """Every later bill of `day` shows this difference."""
        if mismatch.kind not in MISMATCH_KINDS:
            raise ValueError(f"kind: one of {sorted(MISMATCH_KINDS)}")
        self.mismatches.setdefault(day, []).append(mismatch)

    def reset(self) -> None:
        """Forget everything but the merchant."""
        self.trades.clear()
        self.refunds.clear()
        self.notifications.clear()
        self.mismatches.clear()
        self.bills.clear()
        self.fault = None


def _apply(mismatch: Mismatch, lines: list[BillLine], day: date) -> list[BillLine]:
    """The bill lines with one injected difference."""
    if mismatch.kind == "missing":
        return [line for line in lines if line.out_trade_no != mismatch.out_trade_no]
    if mismatch.kind == "amount":
        return [
            replace(line, total_fen=mismatch.amount_fen)
            if line.out_trade_no == mismatch.out_trade_no and line.state == "SUCCESS"
            else line
            for line in lines
        ]
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=wire.BEIJING)
    stranger = BillLine(
        time=noon + timedelta(seconds=len(lines)),
        transaction_id=wire.transaction_id(noon),
        out_trade_no=mismatch.out_trade_no,
        openid="o" + wire.nonce(27),
        state="SUCCESS",
        total_fen=mismatch.amount_fen,
        description="unknown",
    )
    return [*lines, stranger]


def param_query(name: str) -> WeChatPayError:
    return WeChatPayError(
        400, "PARAM_ERROR", f"参数错误: 缺少查询参数 {name}", {"field": name, "location": "query"}
    )


def invalid_state(message: str) -> WeChatPayError:
    """A `/_fake` control that does not fit the trade's state."""
    return WeChatPayError(409, "INVALID_STATE", message)
