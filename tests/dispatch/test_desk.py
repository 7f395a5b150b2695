"""The service desk's timer: every step on the first tick, the slow ones (reading every elder or every offer)
at most every quarter of an hour, the others on every tick."""

from __future__ import annotations

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.desk import processor
from dispatch.desk.processor import SLOW_STEP_INTERVALS
from tests.factories import elder_payload

EVERY_TICK = {
    "plan_orders",
    "orders_dispatched",
    "orders_escalated",
    "follow_ups_created",
    "care_calls_escalated",
    "complaints_escalated",
    "assessments_overdue",
    "payments_closed",
}


async def test_slow_steps_run_at_most_every_interval_and_the_rest_every_tick(
    app_services: AppServices, clock: FakeClock
) -> None:
    start = clock.monotonic()
    first = await app_services.desk.run_once()
    assert set(first) == EVERY_TICK | set(SLOW_STEP_INTERVALS)
    assert all(done == 0 for done in first.values())  # an empty database: nothing to do, and no step failed
    clock.advance(30)
    assert set(await app_services.desk.run_once()) == EVERY_TICK
    for elapsed in sorted(set(SLOW_STEP_INTERVALS.values())):  # each slow step again once its interval is up
        clock.advance(elapsed - clock.monotonic() + start)
        due = {name for name, interval in SLOW_STEP_INTERVALS.items() if elapsed % interval == 0}
        assert set(await app_services.desk.run_once()) == EVERY_TICK | due, elapsed


async def test_care_calls_planned_in_one_read_are_stored_in_batches(
    client: httpx.AsyncClient,
    app_services: AppServices,
    agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(processor, "CARE_CALL_BATCH", 2)
    for n in range(5):
        created = await client.post(
            "/api/v1/elders",
            json=elder_payload(living_alone=n % 2 == 0, subsidy_categories=[]),
            headers=agent,
        )
        assert created.status_code == 201
    assert await app_services.desk.schedule_care_calls() == 5
    calls = (await client.get("/api/v1/care-calls", params={"limit": 50}, headers=agent)).json()["items"]
    assert sorted(c["cadence"] for c in calls) == ["monthly"] * 2 + ["weekly"] * 3
    assert {c["operator_name"] for c in calls} == {"agent1"}
    assert await app_services.desk.schedule_care_calls() == 0
