"""The assessment endpoints: the instrument, applications, the procedure's steps, the form's answers.
Thin: the rules are in `service` and `workflow`, what a final result changes elsewhere in `flows`."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from dispatch.api.deps import ClockDep, CurrentActor, PagingDep, SessionDep, SignedInActor, require_role
from dispatch.api.errors import error_responses
from dispatch.assessments import flows, service
from dispatch.assessments.instrument import Instrument, load
from dispatch.assessments.report import render
from dispatch.assessments.schemas import (
    AnswersUpdate,
    AssessmentCreate,
    AssessmentPage,
    AssessmentRead,
    AssessmentRow,
    PlanLineRead,
    PlanProposal,
    PlanRequest,
    TransitionRequest,
)
from dispatch.assessments.workflow import Step
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.localtime import local_date
from dispatch.orders.schemas import PlanRead
from dispatch.schemas import RowId

router = APIRouter(prefix="/api/v1", tags=["assessments"])

ReaderActor = Annotated[Actor, Depends(require_role(*service.READERS))]
AssessorActor = Annotated[Actor, Depends(require_role(Role.assessor))]


@router.get("/assessment-instrument", response_model=Instrument)
async def assessment_instrument(actor: SignedInActor) -> Instrument:
    """The instrument in use (GB/T 42195-2022): every signed-in operator, assessors too, may read the form."""
    return load()


@router.post("/assessments", response_model=AssessmentRow, status_code=201)
async def apply(
    body: AssessmentCreate, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> AssessmentRow:
    """Take an application (from the elder, their family or the community; an agent may enter it from a
    call); missing materials are listed at once."""
    assessment = await service.apply(session=session, clock=clock, actor=actor, **body.model_dump())
    return AssessmentRow.of(assessment, local_date(clock.now()))


@router.get("/assessments", response_model=AssessmentPage)
async def list_assessments(
    session: SessionDep,
    clock: ClockDep,
    actor: SignedInActor,
    paging: PagingDep,
    state: Step | None = None,
    overdue: bool | None = None,
    elder_id: Annotated[RowId | None, Query()] = None,
) -> AssessmentPage:
    """The applications board: soonest deadline first; the level shows once final, never the answers."""
    rows, total = await service.list_assessments(
        session=session,
        clock=clock,
        limit=paging.limit,
        offset=paging.offset,
        step=state,
        overdue=overdue,
        elder_id=elder_id,
    )
    today = local_date(clock.now())
    return AssessmentPage(items=[AssessmentRow.of(row, today) for row in rows], total=total)


@router.get("/assessments/{assessment_id}", response_model=AssessmentRead)
async def read(
    assessment_id: RowId, session: SessionDep, clock: ClockDep, actor: ReaderActor
) -> AssessmentRead:
    """The whole assessment, answers included (assessors and supervisors; audited)."""
    assessment = await service.read(session=session, clock=clock, actor=actor, assessment_id=assessment_id)
    return AssessmentRead.whole(assessment, local_date(clock.now()))


@router.get(
    "/assessments/{assessment_id}/report.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the printable report"},
        **error_responses(409),  # not assessed yet
    },
)
async def report(assessment_id: RowId, session: SessionDep, clock: ClockDep, actor: ReaderActor) -> Response:
    """The printable assessment report, in Chinese (assessors and supervisors; audited)."""
    assessment, elder = await service.for_report(
        session=session, clock=clock, actor=actor, assessment_id=assessment_id
    )
    today = local_date(clock.now())
    pdf = await asyncio.to_thread(render, assessment, elder, load(assessment.instrument), today)
    filename = f"assessment-{assessment.id}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


@router.get("/assessments/{assessment_id}/plan", response_model=PlanProposal, responses=error_responses(409))
async def plan_proposal(
    assessment_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> PlanProposal:
    """The service plan the result calls for, merged with the needs the elder stated (to edit, then make)."""
    level, lines = await service.plan_proposal(session=session, assessment_id=assessment_id)
    return PlanProposal(level=level, lines=[PlanLineRead(**asdict(line)) for line in lines])


@router.post("/assessments/{assessment_id}/plan", response_model=list[PlanRead], status_code=201)
async def make_plans(
    assessment_id: RowId, body: PlanRequest, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> list[PlanRead]:
    """Turn the edited service plan of a final assessment into weekly recurring plans (once)."""
    plans = await flows.make_plans(
        session=session, clock=clock, actor=actor, assessment_id=assessment_id, lines=body.lines
    )
    return [PlanRead.model_validate(plan) for plan in plans]


@router.put("/assessments/{assessment_id}/answers", response_model=AssessmentRead)
async def save_answers(
    assessment_id: RowId, body: AnswersUpdate, session: SessionDep, clock: ClockDep, actor: AssessorActor
) -> AssessmentRead:
    """Save the form as it stands (a draft); 409 when someone saved a newer version meanwhile."""
    assessment = await service.save_answers(
        session=session,
        clock=clock,
        actor=actor,
        assessment_id=assessment_id,
        version=body.version,
        answers=body.answers,
        findings=body.findings,
        needs=body.needs.model_dump(mode="json") if body.needs else None,
    )
    return AssessmentRead.whole(assessment, local_date(clock.now()))


@router.post("/assessments/{assessment_id}/transition", response_model=AssessmentRow)
async def transition(
    assessment_id: RowId, body: TransitionRequest, session: SessionDep, clock: ClockDep, actor: SignedInActor
) -> AssessmentRow:
    """Move the assessment on as the procedure and the caller's role allow (see `service.move`)."""
    assessment = await flows.move(
        session=session,
        clock=clock,
        actor=actor,
        assessment_id=assessment_id,
        to=body.to,
        note=body.note,
        materials=body.materials,
    )
    return AssessmentRow.of(assessment, local_date(clock.now()))
