"""Assessments kept: applications taken, moved through the procedure with each step's deadline stored,
answers saved as drafts, signed by two assessors, scored, reviewed and made final (the elder's level then
follows). Item answers are read by assessors and supervisors only, every full read audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, NoReturn

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dispatch.assessments import workflow
from dispatch.assessments.instrument import CURRENT, load
from dispatch.assessments.models import Applicant, Assessment
from dispatch.assessments.needs import Needs
from dispatch.assessments.plan import PlanLine, propose
from dispatch.assessments.scoring import AnswersIncomplete, Findings, score
from dispatch.assessments.workflow import CLOSED, Procedure, Step
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Elder
from dispatch.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from dispatch.localtime import local_date

# What an application needs (申请表 and identity papers; the simplified procedure also its proof).
MATERIALS: dict[Procedure, tuple[str, ...]] = {
    Procedure.standard: ("application_form", "identity_documents"),
    Procedure.simplified: ("application_form", "identity_documents", "proof_of_situation"),
    Procedure.reassessment: (),
}
READERS = frozenset({Role.assessor, Role.supervisor, Role.admin})  # of item answers and reports
DECIDERS = frozenset({Role.supervisor, Role.admin})  # the bureau's steps: verify, organise, review, final


async def apply(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    elder_id: int,
    procedure: Procedure,
    applicant: Applicant,
    applicant_name: str = "",
    applicant_phone: str = "",
    materials: list[str] | None = None,
    call_id: int | None = None,
    reassessment_of: int | None = None,
) -> Assessment:
    """Take an application (an agent may enter it from a call). Its materials are checked at once: what
    is missing is listed in one go and the application waits for it; a re-assessment after an objection
    goes straight back to the agency. An elder has one open assessment at most (the objection's too):
    another is a Conflict naming the open one, also when both are entered at the same instant."""
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found", reason="elder_not_found")
    if (procedure == Procedure.reassessment) != (reassessment_of is not None):
        raise ValidationFailed(
            "a re-assessment names the assessment objected to, and only a re-assessment does",
            reason="reassessment_needs_its_original",
        )
    if reassessment_of is not None:
        await _check_objection(session, elder_id, reassessment_of)
    await _check_none_open(session, elder_id)
    handed_in = sorted(set(materials or []))
    missing = [m for m in MATERIALS[procedure] if m not in handed_in]
    now = clock.now()
    assessment = Assessment(
        elder_id=elder_id,
        elder_name=elder.name,
        procedure=procedure,
        step=workflow.first_step(procedure, complete=not missing),
        instrument=CURRENT,
        applicant=applicant,
        applicant_name=applicant_name,
        applicant_phone=applicant_phone,
        call_id=call_id,
        materials=handed_in,
        missing=missing,
        step_entered_at=now,
        reassessment_of_id=reassessment_of,
        answers={},
        findings={},
        needs={},
        indicator_scores={},
        applied_rules=[],
        decision_note="",
        created_by=actor.operator_id,
        created_at=now,
        updated_at=now,
    )
    _set_deadline(assessment, local_date(now))
    try:
        async with session.begin_nested():
            session.add(assessment)
            await session.flush()
    except IntegrityError as exc:
        # another application for this elder, or a second objection, committed at the same moment
        await _refuse_duplicate(session, elder_id, reassessment_of, exc)
    await _audit(session, clock, actor, "assessment.apply", assessment, step=assessment.step, missing=missing)
    return assessment


async def _check_objection(session: AsyncSession, elder_id: int, original_id: int) -> None:
    original = await session.get(Assessment, original_id)
    if original is None or original.elder_id != elder_id:
        raise NotFound(f"assessment {original_id} of this elder not found", reason="assessment_not_found")
    objected = await session.scalar(select(Assessment.id).where(Assessment.reassessment_of_id == original_id))
    if not workflow.may_object(original.procedure, original.step, already_objected=objected is not None):
        raise InvalidTransition(
            f"assessment {original_id} cannot be objected to: only a final result, once, and never a"
            " re-assessment",
            reason="no_objection_possible",
        )


async def _open_one(session: AsyncSession, elder_id: int) -> Assessment | None:
    return await session.scalar(
        select(Assessment).where(Assessment.elder_id == elder_id, Assessment.step.not_in(CLOSED))
    )


def _already_open(elder_id: int, open_one: Assessment) -> Conflict:
    return Conflict(
        f"elder {elder_id} has an open assessment already: {open_one.id} ({open_one.step.value})",
        reason="assessment_open",
        params={"assessment_id": open_one.id, "open_step": open_one.step.value},
    )


async def _check_none_open(session: AsyncSession, elder_id: int) -> None:
    """One open assessment per elder (the database's unique index holds it under a race too)."""
    open_one = await _open_one(session, elder_id)
    if open_one is not None:
        raise _already_open(elder_id, open_one)


async def _refuse_duplicate(
    session: AsyncSession, elder_id: int, reassessment_of: int | None, exc: IntegrityError
) -> NoReturn:
    """The 409 for an application that lost a race at the unique indexes (always raises)."""
    if reassessment_of is not None and await session.scalar(
        select(Assessment.id).where(Assessment.reassessment_of_id == reassessment_of)
    ):
        raise Conflict(
            f"assessment {reassessment_of} has a re-assessment already", reason="no_objection_possible"
        ) from exc
    open_one = await _open_one(session, elder_id)
    if open_one is None:
        raise exc
    raise _already_open(elder_id, open_one) from exc


def _set_deadline(assessment: Assessment, entered_on: date) -> None:
    found = workflow.deadline(assessment.procedure, assessment.step, entered_on)
    assessment.due_on = found.due_on if found else None
    assessment.due_provisional = found.provisional if found else False
    assessment.overdue_alerted_at = None


async def get(*, session: AsyncSession, assessment_id: int, for_update: bool = False) -> Assessment:
    """The assessment, or NotFound; `for_update` locks its row (PostgreSQL; SQLite's writer lock does it)
    so that two people moving it at once take turns."""
    assessment = await session.get(
        Assessment, assessment_id, with_for_update=for_update, populate_existing=for_update
    )
    if assessment is None:
        raise NotFound(f"assessment {assessment_id} not found", reason="assessment_not_found")
    return assessment


async def read(*, session: AsyncSession, clock: Clock, actor: Actor, assessment_id: int) -> Assessment:
    """The whole assessment, answers included: assessors and supervisors only, and audited."""
    if actor.role not in READERS:
        raise PermissionDenied(
            "assessment answers are for assessors and supervisors", reason="assessors_only"
        )
    assessment = await get(session=session, assessment_id=assessment_id)
    await _audit(session, clock, actor, "assessment.read", assessment)
    return assessment


async def plan_proposal(*, session: AsyncSession, assessment_id: int) -> tuple[int, list[PlanLine]]:
    """The level and the service plan it calls for, merged with the needs the elder stated."""
    assessment = await get(session=session, assessment_id=assessment_id)
    if assessment.level is None:
        raise InvalidTransition(
            f"assessment {assessment_id} has not been assessed yet", reason="not_assessed"
        )
    return assessment.level, propose(assessment.level, Needs.model_validate(assessment.needs or {}))


REPORTABLE = frozenset({Step.assessed, Step.public_notice, Step.refusal_notice, Step.final})


async def for_report(
    *, session: AsyncSession, clock: Clock, actor: Actor, assessment_id: int
) -> tuple[Assessment, Elder]:
    """The assessment and its elder for the printed report (once assessed): readers only, audited."""
    if actor.role not in READERS:
        raise PermissionDenied(
            "assessment reports are for assessors and supervisors", reason="assessors_only"
        )
    assessment = await get(session=session, assessment_id=assessment_id)
    if assessment.step not in REPORTABLE:
        raise InvalidTransition(
            f"assessment {assessment_id} has not been assessed yet", reason="not_assessed"
        )
    elder = await session.get(Elder, assessment.elder_id)
    if elder is None:
        raise NotFound(f"elder {assessment.elder_id} not found", reason="elder_not_found")
    await _audit(session, clock, actor, "assessment.report", assessment)
    return assessment, elder


async def save_answers(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    assessment_id: int,
    version: int,
    answers: Mapping[str, str],
    findings: Mapping[str, Any] | None = None,
    needs: Mapping[str, Any] | None = None,
) -> Assessment:
    """Save the form as it stands (a draft: some items may be unanswered) while the assessment is with the
    agency; a save made on an older version than the stored one is refused (409), so a tablet that was
    offline cannot overwrite what the other assessor saved meanwhile."""
    if actor.role != Role.assessor:
        raise PermissionDenied("only assessors fill in the form", reason="assessors_only")
    assessment = await get(session=session, assessment_id=assessment_id)
    if not _with_the_agency(assessment):
        raise InvalidTransition(f"assessment {assessment_id} is not with the agency", reason="not_assessing")
    _check_answers(answers)
    values: dict[str, Any] = {"answers": dict(answers), "updated_at": clock.now(), "version": version + 1}
    if findings is not None:
        values["findings"] = dict(findings)
    if needs is not None:
        values["needs"] = dict(needs)
    saved = await session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id, Assessment.version == version)
        .values(**values)
        .returning(Assessment.id)
    )
    if saved.scalar() is None:
        raise Conflict(
            f"assessment {assessment_id} changed since version {version}: load it again",
            reason="stale_version",
        )
    return await session.get(Assessment, assessment_id, populate_existing=True) or assessment


def _with_the_agency(assessment: Assessment) -> bool:
    if assessment.procedure == Procedure.simplified:
        return assessment.step == Step.accepted
    return assessment.step == Step.organised


def _check_answers(answers: Mapping[str, str]) -> None:
    items = load().items
    wrong = sorted(
        code for code, option in answers.items() if code not in items or option not in _codes(items[code])
    )
    if wrong:
        raise ValidationFailed(
            f"not an item or not one of its options: {', '.join(wrong)}",
            reason="unknown_answers",
            params={"items": wrong},
        )


def _codes(item: Any) -> set[str]:
    return {option.code for option in item.options}


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
    """Move the assessment on, as the procedure and the actor's role allow:
    * accepted: the missing materials handed in (staff);
    * verified, organised, public_notice / refusal_notice (the review: a subsidy proposed or not, the
      refusal with its reason), final: the bureau (supervisors);
    * assessed: an assessor signs; the second, different assessor's signature completes it, once every
      item is answered (then it is scored);
    * withdrawn: staff, at any open step.
    The row is locked first: two assessors signing at the same moment sign one after the other."""
    assessment = await get(session=session, assessment_id=assessment_id, for_update=True)
    if not workflow.may_move(assessment.procedure, assessment.step, to):
        raise InvalidTransition(
            f"assessment {assessment_id} cannot go from {assessment.step} to {to}",
            reason="assessment_step",
            params={"from_step": assessment.step.value, "to_step": to.value},
        )
    _check_role(actor, to)
    today = local_date(clock.now())
    if to == Step.accepted:
        _take_materials(assessment, materials or [])
    elif to == Step.assessed:
        if not await _sign(session, actor, assessment, clock):
            await _audit(session, clock, actor, "assessment.sign", assessment)
            return assessment  # the first signature: waiting for the second assessor
    elif to in (Step.public_notice, Step.refusal_notice):
        _decide(assessment, to, note)
    elif to == Step.final:
        _check_notice_over(assessment, today)
    _enter(assessment, to, clock)
    await _audit(session, clock, actor, "assessment.move", assessment, to=to.value, note=note)
    return assessment


def _check_role(actor: Actor, to: Step) -> None:
    if to == Step.assessed:
        allowed: frozenset[Role] = frozenset({Role.assessor})
    elif to in (Step.accepted, Step.withdrawn):
        allowed = frozenset({Role.agent, *DECIDERS})
    else:
        allowed = DECIDERS
    if actor.role not in allowed:
        raise PermissionDenied(
            f"a {actor.role.value} may not move an assessment to {to.value}", reason="step_role"
        )


def _take_materials(assessment: Assessment, handed_in: list[str]) -> None:
    materials = sorted({*assessment.materials, *handed_in})
    missing = [m for m in MATERIALS[assessment.procedure] if m not in materials]
    if missing:
        raise ValidationFailed(
            f"still missing: {', '.join(missing)}", reason="materials_missing", params={"missing": missing}
        )
    assessment.materials, assessment.missing = materials, []


async def _sign(session: AsyncSession, actor: Actor, assessment: Assessment, clock: Clock) -> bool:
    """Record the assessor's signature; True once two different assessors have signed complete answers."""
    if actor.operator_id in (assessment.assessor1_id, assessment.assessor2_id):
        raise Conflict("this assessor has signed already: a second assessor must sign", reason="signed_twice")
    try:
        scored = score(load(assessment.instrument), assessment.answers, _findings(assessment.findings))
    except AnswersIncomplete as exc:
        raise ValidationFailed(
            f"the form is not complete: {exc}", reason="answers_incomplete", params={"missing": exc.missing}
        ) from exc
    now = clock.now()
    if assessment.assessor1_id is None:
        assessment.assessor1_id, assessment.signed1_at = actor.operator_id, now
        assessment.updated_at = now
        return False
    assessment.assessor2_id, assessment.signed2_at = actor.operator_id, now
    assessment.total, assessment.initial_level, assessment.level = (
        scored.total,
        scored.initial_level,
        scored.level,
    )
    assessment.indicator_scores = scored.indicator_scores
    assessment.applied_rules = list(scored.applied)
    await session.flush()
    return True


def _findings(stored: Mapping[str, Any]) -> Findings:
    counts = stored.get("counts", {})
    return Findings(
        flags=frozenset(str(flag) for flag in stored.get("flags", [])),
        counts={str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {},
    )


def _decide(assessment: Assessment, to: Step, note: str) -> None:
    if to == Step.refusal_notice and not note.strip():
        raise ValidationFailed("a refusal states its reason", reason="refusal_needs_reason")
    assessment.subsidy_proposed = to == Step.public_notice
    assessment.decision_note = note


def _check_notice_over(assessment: Assessment, today: date) -> None:
    """Final after a public notice only once its 7 days are over."""
    if assessment.step == Step.public_notice and assessment.due_on is not None and today <= assessment.due_on:
        raise InvalidTransition(
            f"the public notice runs until {assessment.due_on.isoformat()}",
            reason="notice_running",
            params={"until": assessment.due_on.isoformat()},
        )


def _enter(assessment: Assessment, step: Step, clock: Clock) -> None:
    now = clock.now()
    assessment.step, assessment.step_entered_at, assessment.updated_at = step, now, now
    assessment.version += 1
    _set_deadline(assessment, local_date(now))


async def list_assessments(
    *,
    session: AsyncSession,
    clock: Clock,
    limit: int,
    offset: int,
    step: Step | None = None,
    overdue: bool | None = None,
    elder_id: int | None = None,
) -> tuple[list[Assessment], int]:
    """Assessments, the soonest deadline first (those without one last), filtered."""
    query = select(Assessment)
    if step is not None:
        query = query.where(Assessment.step == step)
    if elder_id is not None:
        query = query.where(Assessment.elder_id == elder_id)
    if overdue is not None:
        query = query.where(_overdue(local_date(clock.now()), overdue))
    return await fetch_page(
        session,
        query,
        Assessment.due_on.is_(None),
        Assessment.due_on,
        Assessment.id,
        limit=limit,
        offset=offset,
    )


def _overdue(today: date, overdue: bool) -> ColumnElement[bool]:
    late = and_(Assessment.step.not_in(CLOSED), Assessment.due_on < today)
    if overdue:
        return late
    return or_(Assessment.step.in_(CLOSED), Assessment.due_on.is_(None), Assessment.due_on >= today)


def is_overdue(assessment: Assessment, today: date) -> bool:
    return assessment.step not in CLOSED and assessment.due_on is not None and assessment.due_on < today


async def _audit(
    session: AsyncSession, clock: Clock, actor: Actor, action: str, assessment: Assessment, **detail: Any
) -> None:
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        entity_type="assessment",
        entity_id=assessment.id,
        detail={"elder_id": assessment.elder_id, **detail},
    )
