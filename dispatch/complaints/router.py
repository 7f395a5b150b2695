"""Complaints and suggestions: any operator takes them; supervisors assign, investigate and resolve them.
Lists mask the complainant's phone; reading one complaint shows it and is audited. An agent never sees a
complaint about themselves."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api.deps import ClockDep, CurrentActor, ManagerActor, PagingDep, SessionDep, SettingsDep
from dispatch.clock import Clock
from dispatch.complaints import service
from dispatch.complaints.models import Complaint, ComplaintState, ComplaintTarget
from dispatch.complaints.schemas import (
    ComplaintAssign,
    ComplaintCreate,
    ComplaintNoteIn,
    ComplaintRead,
    ComplaintResolve,
)
from dispatch.schemas import Page, RowId, mask_phone

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])


def _read(complaint: Complaint, clock: Clock) -> ComplaintRead:
    overdue = service.is_overdue(complaint, clock.now())
    return ComplaintRead.model_validate({**_columns(complaint), "overdue": overdue})


def _listed(complaint: Complaint, clock: Clock) -> ComplaintRead:
    full = _read(complaint, clock)
    return full.model_copy(update={"complainant_phone": mask_phone(full.complainant_phone) or ""})


def _columns(complaint: Complaint) -> dict[str, object]:
    return {column.key: getattr(complaint, column.key) for column in Complaint.__table__.columns}


@router.post("", response_model=ComplaintRead, status_code=201)
async def create_complaint(
    body: ComplaintCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> ComplaintRead:
    """Take a complaint or suggestion; it goes to the least busy supervisor with a due date."""
    complaint = await service.create(
        session=session, clock=clock, actor=actor, data=body, due_hours=settings.complaint_due_hours
    )
    return _read(complaint, clock)


@router.get("", response_model=Page[ComplaintRead])
async def list_complaints(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    state: ComplaintState | None = None,
    provider_id: RowId | None = None,
    target: ComplaintTarget | None = None,
    overdue: bool | None = None,
    mine: bool = False,
) -> Page[ComplaintRead]:
    """Complaints, soonest due first; `mine` for those assigned to the caller."""
    items, total = await service.list_complaints(
        session=session,
        clock=clock,
        limit=paging.limit,
        offset=paging.offset,
        state=state,
        provider_id=provider_id,
        target=target,
        overdue=overdue,
        assigned_to=actor.operator_id if mine else None,
        hide_about=None if actor.is_manager else actor.operator_id,
    )
    return Page(items=[_listed(c, clock) for c in items], total=total)


@router.get("/{complaint_id}", response_model=ComplaintRead)
async def read_complaint(
    complaint_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> ComplaintRead:
    """One complaint with its investigation notes and the complainant's phone; the read is audited."""
    complaint = await service.read(session=session, clock=clock, actor=actor, complaint_id=complaint_id)
    return _read(complaint, clock)


@router.post("/{complaint_id}/assign", response_model=ComplaintRead)
async def assign_complaint(
    complaint_id: RowId, body: ComplaintAssign, session: SessionDep, clock: ClockDep, actor: ManagerActor
) -> ComplaintRead:
    """Hand the complaint to a supervisor or admin, optionally with a new due date."""
    complaint = await service.assign(
        session=session,
        clock=clock,
        actor=actor,
        complaint_id=complaint_id,
        operator_id=body.operator_id,
        due_at=body.due_at,
    )
    return _read(complaint, clock)


@router.post("/{complaint_id}/notes", response_model=ComplaintRead, status_code=201)
async def add_note(
    complaint_id: RowId, body: ComplaintNoteIn, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> ComplaintRead:
    """Add an investigation note (supervisors, admins and the assignee)."""
    complaint = await service.add_note(
        session=session, clock=clock, actor=actor, complaint_id=complaint_id, text=body.text
    )
    return _read(complaint, clock)


@router.post("/{complaint_id}/resolve", response_model=ComplaintRead)
async def resolve_complaint(
    complaint_id: RowId,
    body: ComplaintResolve,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: ManagerActor,
) -> ComplaintRead:
    """Record the outcome and how the complainant was told ("sms" texts them)."""
    complaint = await service.resolve(
        session=session,
        clock=clock,
        actor=actor,
        settings=settings,
        complaint_id=complaint_id,
        resolution=body.resolution,
        upheld=body.upheld,
        informed_how=body.informed_how,
    )
    return _read(complaint, clock)
