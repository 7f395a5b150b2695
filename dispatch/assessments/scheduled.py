"""The assessments' timed steps, run by the service desk's timer: steps past their deadline alert the
supervisors, and elders due for a re-assessment are proposed; each once, claimed by one conditional UPDATE
so two processes never both do it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dispatch.alerts.models import AlertAudience
from dispatch.alerts.service import raise_alert
from dispatch.assessments import reassessment, workflow
from dispatch.assessments.models import Assessment
from dispatch.assessments.workflow import CLOSED, Owner, Step
from dispatch.calls.models import Call
from dispatch.calls.rules import CallCategory
from dispatch.carecalls.models import CareCall
from dispatch.clock import Clock
from dispatch.elders.models import Elder
from dispatch.localtime import local_date

# The step's owner as the stored (Chinese) alert text says it; the console says it from the code.
OWNER_ZH = {
    Owner.applicant: "申请人",
    Owner.street_office: "街道办",
    Owner.bureau: "民政部门",
    Owner.agency: "评估机构",
}


async def alert_overdue(*, session: AsyncSession, clock: Clock) -> int:
    """Steps past their deadline: the supervisors are alerted, once per step (claimed by one conditional
    UPDATE, so two processes never both alert), the alert naming whom to chase (the step's owner: the
    street office and the agency have no accounts); how many."""
    now = clock.now()
    claimed = await session.execute(
        update(Assessment)
        .where(
            Assessment.step.not_in(CLOSED),
            Assessment.due_on < local_date(now),
            Assessment.overdue_alerted_at.is_(None),
        )
        .values(overdue_alerted_at=now)
        .returning(
            Assessment.id, Assessment.elder_id, Assessment.procedure, Assessment.step, Assessment.due_on
        )
    )
    rows = claimed.all()
    for assessment_id, elder_id, procedure, step, due_on in rows:
        due = due_on.isoformat() if due_on else ""
        owner = workflow.owner(procedure, step) or Owner.bureau
        await raise_alert(
            session=session,
            clock=clock,
            kind="assessment_overdue",
            key=f"assessment:{assessment_id}:{step}",
            text=f"评估 {assessment_id}（老人 {elder_id}）的 {step} 环节已超过期限 {due}，"
            f"责任方：{OWNER_ZH[owner]}",
            audience=AlertAudience.supervisors,
            detail={
                "assessment_id": assessment_id,
                "elder_id": elder_id,
                "step": step,
                "due_on": due,
                "owner": owner.value,
            },
        )
    return len(rows)


async def propose_reassessments(*, session: AsyncSession, clock: Clock) -> int:
    """Elders whose last final assessment is due again (a year on, a fall alarm or a hospital stay since),
    with none open: the supervisors are told, once per final result (claimed by one conditional UPDATE)."""
    now = clock.now()
    latest = (
        select(func.max(Assessment.id)).where(Assessment.step == Step.final).group_by(Assessment.elder_id)
    )
    still_open = select(Assessment.elder_id).where(Assessment.step.not_in(CLOSED))
    finals = await session.execute(
        select(Assessment.id, Assessment.elder_id, Assessment.step_entered_at, Elder.name)
        .join(Elder, Elder.id == Assessment.elder_id)
        .where(
            Assessment.id.in_(latest),
            Assessment.reassessment_proposed_at.is_(None),
            Assessment.elder_id.not_in(still_open),
        )
    )
    proposed = 0
    for assessment_id, elder_id, final_at, elder_name in finals.all():
        found = reassessment.reasons(
            final_at=final_at,
            now=now,
            falls=await _calls_since(session, elder_id, final_at, Call.category == CallCategory.fall),
            hospital_stays=await _calls_since(
                session, elder_id, final_at, Call.outcome.in_(reassessment.HOSPITAL_OUTCOMES)
            ),
            declines=await _declines_since(session, elder_id, final_at),
        )
        if found and await _claim_proposal(session, assessment_id, now):
            await raise_alert(
                session=session,
                clock=clock,
                kind="reassessment_due",
                key=f"reassessment:{assessment_id}",
                text=f"{elder_name} 需要重新评估（上次评估 {assessment_id}）：{'、'.join(found)}",
                audience=AlertAudience.supervisors,
                detail={
                    "elder_id": elder_id,
                    "elder_name": elder_name,
                    "assessment_id": assessment_id,
                    "reasons": found,
                },
            )
            proposed += 1
    return proposed


async def _calls_since(
    session: AsyncSession, elder_id: int, since: datetime, condition: ColumnElement[bool]
) -> int:
    count = await session.scalar(
        select(func.count(Call.id)).where(Call.elder_id == elder_id, Call.opened_at > since, condition)
    )
    return int(count or 0)


async def _declines_since(session: AsyncSession, elder_id: int, since: datetime) -> int:
    count = await session.scalar(
        select(func.count(CareCall.id)).where(
            CareCall.elder_id == elder_id, CareCall.decline_reported_at > since
        )
    )
    return int(count or 0)


async def _claim_proposal(session: AsyncSession, assessment_id: int, now: datetime) -> bool:
    claimed = await session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id, Assessment.reassessment_proposed_at.is_(None))
        .values(reassessment_proposed_at=now)
        .returning(Assessment.id)
    )
    return claimed.scalar() is not None
