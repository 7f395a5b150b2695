"""Outbound calls (主动外拨): the operator's phone rung first, then the number, in one recorded conference;
the outcome logged where the call was started (a follow-up or care-call attempt, an alarm's timeline)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator
from dispatch.calls import service as calls
from dispatch.calls.models import Call
from dispatch.carecalls import service as care_calls
from dispatch.carecalls.models import CareCall, CareCallState
from dispatch.carecalls.schemas import AttemptIn
from dispatch.clock import Clock
from dispatch.complaints.models import Complaint
from dispatch.errors import Conflict, NotFound, PermissionDenied
from dispatch.followups import service as follow_ups
from dispatch.followups.models import FollowUp, FollowUpState
from dispatch.orders.models import ServiceOrder
from dispatch.settings import Settings
from dispatch.voice import agents, service
from dispatch.voice.identify import identify
from dispatch.voice.models import Direction, PhoneCall, PhoneCallState, PhoneCategory, PhoneOutcome
from dispatch.voice.service import (
    ANSWERED,
    FINAL_LEG_STATUSES,
    OUTCOME_OF_STATUS,
    SYSTEM,
    Actions,
    announce_phone,
    get,
    seconds_since,
)
from dispatch.voice.telephony import conference_name


@dataclass(frozen=True, slots=True)
class DialLinks:
    call_id: int | None = None
    follow_up_id: int | None = None
    care_call_id: int | None = None
    order_id: int | None = None
    complaint_id: int | None = None


async def start_outbound(
    *, session: AsyncSession, clock: Clock, settings: Settings, actor: Actor, to: str, links: DialLinks
) -> tuple[PhoneCall, str]:
    """An outbound call by this operator: recorded, their own phone rung first (by the caller of this,
    after the commit). Returns the call and the operator's phone."""
    if not settings.voice_enabled:
        raise Conflict("no telephony; log the call by hand")
    if actor.operator_id is None:
        raise PermissionDenied("only an operator dials out")
    operator = await session.get(Operator, actor.operator_id)
    if operator is None or not operator.phone:
        raise Conflict(
            "you have no phone set: ask an admin to set your desk or mobile number, or log the call by hand"
        )
    presence = await agents.presence_of(session=session, operator_id=operator.id)
    if presence is not None and presence.state in agents.BUSY_STATES:
        raise Conflict("you are already on a call")
    elder_id = await _linked_elder(session, links)
    caller = await identify(session=session, number=to)
    now = clock.now()
    phone_call = PhoneCall(
        direction=Direction.outbound,
        state=PhoneCallState.ringing,
        from_number=settings.voice_number,
        to_number=to,
        caller_kind=caller.kind,
        elder_id=elder_id if elder_id is not None else caller.elder_id,
        contact_id=caller.contact_id,
        provider_id=caller.provider_id,
        device_id=caller.device_id,
        agent_id=operator.id,
        agent_name=operator.display_name,
        category=_outbound_category(links),
        call_id=links.call_id,
        order_id=links.order_id,
        follow_up_id=links.follow_up_id,
        care_call_id=links.care_call_id,
        complaint_id=links.complaint_id,
        tried_agent_ids=[],
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(phone_call)
    await session.flush()
    phone_call.conference_name = conference_name(phone_call.id)
    await agents.on_call(session=session, clock=clock, operator_id=operator.id, phone_call_id=phone_call.id)
    announce_phone(session, phone_call, "updated")
    return phone_call, operator.phone


def _outbound_category(links: DialLinks) -> PhoneCategory:
    if links.follow_up_id is not None:
        return PhoneCategory.follow_up
    if links.care_call_id is not None:
        return PhoneCategory.care_call
    if links.call_id is not None:
        return PhoneCategory.emergency
    if links.complaint_id is not None:
        return PhoneCategory.complaint
    if links.order_id is not None:
        return PhoneCategory.home_service
    return PhoneCategory.other


async def _linked_elder(session: AsyncSession, links: DialLinks) -> int | None:
    """Every linked record exists (404 otherwise); the elder it is about."""
    elder_id: int | None = None
    for model, row_id in (
        (Call, links.call_id),
        (FollowUp, links.follow_up_id),
        (CareCall, links.care_call_id),
        (ServiceOrder, links.order_id),
        (Complaint, links.complaint_id),
    ):
        if row_id is None:
            continue
        row = await session.get(model, row_id)
        if row is None:
            raise NotFound(f"{model.__tablename__.replace('_', ' ')} {row_id} not found")
        elder_id = elder_id or getattr(row, "elder_id", None)
    return elder_id


async def outbound_agent_rung(*, session: AsyncSession, phone_call_id: int, sid: str) -> None:
    await session.execute(
        update(PhoneCall)
        .where(PhoneCall.id == phone_call_id, PhoneCall.agent_leg_sid.is_(None))
        .values(agent_leg_sid=sid)
    )


async def outbound_target_rung(*, session: AsyncSession, phone_call_id: int, sid: str) -> None:
    await session.execute(
        update(PhoneCall)
        .where(PhoneCall.id == phone_call_id, PhoneCall.twilio_sid.is_(None))
        .values(twilio_sid=sid)
    )


async def outbound_failed(
    *, session: AsyncSession, clock: Clock, settings: Settings, phone_call_id: int, reason: str
) -> PhoneCall:
    """A leg of an outbound call could not be placed: the call failed."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    await _finish(
        session=session,
        clock=clock,
        settings=settings,
        phone_call=phone_call,
        outcome=PhoneOutcome.failed,
        talk_seconds=None,
        note=reason,
    )
    return phone_call


async def agent_leg(
    session: AsyncSession, clock: Clock, settings: Settings, phone_call: PhoneCall, sid: str, status: str
) -> Actions:
    if phone_call.state == PhoneCallState.ended:
        return Actions(hang_up=[sid]) if status == ANSWERED else Actions()
    if status == ANSWERED:
        if phone_call.twilio_sid is None and phone_call.agent_leg_sid in (None, sid):
            phone_call.agent_leg_sid = sid
            await session.flush()
            return Actions(dial_target=[phone_call.id])
        return Actions()
    if status not in FINAL_LEG_STATUSES:
        return Actions()
    if phone_call.state == PhoneCallState.talking:
        return Actions(end_conference={conference_name(phone_call.id): phone_call.twilio_sid})
    actions = Actions()
    if phone_call.twilio_sid:  # the agent gave up while the target rang
        actions.hang_up.append(phone_call.twilio_sid)
        await _finish(
            session=session,
            clock=clock,
            settings=settings,
            phone_call=phone_call,
            outcome=PhoneOutcome.no_answer,
            talk_seconds=None,
        )
    else:
        await _finish(
            session=session,
            clock=clock,
            settings=settings,
            phone_call=phone_call,
            outcome=PhoneOutcome.failed,
            talk_seconds=None,
            note="坐席电话未接通（the agent's phone did not answer）",
        )
    return actions


async def target_leg(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    phone_call: PhoneCall,
    sid: str,
    status: str,
    duration_s: int | None,
) -> Actions:
    if phone_call.state == PhoneCallState.ended:
        return Actions()
    if status == ANSWERED and phone_call.state == PhoneCallState.ringing:
        now = clock.now()
        phone_call.state, phone_call.answered_at, phone_call.updated_at = PhoneCallState.talking, now, now
        await session.flush()
        announce_phone(session, phone_call, "answered")
        return Actions()
    if status not in FINAL_LEG_STATUSES:
        return Actions()
    if phone_call.answered_at is not None:
        talk = duration_s if duration_s is not None else seconds_since(clock, phone_call)
        outcome = PhoneOutcome.answered
    else:
        talk, outcome = None, OUTCOME_OF_STATUS.get(status, PhoneOutcome.failed)
    await _finish(
        session=session,
        clock=clock,
        settings=settings,
        phone_call=phone_call,
        outcome=outcome,
        talk_seconds=talk,
    )
    return Actions(
        end_conference={conference_name(phone_call.id): None},
        hang_up=[phone_call.agent_leg_sid]
        if phone_call.agent_leg_sid and outcome != PhoneOutcome.answered
        else [],
    )


async def _agent_actor(session: AsyncSession, phone_call: PhoneCall) -> Actor:
    operator = await session.get(Operator, phone_call.agent_id) if phone_call.agent_id else None
    if operator is None:
        return SYSTEM
    return Actor(operator_id=operator.id, username=operator.username, role=operator.role)


async def _log_outbound(
    session: AsyncSession, clock: Clock, settings: Settings, phone_call: PhoneCall
) -> None:
    """The outcome where the call was started: a follow-up or care-call attempt, the alarm's timeline."""
    actor = await _agent_actor(session, phone_call)
    outcome = phone_call.outcome or PhoneOutcome.failed
    reached = outcome == PhoneOutcome.answered
    summary = f"外呼{'接通，通话 ' + str(phone_call.talk_seconds or 0) + ' 秒' if reached else '未接通'}（{outcome.value}）"
    if phone_call.follow_up_id is not None and not reached:
        follow_up = await session.get(FollowUp, phone_call.follow_up_id)
        if follow_up is not None and follow_up.state == FollowUpState.pending:
            await follow_ups.record(
                session=session,
                clock=clock,
                actor=actor,
                follow_up_id=follow_up.id,
                reached=False,
                satisfaction=None,
                comment=summary,
                rules=follow_ups.rules_for(settings),
            )
    if phone_call.care_call_id is not None:
        care_call = await session.get(CareCall, phone_call.care_call_id)
        if care_call is not None and care_call.state == CareCallState.scheduled:
            await care_calls.record_attempt(
                session=session,
                clock=clock,
                settings=settings,
                actor=actor,
                care_call_id=care_call.id,
                data=AttemptIn(reached=reached, notes=summary),
            )
    if phone_call.call_id is not None:
        await calls.record(
            session=session,
            clock=clock,
            actor=actor,
            call_id=phone_call.call_id,
            kind="phone_out",
            text=f"致电 {phone_call.to_number}：{summary}",
            phone_call_id=phone_call.id,
            outcome=outcome.value,
            talk_seconds=phone_call.talk_seconds,
        )
        await session.flush()


async def _finish(
    *,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    phone_call: PhoneCall,
    outcome: PhoneOutcome,
    talk_seconds: int | None,
    note: str = "",
) -> None:
    """The outbound call is over: closed (once), its outcome logged where it was started."""
    if await service.finish(
        session=session,
        clock=clock,
        settings=settings,
        phone_call=phone_call,
        outcome=outcome,
        talk_seconds=talk_seconds,
        note=note,
    ):
        await _log_outbound(session, clock, settings, phone_call)
