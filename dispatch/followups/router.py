"""The follow-up worklist: what is due, and recording each attempt (with a complaint if one is raised)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from dispatch.api.deps import ClockDep, CurrentActor, PagingDep, SessionDep, SettingsDep
from dispatch.audit import service as audit
from dispatch.complaints import service as complaints
from dispatch.complaints.models import ComplaintSource, ComplaintTarget
from dispatch.complaints.schemas import ComplaintCreate
from dispatch.evidence import flows as evidence_flows
from dispatch.followups import service
from dispatch.followups.models import FollowUp, FollowUpState
from dispatch.followups.schemas import FollowUpRead, FollowUpRecord
from dispatch.schemas import Page, RowId, mask_phone

router = APIRouter(prefix="/api/v1/follow-ups", tags=["follow-ups"])


def _read(follow_up: FollowUp, clock: ClockDep, phone: str | None) -> FollowUpRead:
    return FollowUpRead.model_validate(follow_up).model_copy(
        update={"overdue": service.is_overdue(follow_up, clock.now()), "elder_phone": phone}
    )


@router.get("", response_model=Page[FollowUpRead])
async def list_follow_ups(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    state: FollowUpState | None = None,
    due: Literal["now"] | None = None,
    provider_id: RowId | None = None,
    elder_id: RowId | None = None,
) -> Page[FollowUpRead]:
    """The worklist, soonest due first (`due=now`: only those that may be tried now); phones masked."""
    items, total = await service.list_follow_ups(
        session=session,
        now=clock.now(),
        limit=paging.limit,
        offset=paging.offset,
        state=state,
        due_now=due == "now",
        provider_id=provider_id,
        elder_id=elder_id,
    )
    phones = await service.elder_phones(session=session, elder_ids={f.elder_id for f in items})
    return Page(items=[_read(f, clock, mask_phone(phones.get(f.elder_id))) for f in items], total=total)


@router.get("/{follow_up_id}", response_model=FollowUpRead)
async def read_follow_up(
    follow_up_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> FollowUpRead:
    """One follow-up with the elder's phone in full, to dial; the read is audited."""
    follow_up = await service.get(session=session, follow_up_id=follow_up_id)
    phones = await service.elder_phones(session=session, elder_ids={follow_up.elder_id})
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="elder.read_phone",
        entity_type="elder",
        entity_id=follow_up.elder_id,
        detail={"follow_up_id": follow_up_id},
    )
    return _read(follow_up, clock, phones.get(follow_up.elder_id))


@router.post("/{follow_up_id}", response_model=FollowUpRead)
async def record_follow_up(
    follow_up_id: RowId,
    body: FollowUpRecord,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> FollowUpRead:
    """Record an attempt: reached with a 1-5 score and comment (and a complaint, if raised), or not reached."""
    follow_up = await service.record(
        session=session,
        clock=clock,
        actor=actor,
        follow_up_id=follow_up_id,
        reached=body.reached,
        satisfaction=body.satisfaction,
        comment=body.comment,
        rules=service.rules_for(settings),
    )
    await evidence_flows.follow_up_recorded(session=session, clock=clock, actor=actor, follow_up=follow_up)
    phone = (await service.elder_phones(session=session, elder_ids={follow_up.elder_id})).get(
        follow_up.elder_id
    )
    complaint_id = None
    if body.complaint is not None:
        complaint = await complaints.create(
            session=session,
            clock=clock,
            actor=actor,
            data=ComplaintCreate(
                source=ComplaintSource.follow_up,
                target=ComplaintTarget.provider if follow_up.provider_id else ComplaintTarget.service,
                text=body.complaint.text,
                follow_up_id=follow_up.id,
                complainant_name=follow_up.elder_name,
                complainant_phone=phone,
            ),
            due_hours=settings.complaint_due_hours,
        )
        complaint_id = complaint.id
    return _read(follow_up, clock, mask_phone(phone)).model_copy(update={"complaint_id": complaint_id})
