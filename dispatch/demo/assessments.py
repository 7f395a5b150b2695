"""The demo city's assessment histories: most elders assessed once (their level as the health file has it),
some applications at every step of the procedure, a few of them past their deadline, so every board and
the assessors' list have something on them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from dispatch.assessments.instrument import Instrument, load
from dispatch.assessments.models import Applicant, Assessment
from dispatch.assessments.scoring import score
from dispatch.assessments.workflow import Procedure, Step, deadline
from dispatch.elders.models import Elder
from dispatch.localtime import local_date

ASSESSED_SHARE = 0.7
# Open applications: (step, how many, how many days ago the step began: past its deadline when large).
IN_PROGRESS: tuple[tuple[Step, int, int], ...] = (
    (Step.incomplete, 1, 1),
    (Step.accepted, 2, 2),
    (Step.accepted, 1, 30),  # verification overdue (a month: even over the Spring Festival)
    (Step.verified, 1, 3),
    (Step.organised, 2, 4),
    (Step.organised, 1, 40),  # the agency is late
    (Step.assessed, 1, 1),
    (Step.public_notice, 1, 3),
    (Step.refusal_notice, 1, 1),
)
LEVEL_TOTALS = {0: 90, 1: 78, 2: 55, 3: 38, 4: 20}  # a total inside each level's band


def answers_for(instrument: Instrument, total: int, rng: random.Random) -> dict[str, str]:
    """Answers adding up to `total`: every item at its best, then random items lowered a point at a time."""
    options = {code: sorted(item.options, key=lambda o: -o.score) for code, item in instrument.items.items()}
    chosen = dict.fromkeys(options, 0)  # index into each item's options, best first
    points = instrument.max_total
    while points > total:
        code = rng.choice([c for c in options if chosen[c] < len(options[c]) - 1])
        before = options[code][chosen[code]].score
        chosen[code] += 1
        points -= before - options[code][chosen[code]].score
    return {code: options[code][i].code for code, i in chosen.items()}


def demo_assessments(elders: list[Elder], *, created_by: int, now: datetime, seed: int) -> list[Assessment]:
    rng = random.Random(seed * 7 + 3)
    instrument = load()
    shuffled = rng.sample(elders, len(elders))
    open_ones = [(step, days) for step, count, days in IN_PROGRESS for _ in range(count)]
    in_progress, rest = shuffled[: len(open_ones)], shuffled[len(open_ones) :]
    assessments = [
        _final(elder, instrument, created_by, now - timedelta(days=rng.randint(30, 330)), rng)
        for elder in rest
        if rng.random() < ASSESSED_SHARE
    ]
    for elder, (step, days) in zip(in_progress, open_ones, strict=False):
        assessments.append(_open(elder, instrument, step, created_by, now - timedelta(days=days), rng))
    return assessments


def _level(elder: Elder) -> int:
    return elder.health.self_care_ability if elder.health else 0


def _base(elder: Elder, created_by: int, at: datetime, step: Step, **more: Any) -> Assessment:
    fields: dict[str, Any] = {
        "elder_id": elder.id,
        "elder_name": elder.name,
        "procedure": Procedure.standard,
        "step": step,
        "instrument": "gbt-42195-2022",
        "applicant": Applicant.family,
        "applicant_name": "",
        "applicant_phone": "",
        "materials": ["application_form", "identity_documents"],
        "missing": [],
        "step_entered_at": at,
        "answers": {},
        "findings": {},
        "needs": {},
        "indicator_scores": {},
        "applied_rules": [],
        "decision_note": "",
        "created_by": created_by,
        "created_at": at - timedelta(days=20),
        "updated_at": at,
    }
    return Assessment(**(fields | more))


def _scored(instrument: Instrument, level: int, rng: random.Random) -> dict[str, Any]:
    answers = answers_for(instrument, LEVEL_TOTALS[level], rng)
    result = score(instrument, answers)
    return {
        "answers": answers,
        "total": result.total,
        "initial_level": result.initial_level,
        "level": result.level,
        "indicator_scores": result.indicator_scores,
    }


def _final(
    elder: Elder, instrument: Instrument, created_by: int, at: datetime, rng: random.Random
) -> Assessment:
    level = _level(elder)
    return _base(
        elder, created_by, at, Step.final, subsidy_proposed=level >= 2, **_scored(instrument, level, rng)
    )


def _open(
    elder: Elder, instrument: Instrument, step: Step, created_by: int, at: datetime, rng: random.Random
) -> Assessment:
    more: dict[str, Any] = {}
    if step == Step.incomplete:
        more["materials"], more["missing"] = ["application_form"], ["identity_documents"]
    if step == Step.organised:  # half filled in
        answers = answers_for(instrument, LEVEL_TOTALS[_level(elder)], rng)
        more["answers"] = dict(list(answers.items())[: len(answers) // 2])
    if step in (Step.assessed, Step.public_notice, Step.refusal_notice):
        more |= _scored(instrument, _level(elder), rng)
        more["subsidy_proposed"] = None if step == Step.assessed else step == Step.public_notice
    if step == Step.refusal_notice:
        more["decision_note"] = "经济状况不符合补贴条件"
    assessment = _base(elder, created_by, at, step, **more)
    found = deadline(Procedure.standard, step, local_date(at))
    assessment.due_on = found.due_on if found else None
    assessment.due_provisional = found.provisional if found else False
    return assessment
