"""What a final assessment changes elsewhere: the elder's ability level in their health file (which the care
calls' risk category reads: level 3 and above are called weekly)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.assessments import service
from dispatch.assessments.models import Assessment
from dispatch.assessments.workflow import Step
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.elders.models import HealthRecord


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
