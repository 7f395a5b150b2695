"""GB/T 42195-2022 scoring, against worked examples computed by hand: every level boundary, each change
rule, and property tests over random answers."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.assessments.instrument import load
from dispatch.assessments.scoring import AnswersIncomplete, Findings, adjust, score

GB = load()
BEST = {code: max(item.options, key=lambda o: o.score).code for code, item in GB.items.items()}
SELF_CARE = [f"B.1.{n}" for n in range(1, 9)]
MOTOR = [f"B.2.{n}" for n in range(1, 5)]


def lowered(**changes: str) -> dict[str, str]:
    """All answers at their best but these (`B_1_1="0"` stands for item B.1.1 answered with option 0)."""
    return BEST | {key.replace("_", "."): option for key, option in changes.items()}


def zeros(codes: list[str]) -> dict[str, str]:
    return {code.replace(".", "_"): "0" for code in codes}


# (answers, total, level), each total worked out by hand from the form's scores.
BOUNDARIES = [
    pytest.param(BEST, 90, 0, id="90: all best, intact"),
    pytest.param(lowered(B_1_1="3"), 89, 1, id="89: eating with guidance, mild"),
    pytest.param(lowered(**zeros(SELF_CARE[:6])), 66, 1, id="66: six self-care items at 0 (90-24), mild"),
    pytest.param(lowered(**zeros(SELF_CARE[:6]), B_1_7="3"), 65, 2, id="65: and bowel control 3, moderate"),
    pytest.param(
        lowered(**zeros(SELF_CARE + MOTOR[:3])), 46, 2, id="46: self-care 0, three motor 0, moderate"
    ),
    pytest.param(lowered(**zeros(SELF_CARE + MOTOR[:3]), B_2_4="2"), 45, 3, id="45: and stairs 2, severe"),
    pytest.param(
        lowered(**zeros(SELF_CARE + MOTOR + ["B.3.1", "B.3.2", "B.3.3"]), B_3_4="3"),
        30,
        3,
        id="30: self-care and motor 0 (47), three orientations 0 (12), memory 3 (1), severe",
    ),
    pytest.param(
        lowered(**zeros(SELF_CARE + MOTOR + ["B.3.1", "B.3.2", "B.3.3"]), B_3_4="2"),
        29,
        4,
        id="29: memory 2 instead, complete loss",
    ),
    pytest.param({code: "0" for code in GB.items}, 0, 4, id="0: all worst, complete loss"),
]


@pytest.mark.parametrize(("answers", "total", "level"), BOUNDARIES)
def test_the_total_gives_the_standard_s_level_at_every_boundary(
    answers: Mapping[str, str], total: int, level: int
) -> None:
    scored = score(GB, answers)
    assert (scored.total, scored.initial_level, scored.level, scored.applied) == (total, level, level, ())


def test_each_indicator_is_scored_on_its_own_items() -> None:
    answers = lowered(B_1_3="2", B_2_4="1", B_3_7="0", B_3_9="1", B_4_1="1", B_4_4="0")
    scored = score(GB, answers)
    assert scored.indicator_scores == {"self_care": 30, "motor": 13, "mental": 26, "perception_social": 11}
    assert scored.total == 80


def test_the_form_is_the_standard_s_26_items_and_90_points() -> None:
    assert [(i.code, i.max, len(i.items)) for i in GB.indicators] == [
        ("self_care", 32, 8),
        ("motor", 15, 4),
        ("mental", 28, 9),
        ("perception_social", 15, 5),
    ]
    odd_maxima = {code: item.max for code, item in GB.items.items() if item.max != 4}
    assert odd_maxima == {"B.2.4": 3, "B.3.7": 1, "B.3.8": 1, "B.3.9": 2, "B.4.1": 2, "B.4.2": 2, "B.4.4": 3}


MILD = lowered(B_1_1="3")  # 89: level 1
WORST = {code: "0" for code in GB.items}


@pytest.mark.parametrize(
    ("answers", "findings", "level", "applied"),
    [
        pytest.param(
            BEST, Findings(flags=frozenset({"coma"})), 4, ("coma",), id="coma: complete loss from 90"
        ),
        pytest.param(MILD, Findings(flags=frozenset({"dementia"})), 2, ("diagnosis",), id="dementia: 1 -> 2"),
        pytest.param(
            MILD, Findings(flags=frozenset({"mental_disorder"})), 2, ("diagnosis",), id="F04-F99: 1 -> 2"
        ),
        pytest.param(
            MILD, Findings(counts={"risk_events_30d": 2}), 2, ("risk_events",), id="two risk events: 1 -> 2"
        ),
        pytest.param(MILD, Findings(counts={"risk_events_30d": 1}), 1, (), id="one risk event: no change"),
        pytest.param(
            MILD,
            Findings(flags=frozenset({"dementia"}), counts={"risk_events_30d": 3}),
            2,
            ("diagnosis", "risk_events"),
            id="both raises: one level, not two",
        ),
        pytest.param(WORST, Findings(flags=frozenset({"dementia"})), 4, ("diagnosis",), id="never above 4"),
        pytest.param(
            MILD,
            Findings(flags=frozenset({"coma", "dementia"})),
            4,
            ("coma",),
            id="coma decides alone",
        ),
    ],
)
def test_the_change_rules(
    answers: Mapping[str, str], findings: Findings, level: int, applied: tuple[str, ...]
) -> None:
    scored = score(GB, answers, findings)
    assert (scored.level, scored.applied) == (level, applied)


def test_raises_add_up_where_an_instrument_says_they_stack() -> None:
    stacking = GB.model_copy(update={"raises_stack": True})
    both = Findings(flags=frozenset({"dementia"}), counts={"risk_events_30d": 2})
    assert adjust(stacking, 1, both) == (3, ("diagnosis", "risk_events"))
    assert adjust(GB, 1, both) == (2, ("diagnosis", "risk_events"))


def test_incomplete_or_unknown_answers_are_refused_with_what_is_wrong() -> None:
    answers = dict(BEST)
    del answers["B.3.9"]
    answers["B.2.4"] = "4"  # stairs top out at 3
    answers["Z.9"] = "1"
    with pytest.raises(AnswersIncomplete) as refused:
        score(GB, answers)
    assert (refused.value.missing, refused.value.unknown) == (["B.3.9"], ["B.2.4", "Z.9"])


answer_sets = st.fixed_dictionaries(
    {code: st.sampled_from([option.code for option in item.options]) for code, item in GB.items.items()}
)


@given(answer_sets)
def test_the_total_is_the_sum_of_its_parts(answers: dict[str, str]) -> None:
    scored = score(GB, answers)
    by_item = sum(next(o.score for o in GB.items[c].options if o.code == a) for c, a in answers.items())
    assert scored.total == sum(scored.indicator_scores.values()) == by_item
    assert 0 <= scored.total <= 90


@given(answer_sets, answer_sets)
def test_the_level_never_falls_as_the_total_falls(first: dict[str, str], second: dict[str, str]) -> None:
    a, b = sorted((score(GB, first), score(GB, second)), key=lambda scored: scored.total)
    assert a.initial_level >= b.initial_level
