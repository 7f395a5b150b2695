"""Care calls: every operator sees and records them; supervisors and admins can run the scheduler."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from dispatch.api.deps import ClockDep, CurrentActor, ManagerActor, PagingDep, SessionDep, SettingsDep
from dispatch.carecalls import service
from dispatch.carecalls.models import CareAssignee, CareCall, CareCallState
from dispatch.carecalls.planning import is_overdue
from dispatch.carecalls.schemas import AttemptIn, CareCallRead, ScheduleResult
from dispatch.clock import Clock
from dispatch.localtime import local_date
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1/care-calls", tags=["care calls"])


def _read(care_call: CareCall, today: date) -> CareCallRead:
    columns = {column.key: getattr(care_call, column.key) for column in CareCall.__table__.columns}
    return CareCallRead.model_validate(
        {**columns, "overdue": is_overdue(care_call.state, care_call.due_on, today)}
    )


def _today(clock: Clock) -> date:
    return local_date(clock.now())


@router.get("", response_model=Page[CareCallRead])
async def list_care_calls(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    state: CareCallState | None = None,
    assignee: CareAssignee | None = None,
    mine: bool = False,
    due_by: date | None = None,
    elder_id: RowId | None = None,
) -> Page[CareCallRead]:
    """Care calls by due day; `mine=true` for the caller's own, `due_by` for those due on or before a day."""
    items, total = await service.list_care_calls(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        state=state,
        assignee=assignee,
        operator_id=actor.operator_id if mine else None,
        due_on_or_before=due_by,
        elder_id=elder_id,
    )
    today = _today(clock)
    return Page(items=[_read(c, today) for c in items], total=total)


@router.post("/schedule", response_model=ScheduleResult)
async def run_schedule(session: SessionDep, clock: ClockDep, actor: ManagerActor) -> ScheduleResult:
    """Create this week's and this month's missing care calls now (the server also does it on a timer)."""
    return ScheduleResult(created=await service.schedule(session=session, clock=clock))


@router.get("/{care_call_id}", response_model=CareCallRead)
async def read_care_call(
    care_call_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> CareCallRead:
    """One care call with its attempts."""
    return _read(await service.get(session=session, care_call_id=care_call_id), _today(clock))


@router.post("/{care_call_id}/attempts", response_model=CareCallRead)
async def record_attempt(
    care_call_id: RowId,
    body: AttemptIn,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> CareCallRead:
    """Record one try at reaching the elder (reached or not); may link a service order or call opened
    from it and add to the elder's notes."""
    care_call = await service.record_attempt(
        session=session, clock=clock, settings=settings, actor=actor, care_call_id=care_call_id, data=body
    )
    return _read(care_call, _today(clock))
