"""Device events through the alarm rules, a batch at a time: each event judged once, in order (the
elder's alarm conditions carried from one reading to the next and saved at the end), the calls of a storm
opened in one INSERT, the rest opened or joined one by one; P3/P4 alarms of the quiet hours held for the
morning; a condition that clears noted on its call, which resolves by itself when it was only that."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls import rules
from dispatch.calls.conditions import Condition, ConditionState, QuietHours, policies_for
from dispatch.calls.models import AlarmCondition, Call, CallSource, DeferredAlarm
from dispatch.calls.rules import HELD_BY_CATEGORY, Alarm, CallCategory, ElderFacts, EventFacts, Judgement
from dispatch.calls.service import (
    SYSTEM,
    announce_change,
    hold_if_open,
    join_alarm,
    open_call,
    open_call_of,
    priority_label,
    reason_detail,
    sla_deadline,
    timeline_entry,
)
from dispatch.calls.states import CallState
from dispatch.clock import Clock
from dispatch.elders.models import Elder, HealthRecord
from dispatch.elders.schemas import VitalsThresholds
from dispatch.errors import Conflict
from dispatch.ingest.models import DeviceEvent
from dispatch.localtime import LOCAL_TZ, parse_hours

# Calls a cleared condition may resolve by itself: raised by a condition, not yet being worked on.
SELF_RESOLVING = frozenset({CallCategory.vitals, CallCategory.geofence_exit})
CLEARED_OUTCOME = "condition_cleared"
# Where such a call goes: nobody took it yet -> cancelled; an agent acknowledged it -> resolved (they close it).
SELF_RESOLVABLE = {CallState.new: CallState.cancelled, CallState.acknowledged: CallState.resolved}
DEFERRED_BATCH = 100


def elder_facts(elder: Elder, health: HealthRecord | None, quiet: QuietHours) -> ElderFacts:
    thresholds = VitalsThresholds().model_dump() | (health.vitals_thresholds if health else {})
    overrides = elder.alarm_overrides or {}
    hours = overrides.get("quiet_hours")
    if isinstance(hours, str) and hours:
        quiet = QuietHours(*parse_hours(hours), zone=quiet.zone)
    return ElderFacts(
        vitals_thresholds=thresholds, safe_area=elder.safe_area, policies=policies_for(overrides), quiet=quiet
    )


@dataclass(slots=True)
class Batch:
    """What the rules need for a batch of events, read in a few queries instead of a few per event: the
    elders, their health records (None: none on file), their open calls (kept current as the batch opens
    calls) and their alarm conditions (locked, carried from event to event). A call another process opens
    meanwhile is found when opening one fails."""

    elders: dict[int, Elder]
    health: dict[int, HealthRecord | None]
    open_calls: dict[int, Call]
    conditions: dict[int, dict[Condition, ConditionState]] = field(default_factory=dict)  # by elder
    changed: set[tuple[int, Condition]] = field(default_factory=set)
    judgements: dict[int, Judgement] = field(default_factory=dict)  # by event id
    quiet: QuietHours = field(default_factory=QuietHours)

    def facts(self, elder: Elder) -> ElderFacts:
        return elder_facts(elder, self.health.get(elder.id), self.quiet)

    def any_raised(self, elder_id: int) -> bool:
        return any(s.raised for s in self.conditions.get(elder_id, {}).values())


async def load_batch(*, session: AsyncSession, elder_ids: set[int], quiet: QuietHours | None = None) -> Batch:
    """The elders of a batch of events, their health records, open calls and alarm conditions."""
    batch = Batch(elders={}, health=dict.fromkeys(elder_ids), open_calls={})
    if quiet is not None:
        batch.quiet = quiet
    if not elder_ids:
        return batch
    batch.elders = {e.id: e for e in await session.scalars(select(Elder).where(Elder.id.in_(elder_ids)))}
    for record in await session.scalars(select(HealthRecord).where(HealthRecord.elder_id.in_(elder_ids))):
        batch.health[record.elder_id] = record
    calls = await session.scalars(
        select(Call).where(Call.open_elder_id.in_(elder_ids)).execution_options(populate_existing=True)
    )
    batch.open_calls = {c.elder_id: c for c in calls}
    rows = await session.scalars(
        select(AlarmCondition)
        .where(AlarmCondition.elder_id.in_(elder_ids))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for row in rows:
        state = ConditionState(row.breaching_since, row.breaches, row.clears, row.raised)
        batch.conditions.setdefault(row.elder_id, {})[Condition(row.condition)] = state
    return batch


def judge_events(batch: Batch, events: Sequence[DeviceEvent]) -> None:
    """Each unprocessed event of the batch through the rules, in the order received; the conditions'
    states carried from one to the next (in the batch, saved by `save_conditions`)."""
    for event in sorted(events, key=lambda e: e.id):
        if event.processed_at is None and event.id not in batch.judgements:
            _judge(batch, event)


def _judge(batch: Batch, event: DeviceEvent) -> Judgement | None:
    elder = batch.elders.get(event.elder_id)
    if elder is None:
        return None
    facts = EventFacts(
        type=event.type,
        data=event.data,
        lon=event.lon,
        lat=event.lat,
        fixed=event.fixed,
        at=event.received_at,
    )
    states = batch.conditions.setdefault(elder.id, {})
    judgement = rules.judge(facts, batch.facts(elder), states)
    states.update(judgement.states)
    batch.changed.update((elder.id, condition) for condition in judgement.states)
    batch.judgements[event.id] = judgement
    return judgement


async def save_conditions(*, session: AsyncSession, clock: Clock, batch: Batch) -> None:
    """The batch's changed alarm conditions, written back in one statement."""
    if not batch.changed:
        return
    now = clock.now()
    rows = [
        {
            "elder_id": elder_id,
            "condition": condition.value,
            "breaching_since": state.breaching_since,
            "breaches": state.breaches,
            "clears": state.clears,
            "raised": state.raised,
            "updated_at": now,
        }
        for (elder_id, condition) in sorted(batch.changed)
        for state in [batch.conditions[elder_id][condition]]
    ]
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AlarmCondition)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["elder_id", "condition"],
            set_={
                k: statement.excluded[k]
                for k in ("breaching_since", "breaches", "clears", "raised", "updated_at")
            },
        ),
        rows,
    )
    batch.changed.clear()


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
    batch: Batch,
) -> AlarmApplied | None:
    """Run the alarm rules on a stored device event: open a call, join the open one, hold a quiet-hours
    alarm, or nothing. Idempotent: an event already processed changes nothing."""
    if event.processed_at is not None:
        return None
    judgement = batch.judgements.get(event.id) or _judge(batch, event)
    event.processed_at = clock.now()
    elder = batch.elders.get(event.elder_id)
    if elder is None or judgement is None or judgement.alarm is None:
        return None
    if judgement.defer_until is not None:
        await _defer(session, event, judgement.alarm, judgement.defer_until)
        return None
    applied = await open_or_join(session, clock, event, elder, judgement.alarm, p1_ack_seconds, batch)
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
    for event in sorted(events, key=lambda e: e.id):
        judgement = batch.judgements.get(event.id)
        if (
            event.processed_at is not None
            or judgement is None
            or judgement.alarm is None
            or judgement.defer_until is not None
            or event.elder_id in batch.open_calls
            or event.elder_id in first
        ):
            continue
        first[event.elder_id] = (event, judgement.alarm)
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
        entry = timeline_entry(
            call,
            now,
            SYSTEM,
            "opened",
            alarm.reason,
            priority=priority_label(alarm.priority),
            category=alarm.category,
            **reason_detail(alarm),
        )
        entry.device_event_id = event.id
        session.add(entry)
        announce_change(session, call, now, "opened")
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
        "sla_deadline_at": sla_deadline(CallState.new, now),
        "ack_deadline_at": now + timedelta(seconds=p1_ack_seconds) if alarm.priority == 1 else None,
        "escalation_level": 0,
        "updated_at": now,
    }


async def open_or_join(
    session: AsyncSession,
    clock: Clock,
    event: DeviceEvent,
    elder: Elder,
    alarm: Alarm,
    p1_ack_seconds: int,
    batch: Batch | None = None,
) -> AlarmApplied:
    position = (event.lon, event.lat, event.fixed)
    existing = (
        batch.open_calls.get(elder.id) if batch else await open_call_of(session=session, elder_id=elder.id)
    )
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
                    reason_detail=reason_detail(alarm),
                    position=position,
                    p1_ack_seconds=p1_ack_seconds,
                    event_id=event.id,
                )
            except Conflict:  # another process opened one a moment ago: join it
                existing = await open_call_of(session=session, elder_id=elder.id)
                continue
            return AlarmApplied(call, became_p1=alarm.priority == 1)
        if await hold_if_open(session, existing):
            raised_to_p1 = alarm.priority == 1 and existing.priority > 1
            await join_alarm(
                session=session, clock=clock, call=existing, alarm=alarm, event_id=event.id, position=position
            )
            return AlarmApplied(existing, became_p1=raised_to_p1)
        # An agent closed the call in this instant: the alarm is not joined to a closed call.
        existing = await open_call_of(session=session, elder_id=elder.id)
    raise Conflict(f"the alarm of device event {event.id} found no stable call for elder {elder.id}")


# --- conditions that clear ---------------------------------------------------------------------------


async def note_cleared(
    *, session: AsyncSession, clock: Clock, event: DeviceEvent, batch: Batch
) -> Call | None:
    """The conditions this event cleared, on the elder's open call's timeline. Returns the call when it
    should now resolve by itself: raised by a condition (P2 and below), nobody dispatched yet, and no
    condition of the elder still raised."""
    judgement = batch.judgements.get(event.id)
    call = batch.open_calls.get(event.elder_id)
    if judgement is None or not judgement.cleared or call is None or not await hold_if_open(session, call):
        return None
    now = clock.now()
    for reading in judgement.cleared:
        entry = timeline_entry(
            call, now, SYSTEM, "condition_cleared", reading.text, condition=reading.condition
        )
        session.add(entry)
    call.updated_at = now
    announce_change(session, call, now, "alarm")
    quiet_now = not batch.any_raised(event.elder_id)
    if quiet_now and call.priority > 1 and call.category in SELF_RESOLVING and call.state in SELF_RESOLVABLE:
        return call
    return None


# --- alarms held over the quiet hours -------------------------------------------------------------------


async def _defer(session: AsyncSession, event: DeviceEvent, alarm: Alarm, until: datetime) -> None:
    """Hold a P3/P4 alarm until the quiet hours end, unless one like it already waits."""
    waiting = await session.scalar(
        select(DeferredAlarm.id).where(
            DeferredAlarm.elder_id == event.elder_id,
            DeferredAlarm.category == alarm.category,
            DeferredAlarm.opened_at.is_(None),
        )
    )
    if waiting is not None:
        return
    session.add(
        DeferredAlarm(
            elder_id=event.elder_id,
            device_event_id=event.id,
            priority=alarm.priority,
            category=alarm.category,
            reason=alarm.reason,
            received_at=event.received_at,
            due_at=until,
        )
    )


async def open_deferred_due(*, session: AsyncSession, clock: Clock, p1_ack_seconds: int) -> list[Call]:
    """The held alarms whose quiet hours are over become calls (each claimed, so one process opens it)."""
    now = clock.now()
    due = (
        await session.scalars(
            select(DeferredAlarm.id)
            .where(DeferredAlarm.opened_at.is_(None), DeferredAlarm.due_at <= now)
            .order_by(DeferredAlarm.due_at)
            .limit(DEFERRED_BATCH)
        )
    ).all()
    if not due:
        return []
    claimed = (
        await session.scalars(
            update(DeferredAlarm)
            .where(DeferredAlarm.id.in_(due), DeferredAlarm.opened_at.is_(None))
            .values(opened_at=now)
            .returning(DeferredAlarm.id)
        )
    ).all()
    opened = []
    for held in await session.scalars(select(DeferredAlarm).where(DeferredAlarm.id.in_(claimed))):
        call = await _open_held(session, clock, held, p1_ack_seconds)
        if call is not None:
            opened.append(call)
    return opened


async def _open_held(
    session: AsyncSession, clock: Clock, held: DeferredAlarm, p1_ack_seconds: int
) -> Call | None:
    event = await session.get(DeviceEvent, held.device_event_id)
    elder = await session.get(Elder, held.elder_id)
    if event is None or elder is None:
        return None
    reported = held.received_at.astimezone(LOCAL_TZ).strftime("%H:%M")
    kind = HELD_BY_CATEGORY.get(held.category)
    alarm = Alarm(
        held.priority,
        held.category,
        f"{held.reason} (reported {reported}, held over the quiet hours)",
        kind.code if kind else "",
        {"held_from": reported},
    )
    applied = await open_or_join(session, clock, event, elder, alarm, p1_ack_seconds)
    return applied.call
