"""Phone calls on record, the caller card, call-back tasks, recordings' playback and service-level figures.
Lists mask numbers; a single phone call, its caller card and its recording are audited reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import AwareDatetime

from dispatch.api.deps import ClockDep, CurrentActor, SessionDep, SettingsDep
from dispatch.errors import NotFound, ValidationFailed
from dispatch.schemas import MAX_ROW_ID, RowId, mask_phone
from dispatch.voice import callbacks, recordings, records, service, stats
from dispatch.voice.models import CallbackState, Direction, PhoneCall, PhoneCallState
from dispatch.voice.schemas import (
    CallbackDone,
    CallbackPage,
    CallbackRead,
    CallerCard,
    PhoneCallLog,
    PhoneCallPage,
    PhoneCallRead,
    VoiceStats,
)

router = APIRouter(tags=["phone calls"])

Limit = Annotated[int, Query(ge=1, le=500)]
MAX_STATS_WINDOW = timedelta(days=366)


def _read(phone_call: PhoneCall, recording: Any = None) -> PhoneCallRead:
    return PhoneCallRead.model_validate(service.phone_call_json(phone_call, recording))


@router.get("/api/v1/phone-calls", response_model=PhoneCallPage)
async def list_phone_calls(
    session: SessionDep,
    _actor: CurrentActor,
    direction: Direction | None = None,
    elder_id: RowId | None = None,
    agent: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="the agent's operator id")] = None,
    state: PhoneCallState | None = None,
    limit: Limit = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="ids below this")] = None,
) -> PhoneCallPage:
    """Phone calls newest first, numbers masked; page on with `before=<next_before>`."""
    rows, total = await records.list_phone_calls(
        session=session,
        limit=limit,
        before=before,
        direction=direction,
        elder_id=elder_id,
        agent_id=agent,
        state=state,
    )
    recordings = await records.latest_recordings(session, [row.id for row in rows])
    items = [
        PhoneCallRead.model_validate(
            records.masked_json(service.phone_call_json(row, recordings.get(row.id)))
        )
        for row in rows
    ]
    return PhoneCallPage(items=items, total=total, next_before=rows[-1].id if len(rows) == limit else None)


@router.post("/api/v1/phone-calls", response_model=PhoneCallRead, status_code=201)
async def log_phone_call(
    body: PhoneCallLog, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> PhoneCallRead:
    """Log a call made or taken outside the telephony; the caller is looked up by number."""
    phone_call = await records.log_by_hand(session=session, clock=clock, actor=actor, data=body)
    return _read(phone_call)


@router.get("/api/v1/phone-calls/{phone_call_id}", response_model=PhoneCallRead)
async def read_phone_call(
    phone_call_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> PhoneCallRead:
    """One phone call with its numbers; the read is audited."""
    phone_call = await records.read(session=session, clock=clock, actor=actor, phone_call_id=phone_call_id)
    recording = (await records.latest_recordings(session, [phone_call.id])).get(phone_call.id)
    return _read(phone_call, recording)


@router.get("/api/v1/phone-calls/{phone_call_id}/caller", response_model=CallerCard)
async def read_caller_card(
    phone_call_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> CallerCard:
    """The screen-pop card: the caller, the elder's card (with health), open calls and orders, recent
    contacts; audited."""
    card = await records.caller_card(session=session, clock=clock, actor=actor, phone_call_id=phone_call_id)
    return CallerCard.model_validate(card)


def _callback(task_json: dict[str, Any]) -> CallbackRead:
    return CallbackRead.model_validate({**task_json, "number": mask_phone(task_json["number"]) or ""})


@router.get("/api/v1/callbacks", response_model=CallbackPage)
async def list_callbacks(
    session: SessionDep, _actor: CurrentActor, state: CallbackState = CallbackState.open, limit: Limit = 100
) -> CallbackPage:
    """Call-back tasks: elders with an open alarm call first, then oldest first; numbers masked (the whole
    number is on the audited phone call)."""
    rows = await callbacks.list_open_first(session=session, state=state, limit=limit)
    return CallbackPage(
        items=[_callback(callbacks.callback_json(task, alarm_open=alarm)) for task, alarm in rows]
    )


@router.post("/api/v1/callbacks/{callback_id}/done", response_model=CallbackRead)
async def complete_callback(
    callback_id: RowId, body: CallbackDone, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> CallbackRead:
    """The caller was rung back: close the task with a note."""
    task = await callbacks.complete(
        session=session, clock=clock, actor=actor, callback_id=callback_id, note=body.note
    )
    return _callback(callbacks.callback_json(task))


@router.get(
    "/api/v1/phone-calls/{phone_call_id}/recording",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "The call's audio"}},
)
async def play_recording(
    phone_call_id: RowId, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> FileResponse:
    """The call's recording (the agent who took the call, supervisors and admins); every playback is
    audited."""
    recording = await recordings.for_playback(
        session=session, clock=clock, actor=actor, phone_call_id=phone_call_id
    )
    path = recordings.store_for(settings).local_path(recording.storage_key or "")
    if path is None:
        raise NotFound(f"the audio of phone call {phone_call_id} is missing from the store")
    return FileResponse(
        path,
        media_type=recording.content_type or recordings.DEFAULT_CONTENT_TYPE,
        filename=f"phone-call-{phone_call_id}.wav",
    )


@router.get("/api/v1/voice/stats", response_model=VoiceStats)
async def read_voice_stats(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _actor: CurrentActor,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> VoiceStats:
    """Service levels for [since, until) (default: today in Asia/Shanghai); waiting figures are as of now."""
    today_since, today_until = stats.today_window(clock.now())
    since, until = since or today_since, until or today_until
    if until <= since:
        raise ValidationFailed("until must be after since")
    if until - since > MAX_STATS_WINDOW:
        raise ValidationFailed(f"the window may span at most {MAX_STATS_WINDOW.days} days")
    figures = await stats.voice_stats(
        session=session, clock=clock, since=since, until=until, wrap_up_seconds=settings.wrap_up_seconds
    )
    return VoiceStats.model_validate(figures)
