"""The hotline's routing and call handling on SQLite and PostgreSQL, with the fake clock; the telephony is
the in-memory one, which records whom it was asked to ring."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.alerts.models import Alert
from dispatch.calls import service as calls
from dispatch.calls.models import CallEntry, CallSource
from dispatch.calls.rules import CallCategory
from dispatch.clock import FakeClock
from dispatch.followups.models import FollowUp, FollowUpKind, FollowUpState
from dispatch.settings import Settings
from dispatch.voice import agents, legs, outbound, service
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import (
    AgentState,
    CallbackTask,
    CallerKind,
    PhoneCallState,
    PhoneCategory,
    PhoneOutcome,
)
from dispatch.voice.service import Actions
from dispatch.voice.telephony import LegStatus
from tests.dispatch.voice.conftest import (
    HOTLINE,
    TEST,
    call_in,
    count,
    give_device,
    make_agent,
    make_elder,
    reload,
    state_of,
    telephony,
)

Sessions = async_sessionmaker[AsyncSession]


async def report(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, settings: Settings, **leg: object
) -> Actions:
    """A leg's status callback, as the webhook applies it, then what it asked of the phone network."""
    async with sessions() as session:
        actions = await legs.leg_status(
            session=session,
            clock=clock,
            settings=settings,
            leg=str(leg.get("leg", "")),
            phone_call_id=leg.get("phone_call_id"),  # type: ignore[arg-type]
            operator_id=leg.get("operator_id"),  # type: ignore[arg-type]
            sid=str(leg["sid"]),
            status=str(leg["status"]),
            duration_s=leg.get("duration_s"),  # type: ignore[arg-type]
        )
        await session.commit()
    await desk.carry_out(actions)
    return actions


async def offer_and_answer(
    desk: VoiceDesk,
    sessions: Sessions,
    clock: FakeClock,
    settings: Settings,
    phone_call_id: int,
    operator_id: int,
    after: float = 0,
) -> str:
    """The waiting call is offered to the (only ready) agent, whose phone answers `after` seconds later;
    the agent's leg SID."""
    await desk.route()
    leg = str(telephony(desk).requests[0][1]["sid"])
    clock.advance(after)
    await report(
        desk,
        sessions,
        clock,
        settings,
        leg="agent",
        phone_call_id=phone_call_id,
        operator_id=operator_id,
        sid=leg,
        status="in-progress",
    )
    return leg


async def test_emergency_first_to_the_longest_idle_agent(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock
) -> None:
    first = await make_agent(sessions, clock, "first")
    clock.advance(5)
    second = await make_agent(sessions, clock, "second")
    enquiry = await call_in(sessions, clock, "CA-enquiry", "+8613700000001", digits="3")
    clock.advance(1)
    emergency = await call_in(sessions, clock, "CA-sos", "+8613700000002", digits=None)
    assert emergency.category == PhoneCategory.emergency
    assert enquiry.category == PhoneCategory.enquiry

    assert await desk.route() == 2
    assert telephony(desk).dialled() == [first.phone, second.phone]
    assert (await reload(sessions, emergency.id)).offered_agent_id == first.id  # first was idle longest
    assert (await reload(sessions, enquiry.id)).offered_agent_id == second.id
    assert await state_of(sessions, first.id) == AgentState.ringing


async def test_nobody_ready_the_caller_stays_queued(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock
) -> None:
    await make_agent(sessions, clock, "away", ready=False)
    waiting = await call_in(sessions, clock, "CA-1", "+8613700000001", digits="2")
    assert await desk.route() == 0
    assert (await reload(sessions, waiting.id)).state == PhoneCallState.queued
    assert telephony(desk).dialled() == []


async def test_two_processes_offering_at_once_ring_one_agent_once(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock
) -> None:
    agent = await make_agent(sessions, clock, "only")
    one = await call_in(sessions, clock, "CA-1", "+8613700000001", digits="1")
    two = await call_in(sessions, clock, "CA-2", "+8613700000002", digits="1")

    async def offers() -> list[service.Ring]:
        async with sessions() as session:
            rings = await service.make_offers(session=session, clock=clock, offer_seconds=20)
            await asyncio.sleep(0.05)  # hold the claim while the other process tries
            await session.commit()
            return rings

    results = await asyncio.gather(offers(), offers())
    rings = [ring for result in results for ring in result]
    assert [(r.phone_call_id, r.operator_id) for r in rings] == [(one.id, agent.id)]
    assert (await reload(sessions, two.id)).state == PhoneCallState.queued


async def test_an_unanswered_offer_moves_to_the_next_agent(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    first = await make_agent(sessions, clock, "first")
    clock.advance(1)
    second = await make_agent(sessions, clock, "second")
    waiting = await call_in(sessions, clock, "CA-1", "+8613700000001")
    await desk.route()
    first_leg = str(telephony(desk).requests[0][1]["sid"])

    clock.advance(voice_settings.voice_offer_seconds - 1)
    await desk.tick()
    assert telephony(desk).dialled() == [first.phone]  # not yet

    clock.advance(1)
    await desk.tick()
    assert telephony(desk).dialled() == [first.phone, second.phone]
    assert ("hang_up", {"call_sid": first_leg}) in telephony(desk).requests
    now = await reload(sessions, waiting.id)
    assert (now.offered_agent_id, now.tried_agent_ids) == (second.id, [first.id])
    assert await state_of(sessions, first.id) == AgentState.ready


async def test_a_rest_failure_while_ringing_an_agent_moves_to_the_next(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock
) -> None:
    first = await make_agent(sessions, clock, "first")
    clock.advance(1)
    second = await make_agent(sessions, clock, "second")
    assert first.phone is not None
    telephony(desk).fail_dials_to.add(first.phone)
    waiting = await call_in(sessions, clock, "CA-1", "+8613700000001")

    assert await desk.route() == 1
    assert telephony(desk).dialled() == [second.phone]
    now = await reload(sessions, waiting.id)
    assert (now.state, now.offered_agent_id, now.tried_agent_ids) == (
        PhoneCallState.ringing,
        second.id,
        [first.id],
    )
    assert await state_of(sessions, first.id) == AgentState.ready


async def test_answered_then_hung_up_ends_in_wrap_up_then_ready(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "a")
    waiting = await call_in(sessions, clock, "CA-caller", "+8613700000001", digits="3")
    await offer_and_answer(desk, sessions, clock, voice_settings, waiting.id, agent.id, after=4)
    talking = await reload(sessions, waiting.id)
    assert (talking.state, talking.agent_id, talking.answered_at) == (
        PhoneCallState.talking,
        agent.id,
        clock.now(),
    )
    assert await state_of(sessions, agent.id) == AgentState.on_call

    clock.advance(95)
    await report(desk, sessions, clock, voice_settings, sid="CA-caller", status="completed")
    ended = await reload(sessions, waiting.id)
    assert (ended.state, ended.outcome, ended.talk_seconds) == (
        PhoneCallState.ended,
        PhoneOutcome.answered,
        95,
    )
    assert await state_of(sessions, agent.id) == AgentState.wrap_up

    clock.advance(voice_settings.wrap_up_seconds)
    await desk.tick()
    assert await state_of(sessions, agent.id) == AgentState.ready


async def test_the_agent_hanging_up_ends_the_call_even_if_the_conference_never_started(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    """The agent's leg can end before it joined the conference (so there is no conference in progress to
    end): the caller's own leg is hung up too, or the caller would wait there forever and the agent with
    them."""
    agent = await make_agent(sessions, clock, "a")
    waiting = await call_in(sessions, clock, "CA-caller", "+8613700000001", digits="3")
    leg = await offer_and_answer(desk, sessions, clock, voice_settings, waiting.id, agent.id)
    telephony(desk).requests.clear()
    telephony(desk).not_started.add(f"pc-{waiting.id}")
    clock.advance(3)
    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="agent",
        phone_call_id=waiting.id,
        operator_id=agent.id,
        sid=leg,
        status="completed",
    )
    assert telephony(desk).requests == [
        ("end_conference", {"conference": f"pc-{waiting.id}"}),
        ("hang_up", {"call_sid": "CA-caller"}),
    ]
    await report(desk, sessions, clock, voice_settings, sid="CA-caller", status="completed")
    ended = await reload(sessions, waiting.id)
    assert (ended.state, ended.outcome, ended.talk_seconds) == (
        PhoneCallState.ended,
        PhoneOutcome.answered,
        3,
    )
    assert await state_of(sessions, agent.id) == AgentState.wrap_up


async def test_abandoned_while_waiting_makes_one_callback_task(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    waiting = await call_in(sessions, clock, "CA-gone", "+8613700000009", digits="2")
    clock.advance(40)
    for _ in range(2):  # a repeated status callback changes nothing
        await report(desk, sessions, clock, voice_settings, sid="CA-gone", status="completed")
    ended = await reload(sessions, waiting.id)
    assert (ended.state, ended.outcome) == (PhoneCallState.ended, PhoneOutcome.abandoned)
    async with sessions() as session:
        tasks = (await session.scalars(select(CallbackTask))).all()
    assert [(t.phone_call_id, t.number, t.category) for t in tasks] == [
        (waiting.id, "+8613700000009", PhoneCategory.home_service)
    ]


async def test_a_caller_who_hangs_up_during_the_menu_is_called_back_as_an_emergency(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    async with sessions() as session:  # greeted, but gone before choosing (as with no key: an emergency)
        phone_call = await service.receive_inbound(
            session=session, clock=clock, call_sid="CA-menu", from_number="+8613700000010", to_number=HOTLINE
        )
        await session.commit()
    clock.advance(4)
    await report(desk, sessions, clock, voice_settings, sid="CA-menu", status="completed")
    ended = await reload(sessions, phone_call.id)
    assert (ended.outcome, ended.category) == (PhoneOutcome.abandoned, PhoneCategory.emergency)
    async with sessions() as session:
        [task] = (await session.scalars(select(CallbackTask))).all()
    assert (task.phone_call_id, task.category) == (phone_call.id, PhoneCategory.emergency)


async def test_a_caller_waiting_60_s_alerts_supervisors_once(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock
) -> None:
    await call_in(sessions, clock, "CA-1", "+8613700000001")
    clock.advance(59)
    await desk.tick()
    assert await count(sessions, Alert) == 0
    clock.advance(1)
    await desk.tick()
    clock.advance(30)
    await desk.tick()
    async with sessions() as session:
        alerts = (await session.scalars(select(Alert))).all()
    assert [(a.kind, a.audience.value) for a in alerts] == [("caller_waiting", "supervisors")]


async def test_a_watch_calling_after_its_sos_joins_the_alarm_and_rings_its_holder(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    other = await make_agent(sessions, clock, "idle-longest")
    clock.advance(10)
    holder = await make_agent(sessions, clock, "holder")
    elder_id = await make_elder(sessions, clock)
    await give_device(sessions, voice_settings, clock, elder_id, "+8614700000001")
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
        holder_actor = TEST.__class__(operator_id=holder.id, username=holder.username, role=holder.role)
        await calls.claim(session=session, clock=clock, actor=holder_actor, call_id=alarm.id)
        await session.commit()

    async with sessions() as session:  # the watch dials: no menu (it cannot press keys)
        phone_call = await service.receive_inbound(
            session=session,
            clock=clock,
            call_sid="CA-watch",
            from_number="14700000001",
            to_number="+8659112349",
        )
        await session.commit()
    assert (phone_call.caller_kind, phone_call.state, phone_call.category) == (
        CallerKind.device,
        PhoneCallState.queued,
        PhoneCategory.emergency,
    )
    assert phone_call.call_id == alarm.id
    assert phone_call.elder_id == elder_id

    await desk.route()
    assert telephony(desk).dialled() == [holder.phone]  # not the longest idle (other)
    assert (await reload(sessions, phone_call.id)).offered_agent_id == holder.id
    assert other.id != holder.id
    async with sessions() as session:
        kinds = (await session.scalars(select(CallEntry.kind).where(CallEntry.call_id == alarm.id))).all()
    assert "phone_in" in kinds


async def test_an_outbound_follow_up_nobody_answers_is_a_not_reached_attempt(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "caller")
    elder_id = await make_elder(sessions, clock)
    async with sessions() as session:
        now = clock.now()
        follow_up = FollowUp(
            kind=FollowUpKind.call,
            elder_id=elder_id,
            elder_name="测试",
            subject="回访",
            state=FollowUpState.pending,
            due_at=now + timedelta(hours=24),
            next_attempt_at=now,
            attempts=0,
            attempt_log=[],
            comment="",
            created_at=now,
            updated_at=now,
        )
        session.add(follow_up)
        await session.flush()
        actor = TEST.__class__(operator_id=agent.id, username=agent.username, role=agent.role)
        phone_call, phone = await outbound.start_outbound(
            session=session,
            clock=clock,
            settings=voice_settings,
            actor=actor,
            to="+8613900000001",
            links=outbound.DialLinks(follow_up_id=follow_up.id),
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
    assert telephony(desk).dialled() == [agent.phone, "+8613900000001"]
    target_leg = str(telephony(desk).requests[1][1]["sid"])
    clock.advance(40)
    await report(
        desk,
        sessions,
        clock,
        voice_settings,
        leg="target",
        phone_call_id=phone_call.id,
        sid=target_leg,
        status="no-answer",
    )

    ended = await reload(sessions, phone_call.id)
    assert (ended.state, ended.outcome, ended.category) == (
        PhoneCallState.ended,
        PhoneOutcome.no_answer,
        PhoneCategory.follow_up,
    )
    async with sessions() as session:
        after = await session.get(FollowUp, follow_up.id, populate_existing=True)
        assert after is not None
        assert (after.attempts, after.state, after.attempt_log[0]["reached"]) == (
            1,
            FollowUpState.pending,
            False,
        )
    assert await state_of(sessions, agent.id) == AgentState.wrap_up


async def test_an_agent_who_logged_out_during_a_call_goes_offline_after_wrap_up(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "a")
    waiting = await call_in(sessions, clock, "CA-caller", "+8613700000001", digits="3")
    await offer_and_answer(desk, sessions, clock, voice_settings, waiting.id, agent.id)
    async with sessions() as session:
        await agents.log_out(session=session, clock=clock, operator_id=agent.id)
        await session.commit()
    assert await state_of(sessions, agent.id) == AgentState.on_call  # the call goes on

    await report(desk, sessions, clock, voice_settings, sid="CA-caller", status="completed")
    clock.advance(voice_settings.wrap_up_seconds)
    await desk.tick()

    assert await state_of(sessions, agent.id) == AgentState.offline


def status_lookups(desk: VoiceDesk) -> list[str]:
    return [str(args["call_sid"]) for kind, args in telephony(desk).requests if kind == "leg_status"]


async def test_a_waiting_caller_whose_hang_up_never_reached_us_is_abandoned_after_the_quiet_period(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    quiet = voice_settings.voice_reconcile_seconds
    waiting = await call_in(sessions, clock, "CA-lost", "+8613700000011", digits="2")
    clock.advance(quiet - 1)
    await desk.tick()
    assert status_lookups(desk) == []

    clock.advance(2)
    await desk.tick()  # still in progress at the network: nothing changes, asked again only after `quiet`
    clock.advance(quiet - 1)
    await desk.tick()
    assert status_lookups(desk) == ["CA-lost"]
    assert (await reload(sessions, waiting.id)).state == PhoneCallState.queued

    telephony(desk).statuses["CA-lost"] = LegStatus("completed", 0)
    clock.advance(2)
    assert (await desk.tick())["lost_statuses"] == 1
    ended = await reload(sessions, waiting.id)
    assert (ended.state, ended.outcome) == (PhoneCallState.ended, PhoneOutcome.abandoned)
    assert await count(sessions, CallbackTask) == 1


async def test_a_call_whose_end_never_reached_us_is_finished_and_the_agent_wraps_up(
    desk: VoiceDesk, sessions: Sessions, clock: FakeClock, voice_settings: Settings
) -> None:
    agent = await make_agent(sessions, clock, "lost-end")
    waiting = await call_in(sessions, clock, "CA-talk", "+8613700000012", digits="3")
    leg = await offer_and_answer(desk, sessions, clock, voice_settings, waiting.id, agent.id)
    telephony(desk).statuses["CA-talk"] = LegStatus("completed", 75)
    clock.advance(voice_settings.voice_reconcile_seconds + 1)
    await desk.tick()
    ended = await reload(sessions, waiting.id)
    assert (ended.state, ended.outcome) == (PhoneCallState.ended, PhoneOutcome.answered)
    assert await state_of(sessions, agent.id) == AgentState.wrap_up
    assert sorted(status_lookups(desk)) == sorted(["CA-talk", leg])
