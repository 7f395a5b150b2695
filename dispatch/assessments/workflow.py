"""The assessment procedure's steps, who may move an assessment where, and each step's deadline, as pure
rules (the service stores the step and its deadline; the timer alerts what is overdue).

The procedure (seed 001, lines ~2473-2573): an application is checked for completeness at once (what is
missing is listed in one go) and accepted → the street office verifies within 5 working days → the county
bureau organises the assessment within 5 → the assessment agency assesses within 10 (two assessors, both
sign) → the bureau reviews within 5 → those proposed for a subsidy are publicly noticed for 7 days, then
final; those not proposed are told in writing, with the reason, within 3 working days. The simplified
procedure (proof of 低保, 特困 / 三无 / 五保, severe disability or illness) goes from acceptance straight to
the assessment (10 working days). An objection to a final result brings one re-assessment by the same
agency, which is final."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dispatch.assessments.workdays import add_working_days


class Procedure(StrEnum):
    standard = "standard"
    simplified = "simplified"  # with proof of economic or physical situation: no verification round
    reassessment = "reassessment"  # after an objection to a final result: final itself


class Step(StrEnum):
    incomplete = "incomplete"  # materials missing (listed at once); waits for the applicant
    accepted = "accepted"  # 受理: the street office verifies
    verified = "verified"  # 调查核实 done: the bureau organises the assessment
    organised = "organised"  # an agency and its two assessors have it
    assessed = "assessed"  # both assessors signed: the bureau reviews
    public_notice = "public_notice"  # proposed for a subsidy: 7 days' public notice
    refusal_notice = "refusal_notice"  # not proposed: the applicant is told in writing why
    final = "final"
    withdrawn = "withdrawn"


CLOSED = frozenset({Step.final, Step.withdrawn})
# An elder has at most one assessment outside CLOSED: the database's partial unique index says so with this
# predicate (a re-assessment after an objection opens only once its original is final, so it still fits).
OPEN_PREDICATE = "step NOT IN ({})".format(", ".join(f"'{step.value}'" for step in sorted(CLOSED)))


class Owner(StrEnum):
    """Who must act on a step (the street office and the agency have no accounts: the supervisors chase
    them)."""

    applicant = "applicant"  # hands in what is missing
    street_office = "street_office"  # 街道办（乡镇人民政府）: verifies
    bureau = "bureau"  # 县级民政部门: organises, reviews, notifies, makes final
    agency = "agency"  # 评估机构: assesses


_OWNERS: dict[Step, Owner] = {
    Step.incomplete: Owner.applicant,
    Step.accepted: Owner.street_office,
    Step.verified: Owner.bureau,
    Step.organised: Owner.agency,
    Step.assessed: Owner.bureau,
    Step.public_notice: Owner.bureau,
    Step.refusal_notice: Owner.bureau,
}

_NEXT: dict[Procedure, dict[Step, frozenset[Step]]] = {
    Procedure.standard: {
        Step.incomplete: frozenset({Step.accepted}),
        Step.accepted: frozenset({Step.verified}),
        Step.verified: frozenset({Step.organised}),
        Step.organised: frozenset({Step.assessed}),
        Step.assessed: frozenset({Step.public_notice, Step.refusal_notice}),
        Step.public_notice: frozenset({Step.final}),
        Step.refusal_notice: frozenset({Step.final}),
    },
    Procedure.simplified: {
        Step.incomplete: frozenset({Step.accepted}),
        Step.accepted: frozenset({Step.assessed}),
        Step.assessed: frozenset({Step.public_notice, Step.refusal_notice}),
        Step.public_notice: frozenset({Step.final}),
        Step.refusal_notice: frozenset({Step.final}),
    },
    Procedure.reassessment: {
        Step.organised: frozenset({Step.assessed}),
        Step.assessed: frozenset({Step.public_notice, Step.refusal_notice}),
        Step.public_notice: frozenset({Step.final}),
        Step.refusal_notice: frozenset({Step.final}),
    },
}

# Working days each step may take, by procedure (the simplified one's acceptance covers the assessment).
_WORKING_DAYS: dict[Step, int] = {
    Step.accepted: 5,
    Step.verified: 5,
    Step.organised: 10,
    Step.assessed: 5,
    Step.refusal_notice: 3,
}
PUBLIC_NOTICE_DAYS = 7  # calendar days (公示期为7天)
# Every period starts the day after the step began, as the Civil Code counts periods in days (art. 201:
# 开始的当日不计入): a notice posted on the 1st runs to the end of the 8th.


def first_step(procedure: Procedure, *, complete: bool) -> Step:
    """Where an application starts: a re-assessment goes straight back to the agency; otherwise accepted
    when its materials are complete, else waiting for them."""
    if procedure == Procedure.reassessment:
        return Step.organised
    return Step.accepted if complete else Step.incomplete


def next_steps(procedure: Procedure, step: Step) -> frozenset[Step]:
    """Where an assessment in `step` may go next (withdrawal aside, open until the end)."""
    if step in CLOSED:
        return frozenset()
    return _NEXT[procedure].get(step, frozenset()) | {Step.withdrawn}


def may_move(procedure: Procedure, step: Step, to: Step) -> bool:
    return to in next_steps(procedure, step)


@dataclass(frozen=True)
class Deadline:
    due_on: date  # the last local day the step may take
    provisional: bool  # counted without the year's holiday data


def deadline(procedure: Procedure, step: Step, entered_on: date) -> Deadline | None:
    """The last day for the step entered on `entered_on` (a Shanghai date); None: no deadline (waiting for
    the applicant, or closed)."""
    if step == Step.public_notice:
        return Deadline(entered_on + timedelta(days=PUBLIC_NOTICE_DAYS), provisional=False)
    days = _WORKING_DAYS.get(step)
    if days is None:
        return None
    if procedure == Procedure.simplified and step == Step.accepted:
        days = _WORKING_DAYS[Step.organised]  # the face-to-face check and the assessment itself
    found = add_working_days(entered_on, days)
    return Deadline(found.day, found.provisional)


def owner(procedure: Procedure, step: Step) -> Owner | None:
    """Who the step waits for; None once closed. A simplified application's acceptance is the agency's (the
    face-to-face check and the assessment), not the street office's."""
    if procedure == Procedure.simplified and step == Step.accepted:
        return Owner.agency
    return _OWNERS.get(step)


def may_object(procedure: Procedure, step: Step, already_objected: bool) -> bool:
    """An objection to a final result brings one re-assessment, and that one is final."""
    return step == Step.final and procedure != Procedure.reassessment and not already_objected
