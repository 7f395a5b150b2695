"""Calls: opening them from alarms or by hand, joining alarms to an open call, the state machine, claims,
notes, escalation. Every change is written to the call's timeline and announced on the console channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.calls.models import Call, CallEntry, CallSource
from dispatch.calls.rules import Alarm, CallCategory
from dispatch.calls.states import OPEN_STATES, STATE_SLA_SECONDS, CallState, check_transition
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Elder
from dispatch.errors import Conflict, NotFound, ValidationFailed

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


def timeline_entry(
    call: Call, at: datetime, actor: Actor, kind: str, text: str = "", **detail: Any
) -> CallEntry:
    return CallEntry(
        call_id=call.id,
        at=at,
        kind=kind,
        operator_id=actor.operator_id,
        username=actor.username,
        text=text,
        detail=detail,
    )


def announce_change(session: AsyncSession, call: Call, now: datetime, change: str) -> None:
    message = {"type": "call", "change": change, "changes": [change], "call": call_json(call, now)}
    announce(session, CONSOLE_CHANNEL, message, key=("call", call.id), merge=_merge_changes)


def _merge_changes(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """One message per call and transaction: its first change, every change, and the call as it ends up."""
    return {**later, "change": earlier["change"], "changes": earlier["changes"] + later["changes"]}


def sla_deadline(state: CallState, now: datetime) -> datetime | None:
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
    reason_detail: dict[str, Any] | None = None,
    position: tuple[float | None, float | None, bool | None] = (None, None, None),
    p1_ack_seconds: int = 30,
    event_id: int | None = None,
) -> Call:
    """A new call; Conflict if the elder already has an open one (join that instead). `reason_detail`: an
    alarm's reason as a code, for the timeline (see `reason_detail`)."""
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
        sla_deadline_at=sla_deadline(CallState.new, now),
        ack_deadline_at=now + timedelta(seconds=p1_ack_seconds) if priority == 1 else None,
        escalation_level=0,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(call)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"elder {elder_id} already has an open call", reason="open_call_exists") from None
    opened = timeline_entry(
        call,
        now,
        actor,
        "opened",
        reason,
        priority=priority_label(priority),
        category=category,
        **(reason_detail or {}),
    )
    opened.device_event_id = event_id
    session.add(opened)
    announce_change(session, call, now, "opened")
    return call


def reason_detail(alarm: Alarm) -> dict[str, Any]:
    """An alarm's reason as a timeline entry's detail: a code and its parameters, which the console says in
    its language (the entry's text keeps the English sentence)."""
    return {"reason_code": alarm.code, "reason_params": alarm.params} if alarm.code else {}


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
    detail: dict[str, Any] = {
        "category": alarm.category,
        "priority": priority_label(alarm.priority),
        **reason_detail(alarm),
    }
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
    announce_change(session, call, now, "alarm")


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


async def hold_if_open(session: AsyncSession, call: Call) -> bool:
    """Lock the call for this transaction if it is still open."""
    return await _hold_if(session, call, Call.open_elder_id.is_not(None))


def _check_holder(call: Call, actor: Actor) -> None:
    """Only the operator holding a call works it; another must take it over first (which is recorded).
    The system (rules, dispatcher) acts on any call."""
    if actor.operator_id is None or call.claimed_by in (None, actor.operator_id):
        return
    raise Conflict(
        f"call {call.id} is being handled by {call.claimed_by_name}: take it over first",
        reason="claimed_by_other",
        params={"name": call.claimed_by_name},
    )


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
        raise ValidationFailed("closing a call needs an outcome code", reason="outcome_required")
    now = clock.now()
    values: dict[str, Any] = {
        "state": target,
        "state_since": now,
        "updated_at": now,
        "sla_deadline_at": sla_deadline(target, now),
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
        raise Conflict(
            f"call {call_id} was changed by someone else meanwhile: reload it", reason="changed_meanwhile"
        )
    await session.refresh(call)
    session.add(
        timeline_entry(
            call, now, actor, "state", note, **{"from": current.value, "to": target.value, "outcome": outcome}
        )
    )
    await session.flush()
    announce_change(session, call, now, target.value)
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
        raise Conflict(
            f"call {call_id} was changed by someone else meanwhile: reload it", reason="changed_meanwhile"
        )
    return call


async def claim(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, take_over: bool = False
) -> Call:
    """Make this operator the call's handler; Conflict if another agent has it (unless taking over)."""
    call = await get(session=session, call_id=call_id)
    if call.claimed_by not in (None, actor.operator_id) and not take_over:
        raise Conflict(
            f"call {call_id} is being handled by {call.claimed_by_name}",
            reason="claimed_by_other",
            params={"name": call.claimed_by_name},
        )
    now = clock.now()
    previous = call.claimed_by_name
    call.claimed_by, call.claimed_by_name, call.updated_at = actor.operator_id, actor.username, now
    session.add(timeline_entry(call, now, actor, "claimed", previous=previous))
    await session.flush()
    announce_change(session, call, now, "claimed")
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
    entry = timeline_entry(call, now, actor, kind, text, **detail)
    call.updated_at = now
    session.add(entry)
    announce_change(session, call, now, kind)
    return entry


async def add_note(
    *, session: AsyncSession, clock: Clock, actor: Actor, call_id: int, text: str
) -> CallEntry:
    entry = await record(session=session, clock=clock, actor=actor, call_id=call_id, kind="note", text=text)
    await session.flush()
    return entry


async def timeline(*, session: AsyncSession, call_id: int) -> list[CallEntry]:
    await get(session=session, call_id=call_id)
    rows = await session.scalars(select(CallEntry).where(CallEntry.call_id == call_id).order_by(CallEntry.id))
    return list(rows)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the queue and the history ask of the calls list."""

    states: list[CallState] | None = None
    elder_id: int | None = None
    priority: int | None = None
    category: CallCategory | None = None
    opened_from: datetime | None = None
    opened_before: datetime | None = None
    newest_first: bool = False  # the history; else the queue's order: priority, then oldest


async def list_calls(
    *, session: AsyncSession, limit: int, offset: int, where: CallFilter = CallFilter()
) -> tuple[list[Call], int]:
    """Calls in the queue's order (priority, then oldest first) or newest first, filtered."""
    query = select(Call)
    if where.states:
        query = query.where(Call.state.in_(where.states))
    if where.elder_id is not None:
        query = query.where(Call.elder_id == where.elder_id)
    if where.priority is not None:
        query = query.where(Call.priority == where.priority)
    if where.category is not None:
        query = query.where(Call.category == where.category)
    if where.opened_from is not None:
        query = query.where(Call.opened_at >= where.opened_from)
    if where.opened_before is not None:
        query = query.where(Call.opened_at < where.opened_before)
    order = (
        (Call.opened_at.desc(), Call.id.desc())
        if where.newest_first
        else (Call.priority, Call.opened_at, Call.id)
    )
    return await fetch_page(session, query, *order, limit=limit, offset=offset)


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
                timeline_entry(
                    call, now, SYSTEM, "escalated", f"not acknowledged: alerting {target}", level=level
                )
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
