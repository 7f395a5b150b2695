"""Calls: opening them from alarms or by hand, joining alarms to an open call, the state machine, claims,
notes, escalation. Every change is written to the call's timeline and announced on the console channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.calls import rules
from dispatch.calls.models import Call, CallEntry, CallSource
from dispatch.calls.rules import Alarm, CallCategory, ElderFacts, EventFacts
from dispatch.calls.states import OPEN_STATES, STATE_SLA_SECONDS, CallState, check_transition
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Contact, Elder, HealthRecord
from dispatch.elders.schemas import VitalsThresholds
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.ingest.models import DeviceEvent
from dispatch.schemas import mask_phone

CONSOLE_CHANNEL = "console"
SYSTEM = Actor.system("system")


def priority_label(priority: int) -> str:
    return f"P{priority}"


def call_json(call: Call, now: datetime) -> dict[str, Any]:
    """The call as the API and the console see it."""
    return {
        "id": call.id,
        "elder_id": call.elder_id,
        "elder_name": call.elder_name,
        "priority": priority_label(call.priority),
        "category": call.category,
        "state": call.state,
        "source": call.source,
        "reason": call.reason,
        "position": None
        if call.lon is None
        else {"lon": call.lon, "lat": call.lat, "fixed": bool(call.fixed)},
        "opened_at": call.opened_at.isoformat(),
        "state_since": call.state_since.isoformat(),
        "sla_deadline_at": call.sla_deadline_at.isoformat() if call.sla_deadline_at else None,
        "overdue": call.sla_deadline_at is not None and call.sla_deadline_at <= now,
        "ack_deadline_at": call.ack_deadline_at.isoformat() if call.ack_deadline_at else None,
        "escalation_level": call.escalation_level,
        "claimed_by": call.claimed_by,
        "claimed_by_name": call.claimed_by_name,
        "outcome": call.outcome,
    }


def where(call: Call, elder: Elder) -> tuple[float, float]:
    """(lon, lat) to send help to: the alarm's position, else the elder's home."""
    if call.lon is not None and call.lat is not None:
        return call.lon, call.lat
    return elder.home_lon, elder.home_lat


def _entry(call: Call, at: datetime, actor: Actor, kind: str, text: str = "", **detail: Any) -> CallEntry:
    return CallEntry(
        call_id=call.id,
        at=at,
        kind=kind,
        operator_id=actor.operator_id,
        username=actor.username,
        text=text,
        detail=detail,
    )


def _announce_change(session: AsyncSession, call: Call, now: datetime, change: str) -> None:
    message = {"type": "call", "change": change, "changes": [change], "call": call_json(call, now)}
    announce(session, CONSOLE_CHANNEL, message, key=("call", call.id), merge=_merge_changes)


def _merge_changes(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """One message per call and transaction: its first change, every change, and the call as it ends up."""
    return {**later, "change": earlier["change"], "changes": earlier["changes"] + later["changes"]}


def _sla_deadline(state: CallState, now: datetime) -> datetime | None:
    seconds = STATE_SLA_SECONDS.get(state)
    return None if seconds is None else now + timedelta(seconds=seconds)


async def get(*, session: AsyncSession, call_id: int) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call


async def open_call_of(*, session: AsyncSession, elder_id: int) -> Call | None:
    """The elder's open call, if any."""
    return await session.scalar(
        select(Call).where(Call.open_elder_id == elder_id).execution_options(populate_existing=True)
    )


async def open_call(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    elder_id: int,
    priority: int,
    category: CallCategory,
    source: CallSource,
    reason: str,
    position: tuple[float | None, float | None, bool | None] = (None, None, None),
    p1_ack_seconds: int = 30,
    event_id: int | None = None,
) -> Call:
    """A new call; Conflict if the elder already has an open one (join that instead)."""
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found")
    now = clock.now()
    lon, lat, fixed = position
    call = Call(
        elder_id=elder_id,
        elder_name=elder.name,
        open_elder_id=elder_id,
        source=source,
        priority=priority,
        category=category,
        state=CallState.new,
        reason=reason,
        lon=lon,
        lat=lat,
        fixed=fixed,
        opened_at=now,
        state_since=now,
        sla_deadline_at=_sla_deadline(CallState.new, now),
        ack_deadline_at=now + timedelta(seconds=p1_ack_seconds) if priority == 1 else None,
        escalation_level=0,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(call)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"elder {elder_id} already has an open call") from None
    opened = _entry(call, now, actor, "opened", reason, priority=priority_label(priority), category=category)
    opened.device_event_id = event_id
    session.add(opened)
    _announce_change(session, call, now, "opened")
    return call


async def join_alarm(
    *,
    session: AsyncSession,
    clock: Clock,
    call: Call,
    alarm: Alarm,
    event_id: int | None,
    position: tuple[float | None, float | None, bool | None],
) -> None:
    """Add an alarm to an open call: a timeline line, the newest position, a higher priority if it is."""
    now = clock.now()
    detail: dict[str, Any] = {"category": alarm.category, "priority": priority_label(alarm.priority)}
    if alarm.priority < call.priority:
        detail["raised_from"] = priority_label(call.priority)
        call.priority, call.category = alarm.priority, alarm.category
        if alarm.priority == 1 and call.state == CallState.new and call.ack_deadline_at is None:
            call.ack_deadline_at = now
    if position[0] is not None:
        call.lon, call.lat, call.fixed = position
    call.updated_at = now
    session.add(
        CallEntry(
            call_id=call.id,
            at=now,
            kind="alarm",
            operator_id=None,
            username="system",
            text=alarm.reason,
            detail=detail,
            device_event_id=event_id,
        )
    )
    _announce_change(session, call, now, "alarm")


def _facts(elder: Elder, health: HealthRecord | None) -> ElderFacts:
    thresholds = VitalsThresholds().model_dump() | (health.vitals_thresholds if health else {})
    return ElderFacts(vitals_thresholds=thresholds, safe_area=elder.safe_area)


@dataclass(slots=True)
class Batch:
    """What the rules need for a batch of events, read in three queries instead of three per event: the
    elders, their health records (None: none on file) and their open calls (kept current as the batch
    opens calls). A call another process opens meanwhile is found when opening one fails."""

    elders: dict[int, Elder]
    health: dict[int, HealthRecord | None]
    open_calls: dict[int, Call]


async def load_batch(*, session: AsyncSession, elder_ids: set[int]) -> Batch:
    """The elders of a batch of events, their health records and their open calls."""
    batch = Batch(elders={}, health=dict.fromkeys(elder_ids), open_calls={})
    if not elder_ids:
        return batch
    batch.elders = {e.id: e for e in await session.scalars(select(Elder).where(Elder.id.in_(elder_ids)))}
    for record in await session.scalars(select(HealthRecord).where(HealthRecord.elder_id.in_(elder_ids))):
        batch.health[record.elder_id] = record
    calls = await session.scalars(
        select(Call).where(Call.open_elder_id.in_(elder_ids)).execution_options(populate_existing=True)
    )
    batch.open_calls = {c.elder_id: c for c in calls}
    return batch


@dataclass(frozen=True, slots=True)
class AlarmApplied:
    call: Call
    became_p1: bool  # opened as P1 or raised to P1: the elder's contacts are to be told


async def apply_device_event(
    *,
    session: AsyncSession,
    clock: Clock,
    event: DeviceEvent,
    p1_ack_seconds: int,
    batch: Batch | None = None,
) -> AlarmApplied | None:
    """Run the alarm rules on a stored device event: open a call, join the open one, or nothing.
    Idempotent: an event already processed changes nothing."""
    if event.processed_at is not None:
        return None
    event.processed_at = clock.now()
    batch = batch or await load_batch(session=session, elder_ids={event.elder_id})
    elder = batch.elders.get(event.elder_id)
    if elder is None:
        return None
    facts = EventFacts(type=event.type, data=event.data, lon=event.lon, lat=event.lat, fixed=event.fixed)
    alarm = rules.evaluate(facts, _facts(elder, batch.health.get(elder.id)))
    if alarm is None:
        return None
    applied = await _open_or_join(session, clock, event, elder, alarm, p1_ack_seconds, batch)
    batch.open_calls[elder.id] = applied.call
    return applied


async def open_calls_in_bulk(
    *, session: AsyncSession, clock: Clock, events: Sequence[DeviceEvent], p1_ack_seconds: int, batch: Batch
) -> dict[int, AlarmApplied]:
    """Open the calls of a batch's alarms for elders without an open call in one INSERT (an alarm storm:
    thousands of elders at once), by event id. An elder whose call another process opened meanwhile is
    skipped by the unique key; its event is left to `apply_device_event`, which joins that call."""
    now = clock.now()
    first: dict[int, tuple[DeviceEvent, Alarm]] = {}
    for event in events:
        elder = batch.elders.get(event.elder_id)
        if (
            event.processed_at is not None
            or elder is None
            or elder.id in batch.open_calls
            or elder.id in first
        ):
            continue
        facts = EventFacts(type=event.type, data=event.data, lon=event.lon, lat=event.lat, fixed=event.fixed)
        alarm = rules.evaluate(facts, _facts(elder, batch.health.get(elder.id)))
        if alarm is not None:
            first[elder.id] = (event, alarm)
    if not first:
        return {}
    rows = [
        _new_call_row(batch.elders[e], event, alarm, now, p1_ack_seconds)
        for e, (event, alarm) in first.items()
    ]
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = await session.execute(
        insert(Call).on_conflict_do_nothing(index_elements=["open_elder_id"]).returning(Call.id), rows
    )
    ids = list(inserted.scalars())
    opened: dict[int, AlarmApplied] = {}
    for call in await session.scalars(select(Call).where(Call.id.in_(ids))):
        event, alarm = first[call.elder_id]
        event.processed_at = now
        entry = _entry(
            call,
            now,
            SYSTEM,
            "opened",
            alarm.reason,
            priority=priority_label(alarm.priority),
            category=alarm.category,
        )
        entry.device_event_id = event.id
        session.add(entry)
        _announce_change(session, call, now, "opened")
        batch.open_calls[call.elder_id] = call
        opened[event.id] = AlarmApplied(call, became_p1=alarm.priority == 1)
    return opened


def _new_call_row(
    elder: Elder, event: DeviceEvent, alarm: Alarm, now: datetime, p1_ack_seconds: int
) -> dict[str, Any]:
    return {
        "elder_id": elder.id,
        "elder_name": elder.name,
        "open_elder_id": elder.id,
        "source": CallSource.device_alarm,
        "priority": alarm.priority,
        "category": alarm.category,
        "state": CallState.new,
        "reason": alarm.reason,
        "lon": event.lon,
        "lat": event.lat,
        "fixed": event.fixed,
        "opened_at": now,
        "state_since": now,
        "sla_deadline_at": _sla_deadline(CallState.new, now),
        "ack_deadline_at": now + timedelta(seconds=p1_ack_seconds) if alarm.priority == 1 else None,
        "escalation_level": 0,
        "updated_at": now,
    }


async def _open_or_join(
    session: AsyncSession,
    clock: Clock,
    event: DeviceEvent,
    elder: Elder,
    alarm: Alarm,
    p1_ack_seconds: int,
    batch: Batch,
) -> AlarmApplied:
    position = (event.lon, event.lat, event.fixed)
    existing = batch.open_calls.get(elder.id)
    for _ in range(3):  # each turn loses only to an agent or a process acting on the same call meanwhile
        if existing is None:
            try:
                call = await open_call(
                    session=session,
                    clock=clock,
                    actor=SYSTEM,
                    elder_id=elder.id,
                    priority=alarm.priority,
                    category=alarm.category,
                    source=CallSource.device_alarm,
                    reason=alarm.reason,
                    position=position,
                    p1_ack_seconds=p1_ack_seconds,
                    event_id=event.id,
                )
            except Conflict:  # another process opened one a moment ago: join it
                existing = await open_call_of(session=session, elder_id=elder.id)
                continue
            return AlarmApplied(call, became_p1=alarm.priority == 1)
        if await _hold_if_open(session, existing):
            raised_to_p1 = alarm.priority == 1 and existing.priority > 1
            await join_alarm(
                session=session, clock=clock, call=existing, alarm=alarm, event_id=event.id, position=position
            )
            return AlarmApplied(existing, became_p1=raised_to_p1)
        # An agent closed the call in this instant: the alarm is not joined to a closed call.
        existing = await open_call_of(session=session, elder_id=elder.id)
    raise Conflict(f"the alarm of device event {event.id} found no stable call for elder {elder.id}")


async def _hold_if(session: AsyncSession, call: Call, *conditions: ColumnElement[bool]) -> bool:
    """Lock the call for this transaction if, as committed, it meets the conditions (a no-op UPDATE: on
    PostgreSQL it waits for whoever holds the row, then checks again); the call is brought up to date."""
    held = await session.execute(
        update(Call)
        .where(Call.id == call.id, *conditions)
        .values(updated_at=Call.updated_at)
        .returning(Call.id)
    )
    found = held.scalar() is not None
    await session.refresh(call)
    return found


async def _hold_if_open(session: AsyncSession, call: Call) -> bool:
    """Lock the call for this transaction if it is still open."""
    return await _hold_if(session, call, Call.open_elder_id.is_not(None))


def _check_holder(call: Call, actor: Actor) -> None:
    """Only the operator holding a call works it; another must take it over first (which is recorded).
    The system (rules, dispatcher) acts on any call."""
    if actor.operator_id is None or call.claimed_by in (None, actor.operator_id):
        return
    raise Conflict(f"call {call.id} is being handled by {call.claimed_by_name}: take it over first")


async def transition(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    call_id: int,
    target: CallState,
    outcome: str | None = None,
    note: str = "",
) -> Call:
    """Move a call along its state machine (409 if the move is not allowed, if another operator holds the
    call, or if it changed since it was read: the UPDATE is conditional on the state and holder read)."""
    call = await get(session=session, call_id=call_id)
    current = CallState(call.state)
    check_transition(current, target)
    _check_holder(call, actor)
    if target == CallState.closed and not outcome:
        raise ValidationFailed("closing a call needs an outcome code")
    now = clock.now()
    values: dict[str, Any] = {
        "state": target,
        "state_since": now,
        "updated_at": now,
        "sla_deadline_at": _sla_deadline(target, now),
    }
    if target != CallState.new:
        values["ack_deadline_at"] = None
    if target not in OPEN_STATES:
        values["open_elder_id"] = None
    if outcome:
        values["outcome"] = outcome
    if target == CallState.acknowledged and call.claimed_by is None:
        values["claimed_by"], values["claimed_by_name"] = actor.operator_id, actor.username
    moved = await session.execute(
        update(Call)
        .where(
            Call.id == call_id, Call.state == current, Call.claimed_by.is_not_distinct_from(call.claimed_by)
        )
        .values(**values)
        .returning(Call.id)
    )
    if moved.scalar() is None:
        raise Conflict(f"call {call_id} was changed by someone else meanwhile: reload it")
    await session.refresh(call)
    session.add(
        _entry(
            call, now, actor, "state", note, **{"from": current.value, "to": target.value, "outcome": outcome}
        )
    )
    await session.flush()
    _announce_change(session, call, now, target.value)
    return call


async def hold_for_dispatch(*, session: AsyncSession, actor: Actor, call_id: int) -> Call:
    """The call, locked for this transaction if it is dispatched and this actor may work it (Conflict
    otherwise): two dispatchers of one call take turns."""
    call = await get(session=session, call_id=call_id)
    _check_holder(call, actor)
    holder = call.claimed_by
    if not await _hold_if(
        session, call, Call.state == CallState.dispatched, Call.claimed_by.is_not_distinct_from(holder)
    ):
        raise Conflict(f"call {call_id} was changed by someone else meanwhile: reload it")
    return call


async def claim(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, take_over: bool = False
) -> Call:
    """Make this operator the call's handler; Conflict if another agent has it (unless taking over)."""
    call = await get(session=session, call_id=call_id)
    if call.claimed_by not in (None, actor.operator_id) and not take_over:
        raise Conflict(f"call {call_id} is being handled by {call.claimed_by_name}")
    now = clock.now()
    previous = call.claimed_by_name
    call.claimed_by, call.claimed_by_name, call.updated_at = actor.operator_id, actor.username, now
    session.add(_entry(call, now, actor, "claimed", previous=previous))
    await session.flush()
    _announce_change(session, call, now, "claimed")
    return call


async def record(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    call_id: int,
    kind: str,
    text: str = "",
    **detail: Any,
) -> CallEntry:
    """Add a line to the call's timeline and tell the consoles (written with the transaction's next flush:
    a batch of alarms writes its lines in one statement)."""
    call = await get(session=session, call_id=call_id)
    now = clock.now()
    entry = _entry(call, now, actor, kind, text, **detail)
    call.updated_at = now
    session.add(entry)
    _announce_change(session, call, now, kind)
    return entry


async def add_note(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, text: str
) -> CallEntry:
    entry = await record(session=session, clock=clock, actor=actor, call_id=call_id, kind="note", text=text)
    await session.flush()
    return entry


async def notify_contact(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, contact_id: int
) -> CallEntry:
    """Record that the agent asked for one of the elder's contacts to be told about the call."""
    call = await get(session=session, call_id=call_id)
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.elder_id != call.elder_id:
        raise NotFound(f"contact {contact_id} is not one of this elder's contacts")
    entry = await record(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call_id,
        kind="notify",
        contact_id=contact.id,
        name=contact.name,
        relation=contact.relation,
        phone=mask_phone(contact.phone),
    )
    await session.flush()
    return entry


async def timeline(*, session: AsyncSession, call_id: int) -> list[CallEntry]:
    await get(session=session, call_id=call_id)
    rows = await session.scalars(select(CallEntry).where(CallEntry.call_id == call_id).order_by(CallEntry.id))
    return list(rows)


async def list_calls(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    states: list[CallState] | None = None,
    elder_id: int | None = None,
) -> tuple[list[Call], int]:
    """Calls by priority, then oldest first."""
    query = select(Call)
    if states:
        query = query.where(Call.state.in_(states))
    if elder_id is not None:
        query = query.where(Call.elder_id == elder_id)
    return await fetch_page(
        session, query, Call.priority, Call.opened_at, Call.id, limit=limit, offset=offset
    )


async def escalate_due(*, session: AsyncSession, clock: Clock, p1_ack_seconds: int) -> list[Call]:
    """Escalate unacknowledged P1 calls past their deadline, one level at a time: 1 = loud alert to every
    agent, 2 = supervisors. The conditional UPDATE claims each step once, across processes."""
    now = clock.now()
    escalated: list[Call] = []
    for level in (1, 2):
        next_deadline = now + timedelta(seconds=p1_ack_seconds) if level == 1 else None
        rows = await session.execute(
            update(Call)
            .where(
                Call.state == CallState.new, Call.ack_deadline_at <= now, Call.escalation_level == level - 1
            )
            .values(escalation_level=level, ack_deadline_at=next_deadline, updated_at=now)
            .returning(Call.id)
        )
        for call_id in rows.scalars().all():
            call = await get(session=session, call_id=call_id)
            await session.refresh(call)
            target = "all agents" if level == 1 else "supervisors"
            session.add(
                _entry(call, now, SYSTEM, "escalated", f"not acknowledged: alerting {target}", level=level)
            )
            announce(
                session, CONSOLE_CHANNEL, {"type": "escalation", "level": level, "call": call_json(call, now)}
            )
            escalated.append(call)
    return escalated


async def next_ack_deadline(*, session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Call.ack_deadline_at)).where(Call.state == CallState.new, Call.escalation_level < 2)
    )
