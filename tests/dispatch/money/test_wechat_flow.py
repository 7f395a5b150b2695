"""Online self-pay end to end over real sockets, through wechatpayv3 and the fake WeChat Pay, on both
databases: a QR payment for an order, the fake "pays", its signed and encrypted notification marks the
payment paid once; a replayed, a tampered and a stale notification change nothing; a partial refund is
finished by the refund notification; an unpaid payment is closed after its deadline; the next day's
reconciliation catches a mismatch injected into the platform's bill.

The fake signs with the real time (as the SDK does), so the app's clock starts at the real time too."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch.alerts.models import Alert
from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.ledger.models import LedgerTxn
from dispatch.localtime import at_local, local_date
from dispatch.payments.models import PlatformNotification
from dispatch.settings import Settings
from simulators.fake_twilio import LocalServer
from simulators.fake_wechatpay.keys import generate_keys
from simulators.fake_wechatpay.server import FakeWeChatPay
from tests.dispatch.conftest import eventually
from tests.dispatch.orders.test_orders import cleaner, outbox_to, tomorrow
from tests.factories import elder_payload, login, make_operator
from tests.test_cli import free_port

pytestmark = pytest.mark.slow
CLEANER = "+8613900000051"


@dataclass
class Shop:
    client: httpx.AsyncClient
    services: AppServices
    fake: FakeWeChatPay
    clock: FakeClock
    agent: dict[str, str]
    supervisor: dict[str, str]


@pytest.fixture
async def shop(db_settings: Settings, tmp_path: Path) -> AsyncIterator[Shop]:
    keys = generate_keys()
    clock = FakeClock(datetime.now(UTC))
    async with FakeWeChatPay(keys, notify_retry_delays_s=(0.05, 0.1), refund_delay_s=0.01) as fake:
        port = free_port()
        settings = db_settings.model_copy(
            update={"public_base_url": f"http://127.0.0.1:{port}", "watch_port": 0}
            | keys.settings_update(tmp_path / "wechatpay", fake.base_url)
        )
        app = create_app(settings, clock=clock)
        server = LocalServer(app, port=port)
        base = await server.start()
        services: AppServices = app.state.services
        try:
            async with httpx.AsyncClient(base_url=base) as client:
                await make_operator(services, "agent1", Role.agent)
                await make_operator(services, "supervisor", Role.supervisor)
                agent, supervisor = await login(client, "agent1"), await login(client, "supervisor")
                client.cookies.clear()
                yield Shop(client, services, fake, clock, agent, supervisor)
        finally:
            await server.stop()


async def priced_order(shop: Shop) -> dict[str, Any]:
    """An elder with no allowance, whose 80-yuan cleaning a provider took: all 8,000 fen self-pay."""
    client, agent = shop.client, shop.agent
    if not await outbox_to(client, agent, CLEANER):
        await cleaner(client, shop.supervisor, "洁家保洁", CLEANER)
    elder = (
        await client.post("/api/v1/elders", json=elder_payload(subsidy_categories=[]), headers=agent)
    ).json()
    body = {"elder_id": elder["id"], "service_type": "cleaning", **tomorrow(shop.clock)}
    order = (await client.post("/api/v1/service-orders", json=body, headers=agent)).json()
    code = re.search(r"接 (\d{4})", (await outbox_to(client, agent, CLEANER))[-1])
    assert code is not None
    accepted = await client.post(
        "/api/v1/sms/replies", json={"from": CLEANER, "body": f"接 {code[1]}"}, headers=agent
    )
    assert accepted.status_code == 201, accepted.text
    return dict(order)


async def payment_of(shop: Shop, payment_id: int) -> dict[str, Any]:
    listed = (await shop.client.get("/api/v1/payments", headers=shop.agent)).json()["items"]
    return dict(next(p for p in listed if p["id"] == payment_id))


async def counted(shop: Shop, model: type[Any]) -> int:
    async with shop.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_qr_payment_is_paid_once_by_its_notification_and_forged_ones_change_nothing(
    shop: Shop,
) -> None:
    order = await priced_order(shop)
    opened = await shop.client.post(
        f"/api/v1/service-orders/{order['id']}/payments", json={"method": "wechat"}, headers=shop.agent
    )
    assert opened.status_code == 201, opened.text
    payment = opened.json()
    assert (payment["state"], payment["amount_fen"], payment["code_url"].startswith("weixin://")) == (
        "pending",
        8000,
        True,
    )
    texted = await shop.client.post(f"/api/v1/payments/{payment['id']}/send-link", headers=shop.agent)
    assert (texted.status_code, texted.json()["to"]) == (201, "138****0001"), texted.text  # the son
    [link] = await outbox_to(shop.client, shop.agent, "+8613800000001")
    assert payment["code_url"] in link
    assert "80.00元" in link
    sent = shop.fake.pay(payment["out_trade_no"])
    paid = await eventually(lambda: _state_is(shop, payment["id"], "paid"))
    assert paid["paid_at"] is not None
    assert await eventually(lambda: _delivered(sent))
    txns = await counted(shop, LedgerTxn)

    for variant, answer in (("replay", 200), ("tampered", 401), ("stale", 401)):
        again = await shop.fake.resend(sent.id, variant)
        assert await eventually(functools.partial(_answered, again)) == answer, variant
    assert await counted(shop, LedgerTxn) == txns  # nothing more was booked
    assert await counted(shop, PlatformNotification) == 1

    refund = await shop.client.post(
        f"/api/v1/payments/{payment['id']}/refunds",
        json={"amount_fen": 3000, "reason": "少做一项"},
        headers=shop.agent,
    )
    assert (refund.status_code, refund.json()["state"]) == (201, "pending"), refund.text
    assert await eventually(lambda: _refund_done(shop, payment["id"]))
    assert (await payment_of(shop, payment["id"]))["refunded_fen"] == 3000
    check = (await shop.client.get("/api/v1/ledger/check", headers=shop.supervisor)).json()
    assert check["balanced"] is True


async def test_an_unpaid_payment_is_closed_after_its_deadline_and_a_bill_mismatch_is_caught(
    shop: Shop,
) -> None:
    paid_order, unpaid_order = await priced_order(shop), await priced_order(shop)
    url = "/api/v1/service-orders/{}/payments"
    paid = (
        await shop.client.post(url.format(paid_order["id"]), json={"method": "wechat"}, headers=shop.agent)
    ).json()
    unpaid = (
        await shop.client.post(url.format(unpaid_order["id"]), json={"method": "wechat"}, headers=shop.agent)
    ).json()
    shop.fake.pay(paid["out_trade_no"])
    await eventually(lambda: _state_is(shop, paid["id"], "paid"))

    shop.clock.advance(31 * 60)  # the default deadline is 30 minutes
    assert (await shop.services.desk.run_once())["payments_closed"] == 1
    assert shop.fake.trades[unpaid["out_trade_no"]].state == "CLOSED"
    shop.agent = await login(shop.client, "agent1")
    assert (await payment_of(shop, unpaid["id"]))["state"] == "closed"

    today = local_date(datetime.now(UTC))
    shop.fake.add_mismatch(today, "amount", paid["out_trade_no"], 7900)
    next_morning = at_local(today + timedelta(days=1), "10:00")  # the bill is ready the next morning
    shop.clock.advance((next_morning - shop.clock.now()).total_seconds())
    assert (await shop.services.desk.run_once())["payments_reconciled"] == 1
    async with shop.services.sessions() as session:
        [alert] = (await session.scalars(select(Alert).where(Alert.kind == "reconciliation_mismatch"))).all()
    [mismatch] = alert.detail["mismatches"]
    assert (mismatch["number"], mismatch["platform_fen"], mismatch["ledger_fen"]) == (
        paid["out_trade_no"],
        7900,
        8000,
    )
    assert "payments_reconciled" not in await shop.services.desk.run_once()  # hourly; and each day once


async def _state_is(shop: Shop, payment_id: int, state: str) -> dict[str, Any] | None:
    payment = await payment_of(shop, payment_id)
    return payment if payment["state"] == state else None


async def _answered(sent: Any) -> int | str | None:
    return sent.answers[0] if sent.answers else None


async def _delivered(sent: Any) -> bool:
    return bool(sent.delivered)


async def _refund_done(shop: Shop, payment_id: int) -> bool:
    async with shop.services.sessions() as session:
        kinds = (
            await session.scalars(select(LedgerTxn.kind).where(LedgerTxn.payment_id == payment_id))
        ).all()
    return "refund" in kinds
