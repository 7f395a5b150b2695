"""Phone calls through the hotline, the database side: an incoming call taken in (idempotent on its
CallSid) and identified, the menu's choice, the queue, offers to agents (the agent and the call each
claimed with one conditional UPDATE), the inbound legs' statuses, abandoned calls (a call-back task),
the waiting alert, the end of a call. Outbound calls: outbound.py; transfers and controls: incall.py;
which leg's status goes where: legs.py.

Nothing here talks to the phone network: what must be asked of it once the transaction has committed is
returned as `Actions` (dispatch.voice.desk carries them out), so a webhook never waits on Twilio."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts import service as alerts
from dispatch.alerts.models import AlertAudience
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator
from dispatch.bus.outbox import announce
from dispatch.calls import service as calls
from dispatch.calls.models import Call
from dispatch.calls.service import CONSOLE_CHANNEL, call_json
from dispatch.clock import Clock
from dispatch.errors import Conflict, NotFound
from dispatch.settings import Settings
from dispatch.voice import agents, callbacks
from dispatch.voice.identify import identify
from dispatch.voice.models import (
    AgentState,
    CallerKind,
    Direction,
    PhoneCall,
    PhoneCallState,
    PhoneCategory,
    PhoneOutcome,
    Recording,
)
from dispatch.voice.routing import WaitingCall, plan_offers, rank_of
from dispatch.voice.telephony import conference_name

logger = logging.getLogger(__name__)

MENU = {
    "1": PhoneCategory.emergency,
    "2": PhoneCategory.home_service,
    "3": PhoneCategory.enquiry,
    "4": PhoneCategory.complaint,
}
WAITING_STATES = (PhoneCallState.menu, PhoneCallState.queued, PhoneCallState.ringing)
FINAL_LEG_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
ANSWERED = "in-progress"
OUTCOME_OF_STATUS = {
    "busy": PhoneOutcome.busy,
    "failed": PhoneOutcome.failed,
    "no-answer": PhoneOutcome.no_answer,
    "canceled": PhoneOutcome.no_answer,
    "completed": PhoneOutcome.no_answer,  # completed without ever being answered
}
QUEUE_BATCH = 50
SYSTEM = Actor.system("hotline")


@dataclass
class Actions:
    """What to ask of the phone network once the transaction has committed."""

    hang_up: list[str] = field(default_factory=list)  # leg SIDs
    # conference name -> the leg to hang up if that conference never started (the agent's leg ended before
    # joining it): the party waiting in it would otherwise wait for ever
    end_conference: dict[str, str | None] = field(default_factory=dict)
    dial_target: list[int] = field(default_factory=list)  # outbound phone calls whose agent answered
    route: bool = False  # look for offers now

    def __bool__(self) -> bool:
        return bool(self.hang_up or self.end_conference or self.dial_target or self.route)


@dataclass(frozen=True, slots=True)
class Ring:
    """Ring this agent's phone for this call (an offer just claimed)."""

    phone_call_id: int
    operator_id: int
    phone: str


class TelephonyRefused(Conflict):
    """The phone network refused what the agent asked (hold, add a party...)."""

    code = "telephony_failed"


# --- JSON and messages -----------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def recording_json(recording: Recording | None) -> dict[str, Any] | None:
    if recording is None:
        return None
    return {"id": recording.id, "duration_s": recording.duration_s, "state": recording.state.value}


def phone_call_json(phone_call: PhoneCall, recording: Recording | None = None) -> dict[str, Any]:
    """A phone call as the API and the consoles see it."""
    pc = phone_call
    return {
        "id": pc.id,
        "direction": pc.direction.value,
        "from": pc.from_number,
        "to": pc.to_number,
        "elder_id": pc.elder_id,
        "agent": pc.agent_name,
        "agent_id": pc.agent_id,
        "offered_agent_id": pc.offered_agent_id,
        "state": pc.state.value,
        "outcome": pc.outcome.value if pc.outcome else None,
        "category": pc.category.value if pc.category else None,
        "caller_kind": pc.caller_kind.value,
        "queued_at": _iso(pc.queued_at),
        "offered_at": _iso(pc.offered_at),
        "offer_deadline_at": _iso(pc.offer_deadline_at),
        "answered_at": _iso(pc.answered_at),
        "ended_at": _iso(pc.ended_at),
        "talk_seconds": pc.talk_seconds,
        "recording": recording_json(recording),
        "call_id": pc.call_id,
        "order_id": pc.order_id,
        "follow_up_id": pc.follow_up_id,
        "care_call_id": pc.care_call_id,
        "complaint_id": pc.complaint_id,
        "contact_id": pc.contact_id,
        "provider_id": pc.provider_id,
        "device_id": pc.device_id,
        "by_hand": pc.by_hand,
        "note": pc.note,
        "created_at": _iso(pc.created_at),
    }


def announce_phone(
    session: AsyncSession, phone_call: PhoneCall, change: str, *, for_operator_id: int | None = None
) -> None:
    """Tell the consoles (only this operator's, with `for_operator_id`) that a phone call changed."""
    message: dict[str, Any] = {"type": "phone", "change": change, "phone_call": phone_call_json(phone_call)}
    if for_operator_id is not None:
        message["for_operator_id"] = for_operator_id
    announce(session, CONSOLE_CHANNEL, message)


# --- reading ---------------------------------------------------------------------------------------


async def get(*, session: AsyncSession, phone_call_id: int) -> PhoneCall:
    phone_call = await session.get(PhoneCall, phone_call_id, populate_existing=True)
    if phone_call is None:
        raise NotFound(f"phone call {phone_call_id} not found")
    return phone_call


async def by_twilio_sid(*, session: AsyncSession, sid: str) -> PhoneCall | None:
    return await session.scalar(
        select(PhoneCall).where(PhoneCall.twilio_sid == sid).execution_options(populate_existing=True)
    )


# --- inbound: taken in, the menu, the queue ------------------------------------------------------------


async def receive_inbound(
    *, session: AsyncSession, clock: Clock, call_sid: str, from_number: str, to_number: str
) -> PhoneCall:
    """The phone call for an incoming call, made once per CallSid (a repeated webhook gets the same one).
    A device's SIM whose elder has an open alarm call skips the menu: it joins that call as an emergency."""
    existing = await by_twilio_sid(session=session, sid=call_sid)
    if existing is not None:
        return existing
    caller = await identify(session=session, number=from_number)
    now = clock.now()
    phone_call = PhoneCall(
        direction=Direction.inbound,
        state=PhoneCallState.menu,
        from_number=from_number,
        to_number=to_number,
        twilio_sid=call_sid,
        caller_kind=caller.kind,
        elder_id=caller.elder_id,
        contact_id=caller.contact_id,
        provider_id=caller.provider_id,
        device_id=caller.device_id,
        tried_agent_ids=[],
        created_by="twilio",
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(phone_call)
            await session.flush()
    except IntegrityError:  # the same webhook, at the same moment, from another process
        again = await by_twilio_sid(session=session, sid=call_sid)
        if again is None:
            raise
        return again
    phone_call.conference_name = conference_name(phone_call.id)
    if caller.kind == CallerKind.device and await _open_alarm(session, phone_call) is not None:
        await _queue(session, clock, phone_call, PhoneCategory.emergency)
    return phone_call


async def choose(*, session: AsyncSession, clock: Clock, phone_call_id: int, digits: str | None) -> PhoneCall:
    """The caller's menu choice (no key, or a key not on the menu: emergency); queued. Once only."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    if phone_call.state != PhoneCallState.menu:
        return phone_call
    category = MENU.get((digits or "").strip()[:1], PhoneCategory.emergency)
    await _queue(session, clock, phone_call, category)
    return phone_call


async def _open_alarm(session: AsyncSession, phone_call: PhoneCall) -> Call | None:
    if phone_call.elder_id is None:
        return None
    return await calls.open_call_of(session=session, elder_id=phone_call.elder_id)


async def _queue(session: AsyncSession, clock: Clock, phone_call: PhoneCall, category: PhoneCategory) -> None:
    """Into the queue (emergencies first); an emergency from an elder with an open alarm call joins it."""
    now = clock.now()
    moved = await session.execute(
        update(PhoneCall)
        .where(PhoneCall.id == phone_call.id, PhoneCall.state == PhoneCallState.menu)
        .values(
            state=PhoneCallState.queued,
            category=category,
            queue_rank=rank_of(category),
            queued_at=now,
            updated_at=now,
        )
        .returning(PhoneCall.id)
    )
    if moved.scalar() is None:
        return
    await session.refresh(phone_call)
    if category == PhoneCategory.emergency:
        alarm = await _open_alarm(session, phone_call)
        if alarm is not None:
            await _attach(session, clock, phone_call, alarm)
    announce_phone(session, phone_call, "queued")


async def _attach(session: AsyncSession, clock: Clock, phone_call: PhoneCall, alarm: Call) -> None:
    """The caller is about the elder's open alarm: linked to it, and its timeline (and every console
    showing it) says who is on the line."""
    phone_call.call_id = alarm.id
    phone_call.updated_at = clock.now()
    elder_calling = phone_call.caller_kind in (CallerKind.device, CallerKind.elder)
    await calls.record(
        session=session,
        clock=clock,
        actor=SYSTEM,
        call_id=alarm.id,
        kind="phone_in",
        text="老人来电（elder on the line）" if elder_calling else "联系人来电（caller on the line）",
        phone_call_id=phone_call.id,
        caller_kind=phone_call.caller_kind.value,
        number=phone_call.from_number,
    )
    await session.flush()


# --- offers ----------------------------------------------------------------------------------------


async def make_offers(*, session: AsyncSession, clock: Clock, offer_seconds: int) -> list[Ring]:
    """Offer waiting calls to free agents (emergency first, then the oldest; the longest idle agent):
    each offer claims the agent (ready -> ringing) and the call (queued -> ringing) conditionally, so
    every process may run this at once. The consoles of the agents offered a call pop it up."""
    waiting = await _waiting_calls(session)
    if not waiting:
        return []
    seats_and_phones = await agents.seats(session=session)
    phones = {seat.operator_id: phone for seat, phone in seats_and_phones}
    rings: list[Ring] = []
    for offer in plan_offers(waiting.values(), [seat for seat, _ in seats_and_phones]):
        call = waiting[offer.phone_call_id]
        preferred = call.preferred_agent_id == offer.operator_id
        if await _claim_offer(
            session, clock, offer.phone_call_id, offer.operator_id, offer_seconds, preferred
        ):
            rings.append(Ring(offer.phone_call_id, offer.operator_id, phones[offer.operator_id]))
    return rings


async def _waiting_calls(session: AsyncSession) -> dict[int, WaitingCall]:
    rows = await session.execute(
        select(
            PhoneCall.id,
            PhoneCall.queue_rank,
            PhoneCall.queued_at,
            PhoneCall.tried_agent_ids,
            Call.claimed_by,
        )
        .outerjoin(Call, Call.id == PhoneCall.call_id)
        .where(PhoneCall.state == PhoneCallState.queued, PhoneCall.direction == Direction.inbound)
        .order_by(PhoneCall.queue_rank, PhoneCall.queued_at, PhoneCall.id)
        .limit(QUEUE_BATCH)
    )
    return {
        r.id: WaitingCall(
            id=r.id,
            rank=r.queue_rank,
            queued_at=r.queued_at,
            tried=frozenset(r.tried_agent_ids or ()),
            preferred_agent_id=r.claimed_by,
        )
        for r in rows
    }


async def _claim_offer(
    session: AsyncSession,
    clock: Clock,
    phone_call_id: int,
    operator_id: int,
    offer_seconds: int,
    preferred: bool,
) -> bool:
    """Claim the agent, then the call; if the call went meanwhile, the agent is put back as they were."""
    was = await agents.claim_for_offer(
        session=session,
        clock=clock,
        operator_id=operator_id,
        phone_call_id=phone_call_id,
        from_wrap_up=preferred,
    )
    if was is None:
        return False
    now = clock.now()
    operator = await session.get(Operator, operator_id)
    claimed = await session.execute(
        update(PhoneCall)
        .where(PhoneCall.id == phone_call_id, PhoneCall.state == PhoneCallState.queued)
        .values(
            state=PhoneCallState.ringing,
            offered_agent_id=operator_id,
            offered_at=now,
            offer_deadline_at=now + timedelta(seconds=offer_seconds),
            agent_leg_sid=None,
            updated_at=now,
        )
        .returning(PhoneCall.id)
    )
    if claimed.scalar() is None:
        await _unclaim_agent(session, clock, operator_id, phone_call_id, was)
        return False
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    await agents.announce_agent(session, operator_id)
    announce_phone(session, phone_call, "offered", for_operator_id=operator_id)
    logger.info("phone call %d offered to %s", phone_call_id, operator.username if operator else operator_id)
    return True


async def _unclaim_agent(
    session: AsyncSession, clock: Clock, operator_id: int, phone_call_id: int, was: AgentState
) -> None:
    await agents.put_back(
        session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call_id, state=was
    )


async def offer_rung(*, session: AsyncSession, phone_call_id: int, operator_id: int, sid: str) -> bool:
    """The agent's phone is ringing for the offer: its leg's SID is kept (False: the offer is gone). A phone
    that answers at once may report it before this runs: the call is then already this leg's, not stale."""
    stored = await session.execute(
        update(PhoneCall)
        .where(
            PhoneCall.id == phone_call_id,
            PhoneCall.state == PhoneCallState.ringing,
            PhoneCall.offered_agent_id == operator_id,
            PhoneCall.agent_leg_sid.is_(None),
        )
        .values(agent_leg_sid=sid)
        .returning(PhoneCall.id)
    )
    if stored.scalar() is not None:
        return True
    current = await get(session=session, phone_call_id=phone_call_id)
    return current.agent_leg_sid == sid and current.agent_id == operator_id


async def withdraw_offer(
    *, session: AsyncSession, clock: Clock, phone_call_id: int, operator_id: int, back_of_line: bool
) -> str | None:
    """The offer to this agent is over unanswered (it rang out, was refused, or could not be rung): the
    agent is free again, tried for this call; the call back in the queue. Returns the agent's leg to hang
    up, if it was rung; None if the offer had already moved on."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    leg = phone_call.agent_leg_sid
    now = clock.now()
    tried = sorted({*(phone_call.tried_agent_ids or []), operator_id})
    moved = await session.execute(
        update(PhoneCall)
        .where(
            PhoneCall.id == phone_call_id,
            PhoneCall.state == PhoneCallState.ringing,
            PhoneCall.offered_agent_id == operator_id,
        )
        .values(
            state=PhoneCallState.queued,
            offered_agent_id=None,
            offer_deadline_at=None,
            agent_leg_sid=None,
            tried_agent_ids=tried,
            updated_at=now,
        )
        .returning(PhoneCall.id)
    )
    if moved.scalar() is None:
        return None
    await agents.put_back(
        session=session,
        clock=clock,
        operator_id=operator_id,
        phone_call_id=phone_call_id,
        back_of_line=back_of_line,
    )
    await session.refresh(phone_call)
    announce_phone(session, phone_call, "updated")
    return leg


async def expire_offers(*, session: AsyncSession, clock: Clock) -> Actions:
    """Offers nobody answered in time: the agent's phone stops ringing, the call goes to the next agent."""
    actions = Actions()
    due = await session.execute(
        select(PhoneCall.id, PhoneCall.offered_agent_id).where(
            PhoneCall.state == PhoneCallState.ringing,
            PhoneCall.direction == Direction.inbound,
            PhoneCall.offer_deadline_at <= clock.now(),
        )
    )
    for phone_call_id, operator_id in due.all():
        if operator_id is None:
            continue
        leg = await withdraw_offer(
            session=session,
            clock=clock,
            phone_call_id=phone_call_id,
            operator_id=operator_id,
            back_of_line=True,
        )
        if leg:
            actions.hang_up.append(leg)
        actions.route = True
    return actions


async def alert_waiting(*, session: AsyncSession, clock: Clock, after_seconds: int) -> int:
    """Callers waiting longer than `after_seconds`: supervisors are alerted, once per call."""
    now = clock.now()
    claimed = await session.execute(
        update(PhoneCall)
        .where(
            PhoneCall.direction == Direction.inbound,
            PhoneCall.state.in_([PhoneCallState.queued, PhoneCallState.ringing]),
            PhoneCall.waiting_alerted_at.is_(None),
            PhoneCall.queued_at <= now - timedelta(seconds=after_seconds),
        )
        .values(waiting_alerted_at=now)
        .returning(PhoneCall.id)
    )
    ids = list(claimed.scalars())
    for phone_call_id in ids:
        phone_call = await get(session=session, phone_call_id=phone_call_id)
        category = phone_call.category.value if phone_call.category else "unknown"
        await alerts.raise_alert(
            session=session,
            clock=clock,
            kind="caller_waiting",
            key=f"phone_call:{phone_call_id}",
            text=f"来电 {phone_call_id}（{category}）已排队等待超过 {after_seconds} 秒，无空闲坐席，请处理",
            audience=AlertAudience.supervisors,
            detail={"phone_call_id": phone_call_id, "category": category, "waited_s": after_seconds},
        )
    return len(ids)


async def inbound_agent_leg(
    session: AsyncSession, clock: Clock, phone_call: PhoneCall, operator_id: int | None, sid: str, status: str
) -> Actions:
    offered_here = phone_call.state == PhoneCallState.ringing and phone_call.offered_agent_id == operator_id
    if status == ANSWERED:
        if offered_here and operator_id is not None:
            await _answered(session, clock, phone_call, operator_id, sid)
            return Actions()
        if phone_call.agent_leg_sid == sid and phone_call.state == PhoneCallState.talking:
            return Actions()  # a repeated report
        return Actions(hang_up=[sid])  # answered too late: the call went elsewhere or ended
    if status not in FINAL_LEG_STATUSES:
        return Actions()
    if offered_here and operator_id is not None:
        await withdraw_offer(
            session=session,
            clock=clock,
            phone_call_id=phone_call.id,
            operator_id=operator_id,
            back_of_line=True,
        )
        return Actions(route=True)
    if phone_call.state == PhoneCallState.talking and phone_call.agent_leg_sid == sid:
        # the agent hung up: the call ends
        return Actions(end_conference={conference_name(phone_call.id): phone_call.twilio_sid})
    return Actions()


async def _answered(
    session: AsyncSession, clock: Clock, phone_call: PhoneCall, operator_id: int, sid: str
) -> None:
    """The agent took the call: talking, the agent on the call."""
    operator = await session.get(Operator, operator_id)
    now = clock.now()
    moved = await session.execute(
        update(PhoneCall)
        .where(
            PhoneCall.id == phone_call.id,
            PhoneCall.state == PhoneCallState.ringing,
            PhoneCall.offered_agent_id == operator_id,
        )
        .values(
            state=PhoneCallState.talking,
            answered_at=now,
            agent_id=operator_id,
            agent_name=operator.display_name if operator else None,
            agent_leg_sid=sid,
            offered_agent_id=None,
            offer_deadline_at=None,
            updated_at=now,
        )
        .returning(PhoneCall.id)
    )
    if moved.scalar() is None:
        return
    await session.refresh(phone_call)
    await agents.on_call(session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call.id)
    announce_phone(session, phone_call, "answered")


async def caller_left(
    *, session: AsyncSession, clock: Clock, settings: Settings, phone_call: PhoneCall
) -> Actions:
    """The inbound caller hung up: before an agent answered, the call is abandoned (a call-back task;
    an elder's open alarm is raised again); while talking, the call is over."""
    if phone_call.state == PhoneCallState.ended:
        return Actions()
    if phone_call.state == PhoneCallState.talking:
        talk = seconds_since(clock, phone_call)
        await finish(
            session=session,
            clock=clock,
            settings=settings,
            phone_call=phone_call,
            outcome=PhoneOutcome.answered,
            talk_seconds=talk,
        )
        return Actions(end_conference={conference_name(phone_call.id): None})
    actions = Actions()
    if phone_call.category is None:  # gone before choosing: as with no key pressed, call back as an emergency
        phone_call.category = PhoneCategory.emergency
    if phone_call.state == PhoneCallState.ringing and phone_call.offered_agent_id is not None:
        if phone_call.agent_leg_sid:
            actions.hang_up.append(phone_call.agent_leg_sid)
        await agents.put_back(
            session=session, clock=clock, operator_id=phone_call.offered_agent_id, phone_call_id=phone_call.id
        )
    await finish(
        session=session,
        clock=clock,
        settings=settings,
        phone_call=phone_call,
        outcome=PhoneOutcome.abandoned,
        talk_seconds=None,
    )
    await callbacks.create(session=session, clock=clock, phone_call=phone_call)
    await _realert(session, clock, phone_call)
    actions.route = True
    return actions


def seconds_since(clock: Clock, phone_call: PhoneCall) -> int:
    if phone_call.answered_at is None:
        return 0
    return max(0, int((clock.now() - phone_call.answered_at).total_seconds()))


async def finish(
    *,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    phone_call: PhoneCall,
    outcome: PhoneOutcome,
    talk_seconds: int | None,
    note: str = "",
) -> bool:
    """The call is over (once: False if it already was); the agent on it goes to wrap-up."""
    now = clock.now()
    moved = await session.execute(
        update(PhoneCall)
        .where(PhoneCall.id == phone_call.id, PhoneCall.state != PhoneCallState.ended)
        .values(
            state=PhoneCallState.ended,
            outcome=outcome,
            talk_seconds=talk_seconds,
            ended_at=now,
            offered_agent_id=None,
            offer_deadline_at=None,
            updated_at=now,
            note="\n".join(part for part in (phone_call.note, note) if part),
        )
        .returning(PhoneCall.id)
    )
    if moved.scalar() is None:
        return False
    await session.refresh(phone_call)
    if phone_call.agent_id is not None:
        await agents.wrap_up(
            session=session,
            clock=clock,
            operator_id=phone_call.agent_id,
            phone_call_id=phone_call.id,
            seconds=settings.wrap_up_seconds,
        )
    announce_phone(session, phone_call, "ended")
    return True


async def _realert(session: AsyncSession, clock: Clock, phone_call: PhoneCall) -> None:
    """An elder with an open alarm call hung up while waiting: the call's timeline says so and its alarm
    sounds again on every console."""
    alarm = await _open_alarm(session, phone_call)
    if alarm is None:
        return
    await calls.record(
        session=session,
        clock=clock,
        actor=SYSTEM,
        call_id=alarm.id,
        kind="phone_abandoned",
        text="来电在排队时挂断，请立即回拨（caller hung up while waiting）",
        phone_call_id=phone_call.id,
        number=phone_call.from_number,
    )
    await session.flush()
    announce(
        session,
        CONSOLE_CHANNEL,
        {
            "type": "escalation",
            "level": 1,
            "reason": "caller_abandoned",
            "call": call_json(alarm, clock.now()),
        },
    )
