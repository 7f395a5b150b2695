"""The WeChat Pay adapter through the real `wechatpayv3` SDK against the fake WeChat Pay, over real sockets:
orders, queries, notifications and their rejections, close, refunds, the daily bill, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dispatch.admin.router import settings_items
from dispatch.localtime import local_date
from dispatch.payments.platform import (
    BillRow,
    Notification,
    NotificationKind,
    NotificationRejected,
    PaymentPlatformError,
    RefundStatus,
    RejectReason,
    TradeStatus,
)
from dispatch.payments.wechat import WeChatPayConfig, WeChatPayPlatform, platform_from_settings
from dispatch.settings import Settings
from simulators.fake_twilio import LocalServer
from simulators.fake_wechatpay import FakeWeChatPay, KeySet, generate_keys, write_keys
from simulators.fake_wechatpay.wire import WeChatPayError, signed_headers

EXPIRES_IN = timedelta(minutes=30)


@dataclass(frozen=True)
class Received:
    """One request our notification endpoint got, as it came."""

    headers: dict[str, str]
    body: bytes


class Receiver:
    """Our side of the notifications: a tiny app on a real port that records them and answers `statuses` in
    turn (then 204)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        self.server = LocalServer(Starlette(routes=[Route("/notify/{kind}", self.receive, methods=["POST"])]))
        self.base_url = ""

    async def receive(self, request: Request) -> Response:
        await self.received.put(Received(dict(request.headers), await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)

    async def next(self) -> Received:
        async with asyncio.timeout(5):
            return await self.received.get()


@pytest.fixture(scope="module")
def keys() -> KeySet:
    return generate_keys()


@pytest.fixture
async def fake(keys: KeySet) -> AsyncIterator[FakeWeChatPay]:
    async with FakeWeChatPay(keys, notify_retry_delays_s=(0.01, 0.01), refund_delay_s=0.01) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    hooks.base_url = await hooks.server.start()
    yield hooks
    await hooks.server.stop()


def config(keys: KeySet, base_url: str) -> WeChatPayConfig:
    return WeChatPayConfig(
        mchid=keys.mchid,
        appid=keys.appid,
        private_key_pem=keys.merchant_private_pem,
        cert_serial_no=keys.merchant_serial_no,
        apiv3_key=keys.apiv3_key,
        public_key_pem=keys.platform_public_pem,
        public_key_id=keys.public_key_id,
        base_url=base_url,
    )


@pytest.fixture
def platform(keys: KeySet, fake: FakeWeChatPay) -> WeChatPayPlatform:
    return WeChatPayPlatform(config(keys, fake.base_url))


async def open_trade(platform: WeChatPayPlatform, receiver: Receiver, no: str, fen: int) -> str:
    return await platform.create_native(
        out_trade_no=no,
        amount_fen=fen,
        description="助餐服务 3 次",
        expire_at=datetime.now(UTC) + EXPIRES_IN,
        notify_url=f"{receiver.base_url}/notify/payment",
    )


async def paid(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver, no: str, fen: int
) -> Received:
    """A trade opened and paid; the payment notification as our server received it."""
    await open_trade(platform, receiver, no, fen)
    fake.pay(no)
    return await receiver.next()


def parse(platform: WeChatPayPlatform, received: Received, now: datetime | None = None) -> Notification:
    return platform.parse_notification(received.headers, received.body, now or datetime.now(UTC))


async def test_a_native_order_gives_a_code_url_and_queries_as_notpay(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    code_url = await open_trade(platform, receiver, "SO20260302001", 3600)
    state = await platform.query("SO20260302001")
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert code_url == fake.trades["SO20260302001"].code_url
    assert (state.out_trade_no, state.state, state.amount_fen) == ("SO20260302001", TradeStatus.NOTPAY, 3600)
    assert (state.transaction_id, state.success_time) == (None, None)


async def test_the_order_carries_its_expiry_in_beijing_time(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    expire_at = datetime(2099, 3, 2, 1, 30, tzinfo=UTC)
    await platform.create_native(
        out_trade_no="SO20260302009",
        amount_fen=100,
        description="d",
        expire_at=expire_at,
        notify_url=f"{receiver.base_url}/notify/payment",
    )
    assert fake.trades["SO20260302009"].time_expire == expire_at


async def test_a_paid_trade_notifies_a_payment_of_its_amount(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    received = await paid(platform, fake, receiver, "SO20260302002", 4550)
    notification = parse(platform, received)
    state = await platform.query("SO20260302002")
    assert notification.kind is NotificationKind.payment
    assert (notification.out_trade_no, notification.amount_fen, notification.state) == (
        "SO20260302002",
        4550,
        "SUCCESS",
    )
    assert notification.notification_id == fake.notifications[0].id
    assert state.state is TradeStatus.SUCCESS
    assert notification.transaction_id == state.transaction_id is not None
    assert notification.success_time == state.success_time is not None


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("tampered", RejectReason.bad_signature),
        ("wrong_key", RejectReason.bad_signature),
        ("stale", RejectReason.stale_timestamp),
        ("bad_ciphertext", RejectReason.decryption_failed),
    ],
)
async def test_a_forged_or_old_notification_is_rejected_with_its_reason(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver, variant: str, reason: RejectReason
) -> None:
    original = await paid(platform, fake, receiver, "SO20260302003", 1000)
    await fake.resend(fake.notifications[0].id, variant)
    copy = await receiver.next()
    assert copy.body != original.body or copy.headers != original.headers
    with pytest.raises(NotificationRejected) as rejected:
        parse(platform, copy)
    assert rejected.value.reason is reason


async def test_a_notification_whose_body_lost_a_byte_is_rejected_as_badly_signed(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    received = await paid(platform, fake, receiver, "SO20260302010", 1000)
    with pytest.raises(NotificationRejected) as rejected:
        platform.parse_notification(received.headers, received.body[:-1], datetime.now(UTC))
    assert rejected.value.reason is RejectReason.bad_signature


async def test_an_unsigned_notification_is_rejected(platform: WeChatPayPlatform) -> None:
    with pytest.raises(NotificationRejected) as rejected:
        platform.parse_notification({"content-type": "application/json"}, b"{}", datetime.now(UTC))
    assert rejected.value.reason is RejectReason.bad_signature


async def test_a_replay_parses_to_the_same_notification_id(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    first = parse(platform, await paid(platform, fake, receiver, "SO20260302004", 800))
    await fake.resend(first.notification_id, "replay")
    again = parse(platform, await receiver.next())
    assert again == first


@pytest.mark.parametrize(("offset_s", "accepted"), [(299, True), (-299, True), (301, False), (-301, False)])
async def test_the_timestamp_window_is_measured_from_the_given_now(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver, offset_s: int, accepted: bool
) -> None:
    received = await paid(platform, fake, receiver, "SO20260302005", 500)
    signed_at = datetime.fromtimestamp(int(received.headers["wechatpay-timestamp"]), UTC)
    now = signed_at + timedelta(seconds=offset_s)
    if accepted:
        assert parse(platform, received, now).amount_fen == 500
    else:
        with pytest.raises(NotificationRejected) as rejected:
            parse(platform, received, now)
        assert rejected.value.reason is RejectReason.stale_timestamp


async def test_closing_an_unpaid_trade_makes_it_closed_and_unpayable(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    await open_trade(platform, receiver, "SO20260302006", 2000)
    await platform.close("SO20260302006")
    state = await platform.query("SO20260302006")
    assert state.state is TradeStatus.CLOSED
    with pytest.raises(WeChatPayError, match="CLOSED"):
        fake.pay("SO20260302006")


async def test_a_partial_refund_is_processing_then_notified_as_a_refund(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    payment = parse(platform, await paid(platform, fake, receiver, "SO20260302007", 10000))
    refund = await platform.refund(
        out_trade_no="SO20260302007",
        out_refund_no="RF20260302007-1",
        refund_fen=3000,
        total_fen=10000,
        reason="服务未完成",
        notify_url=f"{receiver.base_url}/notify/refund",
    )
    notification = parse(platform, await receiver.next())
    queried = await platform.query_refund("RF20260302007-1")
    trade = await platform.query("SO20260302007")
    assert (refund.state, refund.refund_fen, refund.total_fen) == (RefundStatus.PROCESSING, 3000, 10000)
    assert refund.transaction_id == payment.transaction_id
    assert notification.kind is NotificationKind.refund
    assert (notification.out_trade_no, notification.out_refund_no) == ("SO20260302007", "RF20260302007-1")
    assert (notification.amount_fen, notification.state) == (3000, "SUCCESS")
    assert notification.notification_id != payment.notification_id
    assert (queried.state, queried.refund_id) == (RefundStatus.SUCCESS, refund.refund_id)
    assert trade.state is TradeStatus.REFUND


async def test_asking_for_the_same_refund_again_answers_the_first(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    await paid(platform, fake, receiver, "SO20260302011", 1000)
    asks = [
        platform.refund(
            out_trade_no="SO20260302011",
            out_refund_no="RF-11",
            refund_fen=400,
            total_fen=1000,
            reason="",
            notify_url=f"{receiver.base_url}/notify/refund",
        )
        for _ in range(2)
    ]
    first, second = [await ask for ask in asks]
    assert first.refund_id == second.refund_id
    assert fake.trades["SO20260302011"].refunded_fen == 400


async def test_refunding_more_than_is_left_is_refused_with_the_platforms_code(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    await paid(platform, fake, receiver, "SO20260302008", 1000)
    with pytest.raises(PaymentPlatformError) as refused:
        await platform.refund(
            out_trade_no="SO20260302008",
            out_refund_no="RF-8",
            refund_fen=1001,
            total_fen=1000,
            reason="",
            notify_url=f"{receiver.base_url}/notify/refund",
        )
    assert (refused.value.code, refused.value.status, refused.value.retryable) == (
        "INVALID_REQUEST",
        400,
        False,
    )


async def test_an_unknown_trade_is_order_not_exist(platform: WeChatPayPlatform) -> None:
    with pytest.raises(PaymentPlatformError) as refused:
        await platform.query("SO-NOT-THERE")
    assert (refused.value.code, refused.value.status) == ("ORDER_NOT_EXIST", 404)


async def test_the_bill_lists_the_days_payments_and_refunds(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    await paid(platform, fake, receiver, "SO-BILL-1", 1250)
    await paid(platform, fake, receiver, "SO-BILL-2", 99)
    await open_trade(platform, receiver, "SO-BILL-UNPAID", 500)
    await platform.refund(
        out_trade_no="SO-BILL-1",
        out_refund_no="RF-BILL-1",
        refund_fen=250,
        total_fen=1250,
        reason="",
        notify_url=f"{receiver.base_url}/notify/refund",
    )
    await receiver.next()  # the refund succeeded
    one, two = [await platform.query(no) for no in ("SO-BILL-1", "SO-BILL-2")]
    refund = await platform.query_refund("RF-BILL-1")
    assert one.success_time is not None
    assert two.success_time is not None
    assert refund.success_time is not None
    assert one.transaction_id is not None
    assert two.transaction_id is not None
    rows = await platform.trade_bill(local_date(one.success_time))
    assert sorted(rows, key=lambda row: (row.out_trade_no, row.state)) == [
        BillRow(
            "SO-BILL-1",
            one.transaction_id,
            1250,
            "REFUND",
            250,
            refund.success_time.replace(microsecond=0),
            "RF-BILL-1",
        ),
        BillRow("SO-BILL-1", str(one.transaction_id), 1250, "SUCCESS", 0, one.success_time),
        BillRow("SO-BILL-2", str(two.transaction_id), 99, "SUCCESS", 0, two.success_time),
    ]


@pytest.mark.parametrize(
    ("kind", "out_trade_no", "amount_fen", "expected"),
    [
        ("amount", "SO-MIS-1", 1, {("SO-MIS-1", 1)}),
        ("missing", "SO-MIS-1", 0, set()),
        ("extra", "SO-STRANGER", 777, {("SO-MIS-1", 600), ("SO-STRANGER", 777)}),
    ],
)
async def test_an_injected_mismatch_shows_in_the_bill(
    platform: WeChatPayPlatform,
    fake: FakeWeChatPay,
    receiver: Receiver,
    kind: str,
    out_trade_no: str,
    amount_fen: int,
    expected: set[tuple[str, int]],
) -> None:
    await paid(platform, fake, receiver, "SO-MIS-1", 600)
    day = local_date(fake.trades["SO-MIS-1"].success_time or datetime.now(UTC))
    before = await platform.trade_bill(day)
    fake.add_mismatch(day, kind, out_trade_no, amount_fen)
    after = await platform.trade_bill(day)
    assert {(row.out_trade_no, row.amount_fen) for row in before} == {("SO-MIS-1", 600)}
    assert {(row.out_trade_no, row.amount_fen) for row in after} == expected


async def test_a_day_without_trades_has_an_empty_bill(platform: WeChatPayPlatform) -> None:
    assert await platform.trade_bill(datetime(2026, 1, 5, tzinfo=UTC).date()) == []


@pytest.mark.parametrize(("status", "code"), [(429, "FREQUENCY_LIMITED"), (500, "SYSTEM_ERROR")])
async def test_a_refusal_for_now_is_a_retryable_error_with_the_platforms_code(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver, status: int, code: str
) -> None:
    fake.fail(status, count=1)
    with pytest.raises(PaymentPlatformError) as refused:
        await open_trade(platform, receiver, "SO-BUSY-1", 100)
    retried = await open_trade(platform, receiver, "SO-BUSY-1", 100)
    assert (refused.value.code, refused.value.status, refused.value.retryable) == (code, status, True)
    assert retried == fake.trades["SO-BUSY-1"].code_url


async def test_requests_signed_with_another_merchant_key_get_sign_error(
    keys: KeySet, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    stranger = generate_keys(mchid=keys.mchid)
    impostor = WeChatPayPlatform(
        replace(config(keys, fake.base_url), private_key_pem=stranger.merchant_private_pem)
    )
    with pytest.raises(PaymentPlatformError) as refused:
        await open_trade(impostor, receiver, "SO-IMPOSTOR", 100)
    assert (refused.value.code, refused.value.status, refused.value.retryable) == ("SIGN_ERROR", 401, False)
    assert fake.trades == {}


async def test_answers_not_signed_by_the_configured_platform_key_are_refused(
    keys: KeySet, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    other = generate_keys()
    fooled = WeChatPayPlatform(replace(config(keys, fake.base_url), public_key_pem=other.platform_public_pem))
    with pytest.raises(PaymentPlatformError) as refused:
        await open_trade(fooled, receiver, "SO-MITM", 100)
    assert (refused.value.code, refused.value.retryable) == ("RESPONSE_SIGNATURE_INVALID", False)


async def test_an_unreachable_gateway_is_a_retryable_network_error(keys: KeySet) -> None:
    closed = LocalServer(Starlette())
    base_url = await closed.start()
    await closed.stop()
    platform = WeChatPayPlatform(config(keys, base_url))
    with pytest.raises(PaymentPlatformError) as refused:
        await platform.query("SO-ANY")
    assert (refused.value.code, refused.value.status, refused.value.retryable) == (
        "NETWORK_ERROR",
        None,
        True,
    )


async def test_the_event_loop_runs_while_the_sdk_waits(
    platform: WeChatPayPlatform, fake: FakeWeChatPay, receiver: Receiver
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    # The fake answers from this same loop: an SDK call made on the loop would block it, the fake could not
    # answer, and the calls would fail on the SDK's read timeout instead of all succeeding.
    ticker = asyncio.create_task(tick())
    await asyncio.gather(*(open_trade(platform, receiver, f"SO-LOOP-{n}", 100) for n in range(4)))
    ticker.cancel()
    assert ticks > 0
    assert len(fake.trades) == 4


def test_without_a_merchant_there_is_no_online_payment() -> None:
    assert platform_from_settings(Settings(_env_file=None)) is None


def test_a_partly_configured_merchant_is_refused_naming_what_is_missing() -> None:
    settings = Settings(_env_file=None, wechatpay_mchid="1900000109")
    with pytest.raises(ValueError, match="DISPATCH_WECHATPAY_APIV3_KEY"):
        platform_from_settings(settings)


def test_a_configured_merchant_reads_its_key_files_and_hides_its_v3_key(keys: KeySet, tmp_path: Path) -> None:
    write_keys(keys, tmp_path)
    env = keys.settings_env(tmp_path, "http://127.0.0.1:9")
    fields: dict[str, Any] = {name.removeprefix("DISPATCH_").lower(): value for name, value in env.items()}
    settings = Settings(_env_file=None, **fields)
    shown = {item.name: item for item in settings_items(settings)}
    assert isinstance(platform_from_settings(settings), WeChatPayPlatform)
    assert (shown["DISPATCH_WECHATPAY_APIV3_KEY"].value, shown["DISPATCH_WECHATPAY_APIV3_KEY"].secret) == (
        "••••••",
        True,
    )
    assert shown["DISPATCH_WECHATPAY_MCHID"].value == keys.mchid
    assert keys.apiv3_key not in repr(platform_from_settings(settings))


def signed_by_the_platform(keys: KeySet, body: str, now: datetime) -> dict[str, str]:
    """Headers as the platform signs a notification (its key), for bodies the fake would never send."""
    key = load_pem_private_key(keys.platform_private_pem.encode(), password=None)
    assert isinstance(key, RSAPrivateKey)
    return signed_headers(key, keys.public_key_id, body, now)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"id": "n-1", "event_type": "TRANSACTION.SUCCESS"}',
        '{"id": "n-1", "event_type": "TRANSACTION.SUCCESS", "resource_type": "encrypt-resource", '
        '"resource": {"algorithm": "AEAD_AES_128_CBC", "nonce": "n", "ciphertext": "c", "associated_data": ""}}',
    ],
    ids=["not-json", "no-resource", "unknown-algorithm"],
)
def test_a_signed_notification_that_is_not_one_is_rejected_as_malformed(keys: KeySet, body: str) -> None:
    platform = WeChatPayPlatform(config(keys, "http://127.0.0.1:9"))
    now = datetime.now(UTC)
    with pytest.raises(NotificationRejected) as rejected:
        platform.parse_notification(signed_by_the_platform(keys, body, now), body.encode(), now)
    assert rejected.value.reason is RejectReason.malformed


def test_a_notification_naming_another_key_is_rejected_without_asking_the_gateway(keys: KeySet) -> None:
    platform = WeChatPayPlatform(config(keys, "http://127.0.0.1:9"))  # nothing listens: a request would fail
    now = datetime.now(UTC)
    headers = signed_by_the_platform(keys, "{}", now) | {
        "Wechatpay-Serial": "5157F09EFDC096DE15EBE81A47057A72"
    }
    with pytest.raises(NotificationRejected) as rejected:
        platform.parse_notification(headers, b"{}", now)
    assert (rejected.value.reason, rejected.value.detail) == (
        RejectReason.bad_signature,
        "signed with an unknown key",
    )
