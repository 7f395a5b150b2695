"""The hotline over real sockets: our server with the real `twilio` client, the fake Twilio playing the
calls (a scripted caller, agents' phones that answer or not, Twilio refusing a request)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Operator, Role
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.settings import Settings
from dispatch.voice.models import AgentPresence, AgentState, PhoneCall, PhoneCallState, PhoneOutcome
from simulators.fake_twilio import FakeTwilio, LocalServer
from simulators.fake_twilio.state import parse_fault
from tests.dispatch.conftest import eventually
from tests.factories import elder_payload, operator_headers
from tests.test_cli import free_port

HOTLINE = "+8659112349"
SCRIPTED_MS_PER_SECOND = 20.0  # the fake's scripted seconds run 50 times faster


@dataclass
class Line:
    base: str
    fake: FakeTwilio
    services: AppServices
    http: httpx.AsyncClient


@pytest.fixture
async def line(db_settings: Settings, clock: FakeClock) -> AsyncIterator[Line]:
    fake = FakeTwilio(status_delay_ms=5, voice_number=HOTLINE, voice_ms_per_second=SCRIPTED_MS_PER_SECOND)
    await fake.start()
    port = free_port()
    settings = db_settings.model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_base_url": fake.base_url,
            "voice_number": HOTLINE,
            "public_base_url": f"http://127.0.0.1:{port}",
            "voice_tick_seconds": 3600.0,
            "watch_port": 0,
        }
    )
    app = create_app(settings, clock=clock)
    server = LocalServer(app, port=port)
    base = await server.start()
    fake.configure_voice(
        voice_webhook_url=f"{base}/webhooks/twilio/voice",
        voice_status_url=f"{base}/webhooks/twilio/voice/status",
    )
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            yield Line(base=base, fake=fake, services=app.state.services, http=http)
    finally:
        await server.stop()
        await fake.stop()


async def seat(line: Line, name: str, phone: str) -> tuple[int, dict[str, str]]:
    """An agent with a desk phone, logged in and ready."""
    headers = await operator_headers(line.services, line.http, Role.agent, name)
    async with unit_of_work(line.services.sessions) as session:
        operator = await session.scalar(select(Operator).where(Operator.username == name))
        assert operator is not None
        operator.phone = phone
        operator_id = operator.id
    ready = await line.http.put("/api/v1/agents/me/state", json={"state": "ready"}, headers=headers)
    assert ready.status_code == 200, ready.text
    return operator_id, headers


async def the_call(line: Line) -> PhoneCall | None:
    async with unit_of_work(line.services.readers) as session:
        return await session.scalar(select(PhoneCall).order_by(PhoneCall.id.desc()).limit(1))


async def agent_state(line: Line, operator_id: int) -> AgentState | None:
    async with unit_of_work(line.services.readers) as session:
        presence = await session.get(AgentPresence, operator_id)
        return presence.state if presence else None


async def test_an_elder_presses_nothing_is_rung_through_to_the_agent_and_hangs_up(line: Line) -> None:
    elder = await line.http.post(
        "/api/v1/elders",
        json=elder_payload(phone="13905910777"),
        headers=await operator_headers(line.services, line.http, Role.agent, "clerk"),
    )
    assert elder.status_code == 201, elder.text
    agent_id, _ = await seat(line, "agent1", "+8659100000001")
    line.fake.set_phones({"+8659100000001": {"answer_after_s": 1}})

    caller = line.fake.place_call(from_="+8613905910777", hangup_after_s=250)  # 5 s real

    async def talking() -> PhoneCall | None:
        call = await the_call(line)
        return call if call is not None and call.state == PhoneCallState.talking else None

    answered = await eventually(talking, within=20)
    assert (answered.elder_id, answered.category.value if answered.category else None, answered.agent_id) == (
        elder.json()["id"],
        "emergency",
        agent_id,
    )
    assert await agent_state(line, agent_id) == AgentState.on_call
    conference = line.fake.voice.state.conference_named(f"pc-{answered.id}")
    assert conference is not None

    await line.fake.wait_for_call(caller.sid, "completed", wait_s=20)

    async def ended() -> PhoneCall | None:
        call = await the_call(line)
        return call if call is not None and call.state == PhoneCallState.ended else None

    done = await eventually(ended, within=20)
    assert done.outcome == PhoneOutcome.answered
    assert await agent_state(line, agent_id) == AgentState.wrap_up


async def test_twilio_refusing_to_ring_the_first_agent_rings_the_next(line: Line, clock: FakeClock) -> None:
    first_id, _ = await seat(line, "first", "+8659100000001")
    clock.advance(1)
    second_id, _ = await seat(line, "second", "+8659100000002")
    line.fake.set_phones({"+8659100000001": {"answer_after_s": 1}, "+8659100000002": {"answer_after_s": 1}})
    line.fake.state.fault = parse_fault({"status": 500, "target": "voice", "count": 1}, line.fake.state.now())

    line.fake.place_call(from_="+8613700000001", digits="3", hangup_after_s=250)

    async def taken() -> PhoneCall | None:
        call = await the_call(line)
        return call if call is not None and call.state == PhoneCallState.talking else None

    answered = await eventually(taken, within=20)
    assert (answered.agent_id, answered.tried_agent_ids) == (second_id, [first_id])
    assert await agent_state(line, first_id) == AgentState.ready
