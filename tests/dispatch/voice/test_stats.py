"""Service-level figures over a scripted hour on the fake clock, computed by the database and checked
against figures worked out by hand; the API's window and roles; the Prometheus gauges."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.api.state import AppServices
from dispatch.auth.models import Operator, Role
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.voice import stats
from dispatch.voice.models import (
    AgentPresence,
    AgentState,
    Direction,
    PhoneCallState,
    PhoneOutcome,
)
from tests.conftest import START
from tests.dispatch.voice.phone_calls import add_phone_call
from tests.factories import operator_headers

HOUR = 3600


async def answered(session: AsyncSession, *, queued: int, wait: int, talk: int, **overrides: object) -> None:
    """An inbound call queued `queued` s into the hour, answered after `wait` s, talked `talk` s."""
    at = START + timedelta(seconds=queued)
    await add_phone_call(
        session,
        at=at,
        **{
            "outcome": PhoneOutcome.answered,
            "queued_at": at,
            "offered_at": at,
            "answered_at": at + timedelta(seconds=wait),
            "ended_at": at + timedelta(seconds=wait + talk),
            "talk_seconds": talk,
            **overrides,
        },
    )


async def abandoned(session: AsyncSession, *, queued: int, after: int) -> None:
    at = START + timedelta(seconds=queued)
    await add_phone_call(
        session, at=at, outcome=PhoneOutcome.abandoned, queued_at=at, ended_at=at + timedelta(seconds=after)
    )


async def waiting(session: AsyncSession, *, queued: int, state: PhoneCallState) -> None:
    at = START + timedelta(seconds=queued)
    await add_phone_call(session, at=at, state=state, queued_at=at)


async def agents(session: AsyncSession, states: list[AgentState]) -> None:
    for number, state in enumerate(states, start=1):
        operator = Operator(
            username=f"seat{number}",
            display_name=f"seat{number}",
            role=Role.agent,
            password_hash="-",
            active=True,
            created_at=START,
            updated_at=START,
        )
        session.add(operator)
        await session.flush()
        session.add(AgentPresence(operator_id=operator.id, state=state, since=START, updated_at=START))
    await session.flush()


async def script_the_hour(session: AsyncSession) -> None:
    """09:00-10:00 Shanghai (01:00-02:00 UTC): nine inbound calls reach the queue, and a few that do not
    count."""
    await answered(session, queued=0, wait=10, talk=120)
    await answered(session, queued=60, wait=45, talk=300)
    await answered(session, queued=120, wait=90, talk=200)
    await answered(session, queued=300, wait=200, talk=100)
    await abandoned(session, queued=600, after=40)
    await answered(session, queued=900, wait=20, talk=80)  # exactly 20 s: within 20 s
    await abandoned(session, queued=1200, after=100)
    await waiting(session, queued=3300, state=PhoneCallState.queued)
    await waiting(session, queued=3500, state=PhoneCallState.ringing)  # an agent's phone rings; still waiting
    # Not counted: queued before the hour, at its end, an outbound call, a call logged by hand.
    await answered(session, queued=-60, wait=5, talk=999)
    await answered(session, queued=HOUR, wait=5, talk=999)
    await answered(session, queued=30, wait=5, talk=999, direction=Direction.outbound)
    await add_phone_call(session, at=START, outcome=PhoneOutcome.answered, by_hand=True, talk_seconds=999)
    await agents(session, [AgentState.ready, AgentState.on_call, AgentState.wrap_up, AgentState.away])


async def test_the_figures_of_a_scripted_hour_equal_the_hand_computed_ones(
    session: AsyncSession, clock: FakeClock
) -> None:
    await script_the_hour(session)
    clock.advance(HOUR)

    figures = await stats.voice_stats(
        session=session,
        clock=clock,
        since=START,
        until=START + timedelta(seconds=HOUR),
        wrap_up_seconds=30,
    )

    # By hand: offered = calls 1-9 = 9; answered = waits 10, 45, 90, 200, 20 = 5; abandoned = 2.
    # Within 20 s: waits 10, 20 -> 2 (22.2 %); within 60 s: 10, 45, 20 -> 3 (33.3 %);
    # within 180 s: 10, 45, 90, 20 -> 4 (44.4 %).
    # Waiting now: queued at 3300 s and 3500 s; the clock is at 3600 s -> longest 300 s.
    # Handle: talk (120 + 300 + 200 + 100 + 80) / 5 = 160 s, plus 30 s wrap-up = 190 s.
    assert {k: v for k, v in figures.items() if k not in ("since", "until")} == {
        "offered": 9,
        "answered": 5,
        "abandoned": 2,
        "waiting_now": 2,
        "longest_wait_s": 300,
        "answered_within_20s": 2,
        "answered_within_60s": 3,
        "answered_within_180s": 4,
        "answered_within_20s_pct": 22.2,
        "answered_within_60s_pct": 33.3,
        "answered_within_180s_pct": 44.4,
        "average_handle_s": 190.0,
        "wrap_up_s": 30,
        "agents_by_state": {"offline": 0, "ready": 1, "ringing": 0, "on_call": 1, "wrap_up": 1, "away": 1},
    }


async def test_an_empty_window_has_no_percentages(session: AsyncSession, clock: FakeClock) -> None:
    figures = await stats.voice_stats(
        session=session, clock=clock, since=START, until=START + timedelta(hours=1), wrap_up_seconds=30
    )

    assert (figures["offered"], figures["answered_within_60s_pct"], figures["average_handle_s"]) == (
        0,
        None,
        None,
    )
    assert figures["longest_wait_s"] == 0


def test_today_is_the_shanghai_day() -> None:
    # 2026-03-02 01:00 UTC is 09:00 in Shanghai: the day runs from 16:00 UTC the evening before.
    since, until = stats.today_window(START)

    assert (since.isoformat(), until.isoformat()) == (
        "2026-03-01T16:00:00+00:00",
        "2026-03-02T16:00:00+00:00",
    )


async def test_the_api_gives_supervisors_todays_figures_and_refuses_a_backwards_window(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    async with unit_of_work(app_services.sessions) as session:
        await script_the_hour(session)
    clock.advance(HOUR)

    today = await client.get("/api/v1/voice/stats", headers=supervisor)
    hour = await client.get(
        "/api/v1/voice/stats",
        params={"since": START.isoformat(), "until": (START + timedelta(minutes=10)).isoformat()},
        headers=supervisor,
    )
    backwards = await client.get(
        "/api/v1/voice/stats",
        params={"since": START.isoformat(), "until": START.isoformat()},
        headers=supervisor,
    )
    as_agent = await client.get("/api/v1/voice/stats", headers=agent)  # agents see their service levels too

    assert today.status_code == 200, today.text
    # The whole Shanghai day holds the hour and the two calls just outside it (before it, at its end).
    assert (today.json()["offered"], today.json()["answered"]) == (11, 7)
    # The first ten minutes: calls queued at 0, 60, 120, 300 s (600 s is the end, not in it).
    assert (hour.json()["offered"], hour.json()["answered_within_60s"]) == (4, 2)
    assert (backwards.status_code, as_agent.status_code) == (422, 200)
    assert as_agent.json()["offered"] == today.json()["offered"]


async def test_metrics_carry_the_voice_gauges(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    async with unit_of_work(app_services.sessions) as session:
        await script_the_hour(session)
    clock.advance(HOUR)

    text = (await client.get("/metrics")).text

    assert "dispatch_voice_calls_waiting 2.0" in text
    assert "dispatch_voice_longest_wait_seconds 300.0" in text
    assert 'dispatch_voice_calls_today{kind="offered"} 11.0' in text
    assert 'dispatch_voice_agents{state="ready"} 1.0' in text
    assert 'dispatch_voice_recordings{state="stored"} 0.0' in text
