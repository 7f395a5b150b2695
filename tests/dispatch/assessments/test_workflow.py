"""The procedure's steps and deadlines in Chinese working days, across the 2026 Mid-Autumn and National Day
holidays (25-27 September and 1-7 October off; Sunday 20 September and Saturday 10 October worked)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from dispatch.assessments.workdays import add_working_days
from dispatch.assessments.workflow import (
    CLOSED,
    Deadline,
    Owner,
    Procedure,
    Step,
    deadline,
    first_step,
    may_move,
    may_object,
    next_steps,
    owner,
)

STANDARD, SIMPLIFIED, REASSESSMENT = Procedure.standard, Procedure.simplified, Procedure.reassessment


@pytest.mark.parametrize(
    ("procedure", "step", "entered", "due"),
    [
        pytest.param(
            STANDARD,
            Step.accepted,
            date(2026, 9, 30),
            date(2026, 10, 13),
            id="verify: 8, 9, 10 (Sat), 12, 13 Oct",
        ),
        pytest.param(
            STANDARD, Step.verified, date(2026, 9, 18), date(2026, 9, 24), id="organise: 20 (Sun), 21-24 Sep"
        ),
        pytest.param(
            STANDARD,
            Step.organised,
            date(2026, 9, 24),
            date(2026, 10, 15),
            id="assess: 28-30 Sep, 8-10, 12-15 Oct",
        ),
        pytest.param(
            STANDARD, Step.assessed, date(2026, 10, 9), date(2026, 10, 15), id="review: 10 (Sat), 12-15 Oct"
        ),
        pytest.param(
            STANDARD,
            Step.refusal_notice,
            date(2026, 9, 29),
            date(2026, 10, 9),
            id="refusal: 30 Sep, 8, 9 Oct",
        ),
        pytest.param(
            STANDARD, Step.public_notice, date(2026, 9, 30), date(2026, 10, 7), id="notice: 7 calendar days"
        ),
        pytest.param(
            SIMPLIFIED, Step.accepted, date(2026, 9, 30), date(2026, 10, 20), id="simplified: 10 working days"
        ),
        pytest.param(
            REASSESSMENT, Step.organised, date(2026, 9, 24), date(2026, 10, 15), id="re-assessment: 10"
        ),
    ],
)
def test_each_step_s_deadline_lands_on_the_right_working_day(
    procedure: Procedure, step: Step, entered: date, due: date
) -> None:
    assert deadline(procedure, step, entered) == Deadline(due, provisional=False)


def test_waiting_for_materials_and_closed_steps_have_no_deadline() -> None:
    assert [deadline(STANDARD, step, date(2026, 9, 30)) for step in (Step.incomplete, Step.final)] == [
        None,
        None,
    ]


def test_a_year_without_holiday_data_is_counted_monday_to_friday_and_said_to_be_provisional() -> None:
    # 31 Dec (Thu), 1 Jan 2027 (Fri: the package has no 2027 yet), 4, 5, 6 Jan
    assert deadline(STANDARD, Step.accepted, date(2026, 12, 30)) == Deadline(
        date(2027, 1, 6), provisional=True
    )
    assert add_working_days(date(2026, 12, 21), 3).provisional is False


def test_the_standard_procedure_goes_through_every_step() -> None:
    path = [Step.accepted, Step.verified, Step.organised, Step.assessed, Step.public_notice, Step.final]
    assert all(may_move(STANDARD, a, b) for a, b in pairwise(path))
    assert not may_move(STANDARD, Step.accepted, Step.organised)  # no skipping the verification
    assert not may_move(STANDARD, Step.final, Step.withdrawn)
    assert next_steps(STANDARD, Step.assessed) == {Step.public_notice, Step.refusal_notice, Step.withdrawn}


def test_the_simplified_procedure_skips_verification_and_organisation() -> None:
    assert first_step(SIMPLIFIED, complete=True) == Step.accepted
    assert next_steps(SIMPLIFIED, Step.accepted) == {Step.assessed, Step.withdrawn}
    assert not may_move(SIMPLIFIED, Step.accepted, Step.verified)


def test_an_application_with_missing_materials_waits_for_them() -> None:
    assert first_step(STANDARD, complete=False) == Step.incomplete
    assert next_steps(STANDARD, Step.incomplete) == {Step.accepted, Step.withdrawn}


def test_an_objection_brings_exactly_one_reassessment_which_is_final() -> None:
    assert may_object(STANDARD, Step.final, already_objected=False)
    assert not may_object(STANDARD, Step.final, already_objected=True)
    assert not may_object(STANDARD, Step.assessed, already_objected=False)
    assert first_step(REASSESSMENT, complete=True) == Step.organised
    assert not may_object(REASSESSMENT, Step.final, already_objected=False)


@pytest.mark.parametrize(
    ("procedure", "step", "who"),
    [
        (STANDARD, Step.incomplete, Owner.applicant),
        (STANDARD, Step.accepted, Owner.street_office),
        (STANDARD, Step.verified, Owner.bureau),
        (STANDARD, Step.organised, Owner.agency),
        (STANDARD, Step.assessed, Owner.bureau),
        (STANDARD, Step.public_notice, Owner.bureau),
        (STANDARD, Step.refusal_notice, Owner.bureau),
        (SIMPLIFIED, Step.accepted, Owner.agency),  # no verification: the agency checks and assesses
        (REASSESSMENT, Step.organised, Owner.agency),
        (STANDARD, Step.final, None),
        (REASSESSMENT, Step.withdrawn, None),
    ],
)
def test_each_step_has_the_owner_an_overdue_alert_names(
    procedure: Procedure, step: Step, who: Owner | None
) -> None:
    assert owner(procedure, step) == who


def test_every_step_with_a_deadline_has_an_owner() -> None:
    for procedure in Procedure:
        for step in Step:
            if deadline(procedure, step, date(2026, 3, 2)) is not None:
                assert owner(procedure, step) is not None, (procedure, step)
            if step in CLOSED:
                assert owner(procedure, step) is None
