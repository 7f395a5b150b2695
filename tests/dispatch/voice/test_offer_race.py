"""An agent's phone that answers before the server has stored its ring (an auto-answering headset, a busy
server): the answer stands and the leg is not hung up as stale; a leg of another ring still is."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.clock import FakeClock
from dispatch.settings import Settings
from dispatch.voice import service
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import AgentState, PhoneCallState
from tests.dispatch.voice.conftest import call_in, make_agent, reload, state_of
from tests.dispatch.voice.test_service import report

Sessions = async_sessionmaker[AsyncSession]


async def rung(sessions: Sessions, phone_call_id: int, operator_id: int, sid: str) -> bool:
    async with sessions() as session:
        kept = await service.offer_rung(
            session=session, phone_call_id=phone_call_id, operator_id=operator_id, sid=sid
        )
        await session.commit()
        return kept


async def test_an_answer_reported_before_the_ring_is_stored_keeps_the_call(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "quick")
    waiting = await call_in(sessions, clock, "CA-caller", "+8613700000001", digits="3")
    async with sessions() as session:
        [ring] = await service.make_offers(session=session, clock=clock, offer_seconds=20)
        await session.commit()
    assert (ring.phone_call_id, ring.operator_id) == (waiting.id, agent.id)

    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="agent",
        phone_call_id=waiting.id,
        operator_id=agent.id,
        sid="CA-quick",
        status="in-progress",
    )

    assert await rung(sessions, waiting.id, agent.id, "CA-quick") is True
    assert await rung(sessions, waiting.id, agent.id, "CA-other") is False
    talking = await reload(sessions, waiting.id)
    assert (talking.state, talking.agent_id, talking.agent_leg_sid) == (
        PhoneCallState.talking,
        agent.id,
        "CA-quick",
    )
    assert await state_of(sessions, agent.id) == AgentState.on_call
