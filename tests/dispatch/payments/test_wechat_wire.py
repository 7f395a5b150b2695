"""WeChat Pay's formats read without I/O: bill amounts, the trade bill's text, times, trade states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.payments.platform import BillRow, TradeStatus
from dispatch.payments.wechat_wire import MalformedAnswer, bill_rows, rfc3339, trade_state, yuan_to_fen

# A bill of type ALL as the platform writes it: a BOM, CRLF lines, every field behind a backtick, one payment
# whose description holds a comma, one partial refund of it, then the summary.
HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
PAYMENT = (
    "`2026-03-02 09:15:00,`wx0123456789abcdef,`1900000109,`0,`,`4200002026030212345678901234,`SO-1,`o-family,"
    "`NATIVE,`SUCCESS,`OTHERS,`CNY,`36.50,`0.00,`0,`0,`0.00,`0.00,`,`,`助浴, 上门,`,`0.22000,`0.60%,`36.50,`0.00,`"
)
REFUND = (
    "`2026-03-02 18:00:05,`wx0123456789abcdef,`1900000109,`0,`,`4200002026030212345678901234,`SO-1,`o-family,"
    "`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000000000000000000000001,`RF-1,`10.00,`0.00,`ORIGINAL,`SUCCESS,"
    "`助浴, 上门,`,`-0.06000,`0.60%,`36.50,`10.00,`"
)
SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`2,`36.50,`10.00,`0.00,`0.16000,`36.50,`10.00"
BILL = "\ufeff" + "\r\n".join([HEADER, PAYMENT, REFUND, SUMMARY]) + "\r\n"


@pytest.mark.parametrize(
    ("text", "fen"), [("0.01", 1), ("36.50", 3650), ("12.3", 1230), ("0", 0), ("1000.00", 100000)]
)
def test_bill_amounts_in_yuan_become_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["1.005", "abc", ""])
def test_amounts_that_are_no_whole_fen_are_refused(text: str) -> None:
    with pytest.raises(MalformedAnswer):
        yuan_to_fen(text)


def test_the_bill_gives_one_row_per_payment_and_refund_in_utc() -> None:
    assert bill_rows(BILL) == [
        BillRow(
            "SO-1",
            "4200002026030212345678901234",
            3650,
            "SUCCESS",
            0,
            datetime(2026, 3, 2, 1, 15, tzinfo=UTC),
        ),
        BillRow(
            "SO-1",
            "4200002026030212345678901234",
            3650,
            "REFUND",
            1000,
            datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC),
            "RF-1",
        ),
    ]


def test_a_bill_row_with_a_field_missing_is_refused() -> None:
    with pytest.raises(MalformedAnswer, match="fields"):
        bill_rows("\r\n".join([HEADER, PAYMENT.removesuffix(",`"), SUMMARY]))


def test_times_are_sent_in_beijing_time() -> None:
    assert rfc3339(datetime(2026, 3, 2, 1, 30, 15, 999, tzinfo=UTC)) == "2026-03-02T09:30:15+08:00"


def test_an_unknown_trade_state_is_refused_not_guessed() -> None:
    answer = {"out_trade_no": "SO-1", "trade_state": "PAID", "amount": {"total": 1}}
    with pytest.raises(MalformedAnswer, match="PAID"):
        trade_state(answer)
    assert trade_state(answer | {"trade_state": "NOTPAY"}).state is TradeStatus.NOTPAY
