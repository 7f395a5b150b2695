"""What a final assessment changes elsewhere: the elder's ability level in their health file (which the care
calls' risk category reads: level 3 and above are called weekly), and the recurring plans its service plan
becomes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.assessments import service
from dispatch.assessments.models import Assessment
from dispatch.assessments.schemas import PlanLineIn
from dispatch.assessments.workflow import Step
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.elders.models import HealthRecord
from dispatch.errors import Conflict, InvalidTransition
from dispatch.localtime import local_date
from dispatch.orders import service as orders
from dispatch.orders.models import PlanFrequency, RecurringPlan
from dispatch.orders.schemas import PlanCreate


async def move(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    assessment_id: int,
    to: Step,
    note: str = "",
    materials: list[str] | None = None,
) -> Assessment:
    """Move the assessment on (`service.move`); a final result becomes the elder's level."""
    assessment = await service.move(
        session=session,
        clock=clock,
        actor=actor,
        assessment_id=assessment_id,
        to=to,
        note=note,
        materials=materials,
    )
    if assessment.step == Step.final and assessment.level is not None:
        await _set_level(session, clock, assessment.elder_id, assessment.level)
    return assessment


async def _set_level(session: AsyncSession, clock: Clock, elder_id: int, level: int) -> None:
    health = await session.get(HealthRecord, elder_id)
    if health is None:
        session.add(HealthRecord(elder_id=elder_id, self_care_ability=level, updated_at=clock.now()))
        return
    health.self_care_ability, health.updated_at = level, clock.now()


async def make_plans(
    *, session: AsyncSession, clock: Clock, actor: Actor, assessment_id: int, lines: list[PlanLineIn]
) -> list[RecurringPlan]:
    """Turn the (edited) service plan of a final assessment into weekly recurring plans from tomorrow, once:
    a second click, or a second process, finds it claimed (409)."""
    assessment = await service.get(session=session, assessment_id=assessment_id)
    if assessment.step != Step.final:
        raise InvalidTransition("a service plan follows a final result", reason="not_final")
    starts_on = local_date(clock.now()) + timedelta(days=1)
    plans = [
        PlanCreate(
            elder_id=assessment.elder_id,
            service_type=line.service_type,
            frequency=PlanFrequency.weekly,
            weekdays=line.weekdays,
            start_time=line.start_time,
            end_time=line.end_time,
            starts_on=starts_on,
            notes=f"评估 {assessment.id} 的服务计划",
        )
        for line in lines
    ]
    claimed = await session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id, Assessment.plans_made_at.is_(None))
        .values(plans_made_at=clock.now())
        .returning(Assessment.id)
    )
    if claimed.scalar() is None:
        raise Conflict(f"assessment {assessment_id}'s plan was made already", reason="plans_made")
    return [await orders.create_plan(session=session, clock=clock, actor=actor, data=plan) for plan in plans]
