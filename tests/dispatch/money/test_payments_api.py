"""Money through the API on both databases: an accepted order is split by the policy and the elder is told;
its evidence charges it once; self-pay is taken at the desk; refunds need a supervisor above the limit and
come out of the provider once the service was charged; the ledger check is for supervisors and stays
balanced; a top-up beyond the cap is refused."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select, update

from dispatch.alerts.models import Alert
from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.clock import FakeClock
from dispatch.ledger.models import LedgerBalance
from dispatch.payments import charges
from tests.dispatch.offers.test_offers import reply
from tests.dispatch.orders.test_orders import cleaner, outbox_to, tomorrow
from tests.factories import elder_payload

CLEANER = "+8613900000041"
ELDER_PHONE = "+8613905910041"


async def accepted_order(
    client: httpx.AsyncClient,
    agent: dict[str, str],
    supervisor: dict[str, str],
    clock: FakeClock,
    **elder: Any,
) -> dict[str, Any]:
    """An 80+ elder (5,000 fen a month, half of each price) whose 80-yuan cleaning a provider took."""
    await cleaner(client, supervisor, "洁家保洁", CLEANER)
    body = elder_payload(**({"phone": ELDER_PHONE[3:], "subsidy_categories": ["aged_80_plus"]} | elder))
    created = (await client.post("/api/v1/elders", json=body, headers=agent)).json()
    order = (
        await client.post(
            "/api/v1/service-orders",
            json={"elder_id": created["id"], "service_type": "cleaning", **tomorrow(clock)},
            headers=agent,
        )
    ).json()
    [offer] = await outbox_to(client, agent, CLEANER)
    code = re.search(r"接 (\d{4})", offer)
    assert code is not None
    await reply(client, agent, CLEANER, f"接 {code[1]}")
    accepted: dict[str, Any] = (
        await client.get(f"/api/v1/service-orders/{order['id']}", headers=agent)
    ).json()
    return accepted


async def evidence(app_services: AppServices, clock: FakeClock, order_id: int) -> bool:
    async with app_services.sessions() as session:
        txn = await charges.on_evidenced(
            session=session, clock=clock, order_id=order_id, actor=Actor.system()
        )
        await session.commit()
    return txn is not None


async def test_an_accepted_order_is_split_by_the_policy_and_the_elder_is_told(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order = await accepted_order(client, agent, supervisor, clock)
    assert (
        order["price_cents"],
        order["subsidy_cents"],
        order["self_pay_cents"],
        order["payment_method"],
    ) == (
        8000,
        4000,
        4000,
        "mixed",
    )
    [told] = await outbox_to(client, agent, ELDER_PHONE)
    assert "洁家保洁" in told
    assert "03-03 09:00-11:00" in told
    assert "费用80.00元，其中政府补贴40.00元，自付40.00元" in told


async def test_an_evidenced_order_is_charged_once_and_its_self_pay_taken_in_cash(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    order = await accepted_order(client, agent, supervisor, clock)
    elder_url = f"/api/v1/elders/{order['elder_id']}/allowance"
    before = (await client.get(elder_url, headers=agent)).json()
    assert (before["entitled_by"], before["monthly_fen"], before["left_fen"], before["spent_fen"]) == (
        "category:aged_80_plus",
        5000,
        5000,
        0,
    )
    assert await evidence(app_services, clock, order["id"])
    assert not await evidence(app_services, clock, order["id"])  # once
    after = (await client.get(elder_url, headers=agent)).json()
    assert (after["left_fen"], after["spent_fen"], after["prepaid_fen"]) == (
        1000,
        4000,
        -4000,
    )  # owes 40 yuan

    paid = await client.post(
        f"/api/v1/service-orders/{order['id']}/payments", json={"method": "cash"}, headers=agent
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["state"], paid.json()["amount_fen"]) == ("paid", 4000)
    again = await client.post(
        f"/api/v1/service-orders/{order['id']}/payments", json={"method": "cash"}, headers=agent
    )
    assert (again.status_code, again.json()["reason"]) == (409, "payment_nothing_due")
    assert (await client.get(elder_url, headers=agent)).json()["prepaid_fen"] == 0

    check = await client.get("/api/v1/ledger/check", headers=supervisor)
    assert check.json()["balanced"] is True
    assert (check.json()["transactions"], check.json()["unbalanced_txn_ids"]) == (
        3,
        [],
    )  # grant, charge, payment
    assert (await client.get("/api/v1/ledger/check", headers=agent)).status_code == 403


async def test_a_refund_above_the_limit_needs_a_supervisor_and_a_charged_service_s_comes_from_the_provider(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    order = await accepted_order(client, agent, supervisor, clock)
    await evidence(app_services, clock, order["id"])
    payment = (
        await client.post(
            f"/api/v1/service-orders/{order['id']}/payments", json={"method": "cash"}, headers=agent
        )
    ).json()
    url = f"/api/v1/payments/{payment['id']}/refunds"
    large = await client.post(
        url, json={"amount_fen": 3000, "reason": "投诉成立"}, headers=agent
    )  # limit 5,000
    assert large.status_code == 201, large.text
    too_large = await client.post(url, json={"amount_fen": 1001, "reason": "再退"}, headers=agent)
    assert (too_large.status_code, too_large.json()["reason"]) == (422, "refund_too_much")
    refunded = large.json()
    assert (refunded["state"], refunded["from_provider"]) == ("succeeded", True)
    listed = (await client.get("/api/v1/payments", params={"order_id": order["id"]}, headers=agent)).json()
    assert [(p["amount_fen"], p["refunded_fen"]) for p in listed["items"]] == [(4000, 3000)]
    async with app_services.sessions() as session:
        owed = await session.get(LedgerBalance, f"payable:{order['provider_id']}")
        assert owed is not None
        assert owed.balance_fen == -8000 + 3000

    after_refund = await client.post(
        f"/api/v1/service-orders/{order['id']}/payments", json={"method": "cash"}, headers=agent
    )
    assert (after_refund.status_code, after_refund.json()["reason"]) == (409, "payment_nothing_due")
    body = elder_payload(subsidy_categories=[])
    other = (await client.post("/api/v1/elders", json=body, headers=agent)).json()
    top_up = await client.post(
        f"/api/v1/elders/{other['id']}/payments", json={"method": "cash", "amount_fen": 10_000}, headers=agent
    )
    assert (top_up.status_code, top_up.json()["reason"]) == (
        422,
        "prepaid_over_cap",
    )  # no plans: no prepaying


async def test_a_supervisor_refunds_above_the_limit_and_an_agent_may_not(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order = await accepted_order(client, agent, supervisor, clock, subsidy_categories=[])
    payment = (
        await client.post(
            f"/api/v1/service-orders/{order['id']}/payments", json={"method": "cash"}, headers=agent
        )
    ).json()
    assert payment["amount_fen"] == 8000  # no allowance: all self-pay, paid before the service
    url = f"/api/v1/payments/{payment['id']}/refunds"
    refused = await client.post(url, json={"amount_fen": 8000, "reason": "取消服务"}, headers=agent)
    assert (refused.status_code, refused.json()["reason"]) == (403, "refund_needs_supervisor")
    done = await client.post(url, json={"amount_fen": 8000, "reason": "取消服务"}, headers=supervisor)
    assert (done.status_code, done.json()["from_provider"]) == (
        201,
        False,
    )  # not charged: from the elder's money
    allowance = (await client.get(f"/api/v1/elders/{order['elder_id']}/allowance", headers=agent)).json()
    assert allowance["prepaid_fen"] == 0


async def test_an_order_nobody_has_priced_cannot_be_paid(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str]
) -> None:
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    order = (
        await client.post(
            "/api/v1/service-orders",
            json={"elder_id": elder["id"], "service_type": "cleaning", **tomorrow(clock)},
            headers=agent,
        )
    ).json()
    paid = await client.post(
        f"/api/v1/service-orders/{order['id']}/payments", json={"method": "cash"}, headers=agent
    )
    assert (paid.status_code, paid.json()["reason"]) == (409, "payment_no_price")


async def test_the_daily_check_alerts_the_supervisors_once_when_a_balance_was_tampered_with(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    order = await accepted_order(client, agent, supervisor, clock)
    await evidence(app_services, clock, order["id"])
    assert (await app_services.desk.run_once())["ledger_checked"] == 0
    async with app_services.sessions() as session:
        await session.execute(
            update(LedgerBalance)
            .where(LedgerBalance.account == "budget")
            .values(balance_fen=LedgerBalance.balance_fen + 1)
        )
        await session.commit()
    clock.advance(86_400)
    assert (await app_services.desk.run_once())["ledger_checked"] == 1
    assert "ledger_checked" not in await app_services.desk.run_once()  # not due again for a day
    clock.advance(86_400)
    assert (await app_services.desk.run_once())["ledger_checked"] == 1
    async with app_services.sessions() as session:
        kinds = (await session.scalars(select(Alert.kind).where(Alert.kind == "ledger_unbalanced"))).all()
    assert kinds == ["ledger_unbalanced"]  # still unacknowledged: not raised twice
