"""The simulated hotline callers: a seeded plan, and calls placed through a running fake Twilio."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import httpx
import pytest

from simulators.fake_twilio import FakeTwilio
from simulators.hotline_callers import MENU_CHOICES, HotlineCallers, PlannedCall, next_gap_s, plan_call

NUMBERS = ["+8613800138000", "+8615800000001", "+8613700000002"]


def test_the_plan_is_seeded_and_mostly_presses_nothing() -> None:
    first = [plan_call(random.Random(7), NUMBERS) for _ in range(3)]
    again = [plan_call(random.Random(7), NUMBERS) for _ in range(3)]
    assert first == again
    rng = random.Random(1)
    plans = [plan_call(rng, NUMBERS) for _ in range(1000)]
    pressed = Counter(plan.digits for plan in plans)
    assert set(pressed) == set(MENU_CHOICES)
    assert pressed[""] == max(pressed.values())  # no key is the most common answer
    assert {plan.sender for plan in plans} == set(NUMBERS)
    waits = [plan.hangup_after_s for plan in plans if plan.hangup_after_s is not None]
    assert 0 < len(waits) < len(plans)
    assert all(60 <= wait <= 300 for wait in waits)


def test_the_gaps_average_the_rate() -> None:
    rng = random.Random(3)
    gaps = [next_gap_s(rng, 6) for _ in range(5000)]
    assert 540 < sum(gaps) / len(gaps) < 660  # six an hour: ten minutes apart on average


def test_it_refuses_nonsense() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(ValueError, match="no numbers"):
        HotlineCallers(client, [])
    with pytest.raises(ValueError, match="per_hour"):
        HotlineCallers(client, NUMBERS, per_hour=0)


async def test_calls_reach_the_fake_and_its_voice_webhook() -> None:
    async with FakeTwilio(voice_number="+8659112349", voice_ms_per_second=1) as fake:
        async with httpx.AsyncClient(base_url=fake.base_url, timeout=5) as client:
            callers = HotlineCallers(client, NUMBERS, per_hour=360_000, seed=5)  # ten a second
            running = asyncio.create_task(callers.run())
            async with asyncio.timeout(5):
                while len(callers.placed) < 3:  # noqa: ASYNC110 - the callers run in this loop
                    await asyncio.sleep(0.01)
            running.cancel()
            refused = await callers.place(PlannedCall("", "", None))
        calls = [await fake.wait_for_call(sid, "failed") for sid in callers.placed]
    assert refused is None
    assert all(call.to == "+8659112349" and call.sender in NUMBERS for call in calls)
    assert all((call.direction, call.status) == ("inbound", "failed") for call in calls)
    # no voice webhook configured: Twilio could not get TwiML, the call fails
    assert all("error: no voice webhook URL is configured" in call.executed for call in calls)
