"""The service desk's timer: every step on the first tick, the slow ones (reading every elder or every offer)
at most every quarter of an hour, the others on every tick."""

from __future__ import annotations

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.desk.processor import SLOW_STEP_INTERVALS

EVERY_TICK = {
    "plan_orders",
    "orders_dispatched",
    "orders_escalated",
    "follow_ups_created",
    "care_calls_escalated",
    "complaints_escalated",
}


async def test_slow_steps_run_at_most_every_interval_and_the_rest_every_tick(
    app_services: AppServices, clock: FakeClock
) -> None:
    first = await app_services.desk.run_once()
    assert set(first) == EVERY_TICK | set(SLOW_STEP_INTERVALS)
    assert all(done == 0 for done in first.values())  # an empty database: nothing to do, and no step failed
    clock.advance(30)
    assert set(await app_services.desk.run_once()) == EVERY_TICK
    clock.advance(900 - 30)
    assert set(await app_services.desk.run_once()) == EVERY_TICK | set(SLOW_STEP_INTERVALS)
