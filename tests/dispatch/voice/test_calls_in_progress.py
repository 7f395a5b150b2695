"""A call in progress: a care call's answered outbound call, an elder with an open alarm who hangs up
while waiting, a transfer, hanging up (service layer on both databases, in-memory telephony)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator
from dispatch.calls import service as calls
from dispatch.calls.models import CallEntry, CallSource
from dispatch.calls.rules import CallCategory
from dispatch.carecalls.models import CareAssignee, CareCadence, CareCall, CareCallState, CareChannel
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from dispatch.voice import outbound
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import AgentState, CallbackTask, PhoneCall, PhoneCallState, PhoneOutcome
from tests.dispatch.voice.conftest import (
    TEST,
    call_in,
    count,
    make_agent,
    make_elder,
    reload,
    state_of,
    telephony,
)
from tests.dispatch.voice.test_service import report

Sessions = async_sessionmaker[AsyncSession]


def actor_of(operator: Operator) -> Actor:
    return Actor(operator_id=operator.id, username=operator.username, role=operator.role)


async def answered_call(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, settings: Settings, agent: Operator
) -> tuple[PhoneCall, str]:
    """An inbound call the agent answered; returns it and the agent's leg."""
    waiting = await call_in(sessions, clock, "CA-caller", "+8613700000001", digits="3")
    await desk.route()
    leg = str(telephony(desk).requests[-1][1]["sid"])
    await report(
        desk,
        sessions,
        clock,
        settings,
        leg="agent",
        phone_call_id=waiting.id,
        operator_id=agent.id,
        sid=leg,
        status="in-progress",
    )
    return await reload(sessions, waiting.id), leg


async def test_a_care_calls_answered_call_records_its_duration(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "carer")
    elder_id = await make_elder(sessions, clock)
    async with sessions() as session:
        now = clock.now()
        care_call = CareCall(
            elder_id=elder_id,
            elder_name="测试",
            cadence=CareCadence.weekly,
            period="2026-W10",
            due_on=date(2026, 3, 2),
            channel=CareChannel.phone,
            assignee=CareAssignee.agent,
            operator_id=agent.id,
            operator_name=agent.display_name,
            state=CareCallState.scheduled,
            attempts=0,
            attempt_log=[],
            notes="",
            escalation_reason="",
            created_at=now,
            updated_at=now,
        )
        session.add(care_call)
        await session.flush()
        phone_call, phone = await outbound.start_outbound(
            session=session,
            clock=clock,
            settings=voice_settings,
            actor=actor_of(agent),
            to="+8613900000002",
            links=outbound.DialLinks(care_call_id=care_call.id),
        )
        await session.commit()
    await desk.dial_agent(phone_call.id, phone)
    agent_leg = str(telephony(desk).requests[0][1]["sid"])
    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="agent",
        phone_call_id=phone_call.id,
        sid=agent_leg,
        status="in-progress",
    )
    target_leg = str(telephony(desk).requests[1][1]["sid"])
    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="target",
        phone_call_id=phone_call.id,
        sid=target_leg,
        status="in-progress",
    )
    clock.advance(200)
    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="target",
        phone_call_id=phone_call.id,
        sid=target_leg,
        status="completed",
        duration_s=183,
    )
    ended = await reload(sessions, phone_call.id)
    assert (ended.outcome, ended.talk_seconds) == (PhoneOutcome.answered, 183)
    async with sessions() as session:
        done = await session.get(CareCall, care_call.id, populate_existing=True)
        assert done is not None
        assert (done.state, done.attempts, done.attempt_log[0]["reached"]) == (CareCallState.done, 1, True)
        assert "183 秒" in done.attempt_log[0]["notes"]
    assert ("end_conference", {"conference": f"pc-{phone_call.id}"}) in telephony(desk).requests


async def test_an_elder_with_an_open_alarm_hanging_up_in_the_queue_is_raised_again(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    elder_id = await make_elder(sessions, clock, phone="13905919999")
    async with sessions() as session:
        alarm = await calls.open_call(
            session=session,
            clock=clock,
            actor=TEST,
            elder_id=elder_id,
            priority=1,
            category=CallCategory.sos,
            source=CallSource.device_alarm,
            reason="SOS",
        )
        await session.commit()
    waiting = await call_in(sessions, clock, "CA-elder", "+8613905919999", digits=None)
    assert waiting.call_id == alarm.id
    clock.advance(30)
    await report(desk, sessions, clock, voice_settings, sid="CA-elder", status="completed")
    async with sessions() as session:
        kinds = (
            await session.scalars(
                select(CallEntry.kind).where(CallEntry.call_id == alarm.id).order_by(CallEntry.id)
            )
        ).all()
    assert list(kinds) == ["opened", "phone_in", "phone_abandoned"]
    assert await count(sessions, CallbackTask) == 1


async def test_a_transfer_hands_the_call_over_when_the_second_agent_answers(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    first = await make_agent(sessions, clock, "first")
    phone_call, first_leg = await answered_call(desk, sessions, clock, voice_settings, first)
    second = await make_agent(sessions, clock, "second")
    async with sessions() as session:
        await desk.transfer(
            session=session, actor=actor_of(first), phone_call_id=phone_call.id, operator_id=second.id
        )
        await session.commit()
    assert telephony(desk).dialled()[-1] == second.phone
    assert await state_of(sessions, second.id) == AgentState.ringing
    transfer_leg = str(telephony(desk).requests[-1][1]["sid"])
    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="transfer",
        phone_call_id=phone_call.id,
        operator_id=second.id,
        sid=transfer_leg,
        status="in-progress",
    )
    now = await reload(sessions, phone_call.id)
    assert (now.agent_id, now.agent_leg_sid, now.state) == (second.id, transfer_leg, PhoneCallState.talking)
    assert ("hang_up", {"call_sid": first_leg}) in telephony(desk).requests
    assert (await state_of(sessions, first.id), await state_of(sessions, second.id)) == (
        AgentState.wrap_up,
        AgentState.on_call,
    )


async def test_hanging_up_ends_the_conference_and_holding_holds_the_caller(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "agent")
    phone_call, _ = await answered_call(desk, sessions, clock, voice_settings, agent)
    async with sessions() as session:
        await desk.hold(session=session, actor=actor_of(agent), phone_call_id=phone_call.id, on=True)
        await desk.hang_up(session=session, actor=actor_of(agent), phone_call_id=phone_call.id)
        await session.commit()
    assert telephony(desk).requests[-2:] == [
        ("hold", {"conference": f"pc-{phone_call.id}", "call_sid": "CA-caller", "on": True}),
        ("end_conference", {"conference": f"pc-{phone_call.id}"}),
    ]
