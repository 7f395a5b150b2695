"""A simulated July 2026 for one district, on both databases, against figures worked out by hand: services
under two policy versions (the 80+ allowance changes on the 16th), one over its service cap, one over what
is left of the allowance, one never evidenced, one refunded after an upheld complaint, and a provider whose
quality score costs it 5 %. The statements, the deductions and payout in the ledger, the statement files
and the bureau's claim all equal the hand computation.

By hand (fen): B is 80+ (July's grant on the 2nd, under the first policy: 5,000 at 50 %; from the 16th 60 %),
A has 低保 (20,000 at 100 %, cleaning capped at 10,000 a month), C has nothing.
  1  07-02 B meal 1,500 (P1)      subsidy   750  self   750   (50 %)             B left 4,250
  2  07-10 B cleaning 8,000 (P2)  subsidy 4,000  self 4,000   (50 %)             B left   250
  3  07-20 B meal 1,500 (P1)      subsidy   250  self 1,250   (60 % = 900 > left)
  4  07-25 B meal 1,500 (P1)      not evidenced: not charged
  5  07-05 A meal 1,500 (P1)      subsidy 1,500
  6  07-18 A cleaning 8,000 (P2)  subsidy 8,000
  7  07-22 A cleaning 8,000 (P2)  subsidy 2,000  self 6,000   (cleaning cap 10,000)
  8  07-08 C cleaning 8,000 (P2)  self 8,000, paid in cash, 3,000 refunded on the 28th (complaint upheld)
P1: 3 services, 4,500 = subsidy 2,500 + self 2,000; score 90: paid in full: 4,500.
P2: 4 services, 32,000 = subsidy 14,000 + self 18,000; refunds 3,000; score 72: 5 % of 29,000 = 1,450;
    one upheld complaint 5,000: 22,550.
Claim for 鼓楼区: 6 subsidised services, 16,500."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook
from pypdf import PdfReader

from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.complaints.models import (
    Complaint,
    ComplaintKind,
    ComplaintSource,
    ComplaintState,
    ComplaintTarget,
)
from dispatch.ledger import posting
from dispatch.localtime import at_local
from dispatch.payments import charges
from dispatch.providers.models import Provider
from tests.dispatch.money.worlds import new_elder, new_provider, priced_order
from tests.factories import login

MEAL, CLEANING = ServiceType.meal_assistance, ServiceType.cleaning
SYSTEM = Actor.system()


async def on_day(clock: FakeClock, day: int, hhmm: str = "12:30") -> None:
    clock.advance((at_local(date(2026, 7, day), hhmm) - clock.now()).total_seconds())


async def serve(
    services: AppServices,
    clock: FakeClock,
    elder: int,
    provider: int,
    service: ServiceType,
    fen: int,
    day: int,
    *,
    evidenced: bool = True,
) -> int:
    await on_day(clock, day)
    async with services.sessions() as session:
        order = await priced_order(
            session,
            clock,
            elder_id=elder,
            provider_id=provider,
            price_fen=fen,
            day=date(2026, 7, day),
            service_type=service,
        )
        if evidenced:
            await charges.on_evidenced(session=session, clock=clock, order_id=order.id, actor=SYSTEM)
        await session.commit()
        return order.id


async def test_a_month_s_statements_and_claim_equal_the_hand_computation(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    clock.advance(
        (datetime.fromisoformat("2026-06-30T16:00:00+00:00") - clock.now()).total_seconds()
    )  # 07-01 00:00
    agent, supervisor = await login(client, "agent1"), await login(client, "supervisor")
    a = (await new_elder(client, agent, subsidy_categories=["minimum_living"]))["id"]
    b = (await new_elder(client, agent, subsidy_categories=["aged_80_plus"]))["id"]
    c = (await new_elder(client, agent, subsidy_categories=[]))["id"]
    p1 = await new_provider(client, supervisor, name="一号助餐")
    p2 = await new_provider(client, supervisor, name="二号保洁")
    async with app_services.sessions() as session:
        for provider_id, rating in ((p1["id"], 4.5), (p2["id"], 3.6)):
            row = await session.get(Provider, provider_id)
            assert row is not None
            row.rating, row.rating_count = rating, 10
        await session.commit()

    s = app_services
    await serve(s, clock, b, p1["id"], MEAL, 1500, 2)
    await serve(s, clock, a, p1["id"], MEAL, 1500, 5)
    c_order = await serve(s, clock, c, p2["id"], CLEANING, 8000, 8)
    await serve(s, clock, b, p2["id"], CLEANING, 8000, 10)
    await serve(s, clock, a, p2["id"], CLEANING, 8000, 18)
    await serve(s, clock, b, p1["id"], MEAL, 1500, 20)
    await serve(s, clock, a, p2["id"], CLEANING, 8000, 22)
    await serve(s, clock, b, p1["id"], MEAL, 1500, 25, evidenced=False)

    await on_day(clock, 27)
    agent, supervisor = await login(client, "agent1"), await login(client, "supervisor")
    paid = await client.post(
        f"/api/v1/service-orders/{c_order}/payments", json={"method": "cash"}, headers=agent
    )
    assert paid.json()["amount_fen"] == 8000
    await on_day(clock, 28)
    supervisor = await login(client, "supervisor")
    refunded = await client.post(
        f"/api/v1/payments/{paid.json()['id']}/refunds",
        json={"amount_fen": 3000, "reason": "投诉属实"},
        headers=supervisor,
    )
    assert refunded.json()["from_provider"] is True
    async with app_services.sessions() as session:
        session.add(upheld_complaint(p2["id"], clock.now()))
        await session.commit()

    await on_day(clock, 31, "23:00")
    clock.advance(2 * 3600)  # August 1st, 07:00 in Shanghai
    supervisor = await login(client, "supervisor")
    drafted = await client.post("/api/v1/settlements/compute", json={"month": "2026-07"}, headers=supervisor)
    assert drafted.status_code == 200, drafted.text
    by_name = {s["provider_name"]: s for s in drafted.json()["items"]}
    assert figures(by_name["一号助餐"]) == (3, 4500, 2500, 2000, 0, 90, 0, 0, 0, 4500)
    assert figures(by_name["二号保洁"]) == (4, 32000, 14000, 18000, 3000, 72, 5, 1450, 5000, 22550)

    statement = by_name["二号保洁"]
    url = f"/api/v1/settlements/{statement['id']}"
    assert (await client.post(f"{url}/paid", headers=supervisor)).status_code == 409  # approve first
    assert (await client.post(f"{url}/approve", headers=supervisor)).json()["state"] == "approved"
    assert (await client.post(f"{url}/approve", headers=supervisor)).status_code == 409
    assert (await client.post(f"{url}/paid", headers=supervisor)).json()["state"] == "paid"
    again = (
        await client.post("/api/v1/settlements/compute", json={"month": "2026-07"}, headers=supervisor)
    ).json()
    assert [s["provider_name"] for s in again["items"]] == ["一号助餐"]  # a paid statement is never redrafted
    async with app_services.sessions() as session:
        assert await posting.balance(session, f"payable:{p2['id']}") == 0  # owed 22,550, paid 22,550
        assert await posting.balance(session, "deductions") == -(1450 + 5000)
    assert (await client.get("/api/v1/ledger/check", headers=supervisor)).json()["balanced"] is True

    sheet = load_workbook(io.BytesIO((await client.get(f"{url}/statement.xlsx", headers=supervisor)).content))
    summary = {row[0]: row[1] for row in sheet["结算汇总"].iter_rows(values_only=True)}
    assert (summary["有效服务次数"], summary["应付金额(元)"], summary["状态"]) == ("4", "225.50", "已支付")
    assert sheet["服务明细"].max_row == 1 + 4
    pdf = PdfReader(io.BytesIO((await client.get(f"{url}/statement.pdf", headers=supervisor)).content))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "二号保洁" in text
    assert "225.50" in text

    claim = await client.get(
        "/api/v1/subsidy-claims/2026-07.xlsx", params={"district": "鼓楼区"}, headers=supervisor
    )
    rows = list(load_workbook(io.BytesIO(claim.content))["补贴申领汇总"].iter_rows(values_only=True))
    assert rows[-1] == ("合计", None, 6, "165.00")
    per_elder = {row[1]: row[3] for row in rows[2:-1]}
    assert sorted(map(str, per_elder.values())) == [
        "115.00",
        "50.00",
    ]  # A: 1,500 + 8,000 + 2,000; B: 750 + 4,000 + 250


def figures(statement: dict[str, Any]) -> tuple[int, ...]:
    keys = (
        "services",
        "gross_fen",
        "subsidy_fen",
        "self_pay_fen",
        "refunds_fen",
        "quality_score",
        "quality_deduction_percent",
        "quality_deduction_fen",
        "complaint_deduction_fen",
        "net_fen",
    )
    return tuple(statement[k] for k in keys)


def upheld_complaint(provider_id: int, now: datetime) -> Complaint:
    return Complaint(
        kind=ComplaintKind.complaint,
        source=ComplaintSource.follow_up,
        target=ComplaintTarget.provider,
        provider_id=provider_id,
        text="卫生间没有打扫",
        state=ComplaintState.resolved,
        due_at=now + timedelta(days=3),
        resolution="属实",
        upheld=True,
        resolved_at=now,
        created_by="supervisor",
        created_at=now,
        updated_at=now,
    )
