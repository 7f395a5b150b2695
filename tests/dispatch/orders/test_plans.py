"""Recurring plans over a simulated month and a half on the fake clock: exactly the right orders, each
once, on the right Shanghai day and hour (07:00 in Shanghai is the previous day in UTC), at month ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.localtime import LOCAL_TZ, local_date
from dispatch.orders.models import ServiceOrder
from tests.factories import elder_payload, operator_headers

FIRST_DAY = date(2026, 3, 2)  # the fake clock starts on this Monday at 09:00 in Shanghai
LAST_RUN = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # Friday 1 May, 09:00 in Shanghai
HORIZON = 2  # DISPATCH_PLAN_HORIZON_DAYS


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def test_plans_make_exactly_the_right_orders_over_the_weeks(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    plans = {
        "lunch": {
            "service_type": "meal_assistance",
            "frequency": "weekly",
            "weekdays": [1, 2, 3, 4, 5],
            "start_time": "11:00",
            "end_time": "12:00",
            "starts_on": "2026-03-02",
        },
        "saturday_bath": {
            "service_type": "bathing",
            "frequency": "weekly",
            "weekdays": [6],
            "start_time": "09:00",
            "end_time": "10:00",
            "starts_on": "2026-03-01",
            "ends_on": "2026-03-21",
        },
        "month_end_clean": {
            "service_type": "cleaning",
            "frequency": "monthly",
            "month_days": [31],
            "start_time": "07:00",
            "end_time": "08:30",
            "starts_on": "2026-03-01",
        },
    }
    plan_ids: dict[int, str] = {}
    for name, body in plans.items():
        response = await client.post(
            "/api/v1/recurring-plans", json={"elder_id": elder["id"], **body}, headers=agent
        )
        assert response.status_code == 201, response.text
        plan_ids[response.json()["id"]] = name

    while clock.now() <= LAST_RUN:  # the desk's timer, twice a day
        await app_services.desk.run_once()
        clock.advance(12 * 3600)

    async with app_services.sessions() as session:
        orders = list(await session.scalars(select(ServiceOrder).order_by(ServiceOrder.window_start)))
    made = sorted(
        (plan_ids[o.plan_id], o.window_start.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"))  # type: ignore[index]
        for o in orders
    )
    last_day = local_date(LAST_RUN) + timedelta(days=HORIZON)  # Sunday 3 May
    expected = sorted(
        [("lunch", f"{d} 11:00") for d in days(FIRST_DAY, last_day) if d.weekday() < 5]
        + [("saturday_bath", f"{d} 09:00") for d in (date(2026, 3, 7), date(2026, 3, 14), date(2026, 3, 21))]
        + [("month_end_clean", "2026-03-31 07:00"), ("month_end_clean", "2026-04-30 07:00")]
    )
    assert made == expected
    assert len([m for m in made if m[0] == "lunch"]) == 45
    month_end = [o for o in orders if plan_ids[o.plan_id or 0] == "month_end_clean"]
    assert month_end[0].window_start == datetime(2026, 3, 30, 23, 0, tzinfo=UTC)  # the day before, in UTC
    assert month_end[0].window_end == datetime(2026, 3, 31, 0, 30, tzinfo=UTC)
    assert {o.source.value for o in orders} == {"plan"}
    listed = (
        await client.get(
            "/api/v1/recurring-plans", headers=await operator_headers(app_services, client, Role.agent)
        )
    ).json()
    assert {p["generated_until"] for p in listed["items"]} == {"2026-05-03"}


async def test_a_stopped_plan_makes_no_more_orders(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    body = {
        "elder_id": elder["id"],
        "service_type": "meal_assistance",
        "frequency": "weekly",
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "start_time": "11:00",
        "end_time": "12:00",
        "starts_on": "2026-03-02",
    }
    plan = (await client.post("/api/v1/recurring-plans", json=body, headers=agent)).json()
    assert (await app_services.desk.run_once())["plan_orders"] == 3  # today, tomorrow, the day after
    stopped = await client.post(f"/api/v1/recurring-plans/{plan['id']}/stop", headers=agent)
    assert stopped.json()["active"] is False
    clock.advance(5 * 24 * 3600)
    agent = await operator_headers(app_services, client, Role.agent)
    assert (await app_services.desk.run_once())["plan_orders"] == 0
    orders = (
        await client.get("/api/v1/service-orders", params={"elder_id": elder["id"]}, headers=agent)
    ).json()
    assert orders["total"] == 3


async def test_a_plan_needs_its_days(client: httpx.AsyncClient, app_services: AppServices) -> None:
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    body = {
        "elder_id": 1,
        "service_type": "meal_assistance",
        "frequency": "weekly",
        "weekdays": [],
        "start_time": "11:00",
        "end_time": "12:00",
        "starts_on": "2026-03-02",
    }
    response = await client.post("/api/v1/recurring-plans", json=body, headers=agent)
    assert response.status_code == 422
    assert "a weekly plan needs weekdays" in response.text
