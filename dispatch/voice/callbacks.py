"""Call-back tasks: ring back the callers who hung up while waiting, at the top of the agents' worklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.calls.models import Call
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.clock import Clock
from dispatch.errors import InvalidTransition, NotFound
from dispatch.schemas import mask_phone
from dispatch.voice.models import CallbackState, CallbackTask, Direction, PhoneCall


def callback_json(task: CallbackTask, *, alarm_open: bool = False) -> dict[str, Any]:
    """A call-back task as the API shows it, with whether its elder's alarm call is open."""
    return {
        "id": task.id,
        "phone_call_id": task.phone_call_id,
        "number": task.number,
        "elder_id": task.elder_id,
        "category": task.category.value if task.category else None,
        "state": task.state.value,
        "created_at": task.created_at.isoformat(),
        "done_by": task.done_by,
        "done_at": task.done_at.isoformat() if task.done_at else None,
        "outcome_note": task.outcome_note,
        "alarm_open": alarm_open,
    }


async def _alarm_open(session: AsyncSession, elder_id: int | None) -> bool:
    if elder_id is None:
        return False
    return await session.scalar(select(Call.id).where(Call.open_elder_id == elder_id).limit(1)) is not None


async def create(*, session: AsyncSession, clock: Clock, phone_call: PhoneCall) -> CallbackTask:
    """A call-back task for a caller who hung up while waiting (once per phone call). An elder with an open
    alarm call also re-alerts the agents: `service.caller_left` puts it on the call's timeline and sounds it."""
    existing = await session.scalar(select(CallbackTask).where(CallbackTask.phone_call_id == phone_call.id))
    if existing is not None:
        return existing
    now = clock.now()
    task = CallbackTask(
        phone_call_id=phone_call.id,
        number=phone_call.from_number if phone_call.direction == Direction.inbound else phone_call.to_number,
        elder_id=phone_call.elder_id,
        category=phone_call.category,
        state=CallbackState.open,
        outcome_note="",
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    alarm_open = await _alarm_open(session, task.elder_id)
    _announce_callback(session, task, "created", alarm_open)
    return task


def _announce_callback(session: AsyncSession, task: CallbackTask, change: str, alarm_open: bool) -> None:
    shown = callback_json(task, alarm_open=alarm_open)
    shown["number"] = mask_phone(task.number) or ""
    announce(session, CONSOLE_CHANNEL, {"type": "callback", "change": change, "callback": shown})


async def list_open_first(
    *, session: AsyncSession, state: CallbackState, limit: int
) -> list[tuple[CallbackTask, bool]]:
    """Call-back tasks in this state: those of elders with an open alarm call first, then oldest first;
    each with whether its elder's alarm is open."""
    alarm = select(Call.id).where(Call.open_elder_id == CallbackTask.elder_id).exists()
    rows = await session.execute(
        select(CallbackTask, alarm)
        .where(CallbackTask.state == state)
        .order_by(case((alarm, 0), else_=1), CallbackTask.created_at, CallbackTask.id)
        .limit(limit)
    )
    return [(task, bool(open_)) for task, open_ in rows]


async def complete(
    *, session: AsyncSession, clock: Clock, actor: Actor, callback_id: int, note: str
) -> CallbackTask:
    """The caller was rung back: the task is done with what came of it."""
    task = await session.get(CallbackTask, callback_id)
    if task is None:
        raise NotFound(f"call-back task {callback_id} not found")
    if task.state != CallbackState.open:
        raise InvalidTransition(f"call-back task {callback_id} is {task.state.value}")
    now = clock.now()
    task.state, task.done_by, task.done_at = CallbackState.done, actor.username, now
    task.outcome_note, task.updated_at = note, now
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="callback.done",
        entity_type="callback_task",
        entity_id=task.id,
    )
    _announce_callback(session, task, "done", await _alarm_open(session, task.elder_id))
    return task
