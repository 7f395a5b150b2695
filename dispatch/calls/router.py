"""Call endpoints for the console: the queue, a call's detail and timeline, and the agents' actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from dispatch.api.deps import ClockDep, CurrentActor, PagingDep, SessionDep, SettingsDep
from dispatch.calls import contacts, flows, ledger, service
from dispatch.calls.models import Call
from dispatch.calls.rules import CallCategory
from dispatch.calls.schemas import (
    CallCreate,
    CallDetail,
    CallEntryRead,
    ClaimIn,
    CloseIn,
    NoteIn,
    NotifyIn,
    TransitionIn,
)
from dispatch.calls.states import OPEN_STATES, CallState
from dispatch.clock import Clock
from dispatch.notify.service import options_for
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


def _json(call: Call, clock: Clock) -> dict[str, Any]:
    return service.call_json(call, clock.now())


@router.get("", response_model=Page[dict[str, Any]])
async def list_calls(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    state: Annotated[list[CallState] | None, Query(description="repeat for several; default: all")] = None,
    open: Annotated[bool, Query(description="only new, acknowledged, dispatched, on_scene")] = False,
    elder_id: RowId | None = None,
    priority: Annotated[str | None, Query(pattern=r"^P[1-4]$")] = None,
    category: CallCategory | None = None,
    opened_from: Annotated[AwareDatetime | None, Query(description="opened at or after")] = None,
    opened_before: AwareDatetime | None = None,
    newest_first: Annotated[bool, Query(description="the history's order; default: the queue's")] = False,
) -> Page[dict[str, Any]]:
    """The queue (by priority, then oldest first) or the history of calls (newest first), filtered."""
    where = service.CallFilter(
        states=sorted(OPEN_STATES) if open else state,
        elder_id=elder_id,
        priority=int(priority[1]) if priority else None,
        category=category,
        opened_from=opened_from,
        opened_before=opened_before,
        newest_first=newest_first,
    )
    items, total = await service.list_calls(
        session=session, limit=paging.limit, offset=paging.offset, where=where
    )
    return Page(items=[_json(c, clock) for c in items], total=total)


@router.post("", status_code=201)
async def open_call(
    body: CallCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> dict[str, Any]:
    """Open a call by hand (409 if the elder already has an open call)."""
    call = await service.open_call(
        session=session,
        clock=clock,
        actor=actor,
        elder_id=body.elder_id,
        priority=int(body.priority[1]),
        category=body.category,
        source=body.source,
        reason=body.reason,
        p1_ack_seconds=settings.p1_ack_seconds,
    )
    return _json(call, clock)


@router.get("/{call_id}", response_model=CallDetail)
async def read_call(call_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor) -> CallDetail:
    """A call and its whole timeline."""
    call = await service.get(session=session, call_id=call_id)
    entries = await service.timeline(session=session, call_id=call_id)
    return CallDetail(
        call=_json(call, clock),
        timeline=[CallEntryRead.model_validate(e) for e in entries],
        contact_messages=await ledger.contact_messages(session=session, call_id=call_id),
    )


@router.post("/{call_id}/acknowledge")
async def acknowledge(
    call_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> dict[str, Any]:
    """Take note of a new call (it is also claimed by this agent if nobody has it)."""
    call = await service.transition(
        session=session, clock=clock, actor=actor, call_id=call_id, target=CallState.acknowledged
    )
    return _json(call, clock)


@router.post("/{call_id}/claim")
async def claim(
    call_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor, body: ClaimIn | None = None
) -> dict[str, Any]:
    """Become the agent handling the call (409 if another agent has it, unless taking over)."""
    call = await service.claim(
        session=session, clock=clock, actor=actor, call_id=call_id, take_over=bool(body and body.take_over)
    )
    return _json(call, clock)


@router.post("/{call_id}/notes", response_model=CallEntryRead, status_code=201)
async def add_note(
    call_id: RowId, body: NoteIn, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> CallEntryRead:
    """Add a note to the call's timeline."""
    entry = await service.add_note(session=session, clock=clock, actor=actor, call_id=call_id, text=body.text)
    return CallEntryRead.model_validate(entry)


@router.post("/{call_id}/notify", response_model=CallEntryRead, status_code=201)
async def notify_contact(
    call_id: RowId,
    body: NotifyIn,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> CallEntryRead:
    """Text one of the elder's contacts about the call now (the alert the automatic chain sends), on the
    timeline; the call's `contact_messages` then show what became of it."""
    entry = await contacts.notify_contact(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call_id,
        contact_id=body.contact_id,
        options=options_for(settings),
    )
    return CallEntryRead.model_validate(entry)


@router.post("/{call_id}/transition")
async def transition(
    call_id: RowId,
    body: TransitionIn,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> dict[str, Any]:
    """Move the call to another state (409 if the state machine does not allow it, or another operator
    holds the call). A call leaving the open states ends its live jobs."""
    call = await flows.move_call(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call_id,
        target=body.state,
        outcome=body.outcome,
        note=body.note,
        options=options_for(settings),
    )
    return _json(call, clock)


@router.post("/{call_id}/close")
async def close(
    call_id: RowId,
    body: CloseIn,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> dict[str, Any]:
    """Close a resolved call with its outcome code."""
    call = await flows.move_call(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call_id,
        target=CallState.closed,
        outcome=body.outcome,
        note=body.note,
        options=options_for(settings),
    )
    return _json(call, clock)
