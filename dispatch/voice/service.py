"""Phone calls through the hotline, the database side: an incoming call taken in (idempotent on its
CallSid) and identified, the menu's choice, the queue, offers to agents (the agent and the call each
claimed with one conditional UPDATE), what each leg's status means, abandoned calls (a call-back task),
the waiting alert, outbound calls and where their outcome is logged.

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
from dispatch.carecalls import service as care_calls
from dispatch.carecalls.models import CareCall, CareCallState
from dispatch.carecalls.schemas import AttemptIn
from dispatch.clock import Clock
from dispatch.complaints.models import Complaint
from dispatch.elders.models import Contact
from dispatch.errors import Conflict, NotFound, PermissionDenied
from dispatch.followups import service as follow_ups
from dispatch.followups.models import FollowUp, FollowUpState
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider
from dispatch.settings import Settings
from dispatch.voice import agents
from dispatch.voice.identify import identify
from dispatch.voice.models import (
    AgentState,
    CallbackState,
    CallbackTask,
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
    end_conference: list[str] = field(default_factory=list)  # conference names
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


def callback_json(task: CallbackTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "phone_call_id": task.phone_call_id,
        "number": task.number,
        "elder_id": task.elder_id,
        "category": task.category.value if task.category else None,
        "state": task.state.value,
        "created_at": task.created_at.isoformat(),
        "done_by": task.done_by,
        "done_at": _iso(task.done_at),
        "outcome_note": task.outcome_note,
    }


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


# --- what the legs' statuses mean ---------------------------------------------------------------------


async def leg_status(
    *,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    leg: str,
    phone_call_id: int | None,
    operator_id: int | None,
    sid: str,
    status: str,
    duration_s: int | None,
) -> Actions:
    """One status callback of a leg: the caller's (inbound), the agent's, the outbound target's, an added
    party's or a transfer's."""
    if leg in ("", "caller"):
        phone_call = await by_twilio_sid(session=session, sid=sid)
        if phone_call is None or status not in FINAL_LEG_STATUSES:
            return Actions()
        return await caller_left(session=session, clock=clock, settings=settings, phone_call=phone_call)
    if phone_call_id is None:
        return Actions()
    phone_call = await session.get(PhoneCall, phone_call_id, populate_existing=True)
    if phone_call is None:
        return Actions()
    if leg == "agent" and phone_call.direction == Direction.inbound:
        return await _inbound_agent_leg(session, clock, phone_call, operator_id, sid, status)
    if leg == "agent":
        return await _outbound_agent_leg(session, clock, settings, phone_call, sid, status)
    if leg == "target":
        return await _target_leg(session, clock, settings, phone_call, sid, status, duration_s)
    if leg == "transfer" and operator_id is not None:
        return await _transfer_leg(session, clock, settings, phone_call, operator_id, sid, status)
    return Actions()


async def _inbound_agent_leg(
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
        return Actions(end_conference=[conference_name(phone_call.id)])  # the agent hung up: the call ends
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
        talk = _seconds_since(clock, phone_call)
        await finish(
            session=session,
            clock=clock,
            settings=settings,
            phone_call=phone_call,
            outcome=PhoneOutcome.answered,
            talk_seconds=talk,
        )
        return Actions(end_conference=[conference_name(phone_call.id)])
    actions = Actions()
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
    await _callback_task(session, clock, phone_call)
    await _realert(session, clock, phone_call)
    actions.route = True
    return actions


def _seconds_since(clock: Clock, phone_call: PhoneCall) -> int:
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
    if phone_call.direction == Direction.outbound:
        await _log_outbound(session, clock, settings, phone_call)
    return True


async def _callback_task(session: AsyncSession, clock: Clock, phone_call: PhoneCall) -> None:
    """Ring this caller back: on the agents' worklist, once per call."""
    existing = await session.scalar(select(CallbackTask).where(CallbackTask.phone_call_id == phone_call.id))
    if existing is not None:
        return
    now = clock.now()
    task = CallbackTask(
        phone_call_id=phone_call.id,
        number=phone_call.from_number,
        elder_id=phone_call.elder_id,
        category=phone_call.category,
        state=CallbackState.open,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    announce(
        session, CONSOLE_CHANNEL, {"type": "callback", "change": "created", "callback": callback_json(task)}
    )


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


# --- transfer ------------------------------------------------------------------------------------------


async def _transfer_leg(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    phone_call: PhoneCall,
    operator_id: int,
    sid: str,
    status: str,
) -> Actions:
    """The agent a call is transferred to answered (they take it over, the first agent's leg is hung up
    and goes to wrap-up) or did not (they are free again, the first agent keeps the call)."""
    if phone_call.offered_agent_id != operator_id or phone_call.state != PhoneCallState.talking:
        return Actions(hang_up=[sid]) if status == ANSWERED else Actions()
    if status == ANSWERED:
        actions = Actions()
        first, first_leg = phone_call.agent_id, phone_call.agent_leg_sid
        operator = await session.get(Operator, operator_id)
        phone_call.agent_id, phone_call.agent_leg_sid = operator_id, sid
        phone_call.agent_name = operator.display_name if operator else None
        phone_call.offered_agent_id, phone_call.updated_at = None, clock.now()
        await session.flush()
        if first is not None:
            await agents.wrap_up(
                session=session,
                clock=clock,
                operator_id=first,
                phone_call_id=phone_call.id,
                seconds=settings.wrap_up_seconds,
            )
        await agents.on_call(
            session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call.id
        )
        if first_leg:
            actions.hang_up.append(first_leg)
        announce_phone(session, phone_call, "updated")
        return actions
    if status in FINAL_LEG_STATUSES:
        phone_call.offered_agent_id, phone_call.updated_at = None, clock.now()
        await session.flush()
        await agents.put_back(
            session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call.id
        )
        announce_phone(session, phone_call, "updated")
    return Actions()


async def start_transfer(
    *, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int, operator_id: int
) -> tuple[PhoneCall, str]:
    """Ring another agent (or supervisor) for a call in progress; returns the call and the phone to ring.
    They must be ready; when they answer they take the call over."""
    phone_call = await _controlled(session, actor, phone_call_id)
    if phone_call.state != PhoneCallState.talking:
        raise Conflict("only a call in progress can be transferred")
    if operator_id == phone_call.agent_id:
        raise Conflict("that agent is already on the call")
    operator = await session.get(Operator, operator_id)
    if operator is None or not operator.active or operator.role not in agents.SEAT_ROLES:
        raise NotFound(f"agent {operator_id} not found")
    if not operator.phone:
        raise Conflict(f"{operator.display_name} has no phone to ring")
    if phone_call.offered_agent_id is not None:
        raise Conflict("a transfer is already ringing")
    was = await agents.claim_for_offer(
        session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call_id
    )
    if was is None:
        raise Conflict(f"{operator.display_name} is not ready")
    phone_call.offered_agent_id, phone_call.updated_at = operator_id, clock.now()
    await session.flush()
    await agents.announce_agent(session, operator_id)
    announce_phone(session, phone_call, "offered", for_operator_id=operator_id)
    return phone_call, operator.phone


async def transfer_failed(
    *, session: AsyncSession, clock: Clock, phone_call_id: int, operator_id: int
) -> None:
    """The transfer's ring could not be placed: the agent is free again."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    if phone_call.offered_agent_id == operator_id and phone_call.state == PhoneCallState.talking:
        phone_call.offered_agent_id = None
        await session.flush()
        announce_phone(session, phone_call, "updated")
    await agents.put_back(session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call_id)


# --- in-call controls -------------------------------------------------------------------------------


async def _controlled(session: AsyncSession, actor: Actor, phone_call_id: int) -> PhoneCall:
    """The call, if this actor may control it: the agent on it, or a supervisor / admin."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    if phone_call.agent_id != actor.operator_id and not actor.is_manager:
        raise PermissionDenied("only the agent on this call or a supervisor may control it")
    return phone_call


async def controlled(*, session: AsyncSession, actor: Actor, phone_call_id: int) -> PhoneCall:
    """The call (with its legs) for an in-call control; 403 for anyone but its agent or a supervisor."""
    return await _controlled(session, actor, phone_call_id)


def other_side(phone_call: PhoneCall) -> str | None:
    """The leg on the other side from the agent: the caller (inbound) or the target (outbound)."""
    return phone_call.twilio_sid


async def party_number(
    *,
    session: AsyncSession,
    settings: Settings,
    to: str | None,
    contact_id: int | None,
    provider_id: int | None,
    emergency_120: bool,
) -> tuple[str, str]:
    """The number to add to a call and a label for the timeline."""
    if emergency_120:
        return settings.emergency_number, "120"
    if contact_id is not None:
        contact = await session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        return contact.phone, f"{contact.relation or contact.kind.value} {contact.name}"
    if provider_id is not None:
        provider = await session.get(Provider, provider_id)
        if provider is None:
            raise NotFound(f"provider {provider_id} not found")
        return provider.phone, provider.name
    if to:
        return to, to
    raise Conflict("say whom to add: to, contact_id, provider_id or emergency_120")


async def note_party(
    *, session: AsyncSession, clock: Clock, actor: Actor, phone_call: PhoneCall, label: str
) -> None:
    """A party was added to the call: on its alarm's timeline when it has one, and on the consoles."""
    if phone_call.call_id is not None:
        await calls.record(
            session=session,
            clock=clock,
            actor=actor,
            call_id=phone_call.call_id,
            kind="phone_party",
            text=f"加入通话：{label}",
            phone_call_id=phone_call.id,
        )
        await session.flush()
    announce_phone(session, phone_call, "updated")


def announce_held(session: AsyncSession, phone_call: PhoneCall, *, on: bool) -> None:
    message = {"type": "phone", "change": "held", "held": on, "phone_call": phone_call_json(phone_call)}
    announce(session, CONSOLE_CHANNEL, message)


def announce_muted(session: AsyncSession, phone_call: PhoneCall, *, on: bool) -> None:
    message = {"type": "phone", "change": "updated", "muted": on, "phone_call": phone_call_json(phone_call)}
    announce(session, CONSOLE_CHANNEL, message)


async def wrap_up_done(*, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int) -> PhoneCall:
    """The agent finished the after-call work of this call: ready."""
    phone_call = await _controlled(session, actor, phone_call_id)
    if phone_call.agent_id is None:
        raise Conflict("nobody took this call")
    presence = await agents.presence_of(session=session, operator_id=phone_call.agent_id)
    if presence is None or presence.state != AgentState.wrap_up or presence.phone_call_id != phone_call_id:
        raise Conflict("not in wrap-up after this call")
    await agents.end_wrap_up(session=session, clock=clock, operator_id=phone_call.agent_id)
    return phone_call


# --- outbound -------------------------------------------------------------------------------------------


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
    await finish(
        session=session,
        clock=clock,
        settings=settings,
        phone_call=phone_call,
        outcome=PhoneOutcome.failed,
        talk_seconds=None,
        note=reason,
    )
    return phone_call


async def _outbound_agent_leg(
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
        return Actions(end_conference=[conference_name(phone_call.id)])
    actions = Actions()
    if phone_call.twilio_sid:  # the agent gave up while the target rang
        actions.hang_up.append(phone_call.twilio_sid)
        await finish(
            session=session,
            clock=clock,
            settings=settings,
            phone_call=phone_call,
            outcome=PhoneOutcome.no_answer,
            talk_seconds=None,
        )
    else:
        await finish(
            session=session,
            clock=clock,
            settings=settings,
            phone_call=phone_call,
            outcome=PhoneOutcome.failed,
            talk_seconds=None,
            note="坐席电话未接通（the agent's phone did not answer）",
        )
    return actions


async def _target_leg(
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
        talk = duration_s if duration_s is not None else _seconds_since(clock, phone_call)
        outcome = PhoneOutcome.answered
    else:
        talk, outcome = None, OUTCOME_OF_STATUS.get(status, PhoneOutcome.failed)
    await finish(
        session=session,
        clock=clock,
        settings=settings,
        phone_call=phone_call,
        outcome=outcome,
        talk_seconds=talk,
    )
    return Actions(
        end_conference=[conference_name(phone_call.id)],
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
