"""Care-call planning: who is called weekly, on which days and by which agent (no database)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from dispatch.carecalls.models import CareCadence, CareCallState
from dispatch.carecalls.planning import (
    AgentLoad,
    ElderFacts,
    assign_agents,
    cadence_of,
    is_overdue,
    month_days,
    plan_calls,
    spread_days,
    week_days,
)
from dispatch.localtime import week_period

DAY = date(2026, 3, 2)  # a Monday
SETTLED = ElderFacts(
    elder_id=1,
    birth_date=date(1950, 6, 1),
    living_alone=False,
    empty_nest=False,
    self_care_ability=1,
    subsidy_categories=("self_paying",),
)


def test_an_elder_with_family_and_no_risk_is_called_monthly() -> None:
    assert cadence_of(SETTLED, DAY) == CareCadence.monthly


@pytest.mark.parametrize(
    "changes",
    [
        {"living_alone": True},
        {"empty_nest": True},
        {"self_care_ability": 3},
        {"self_care_ability": 4},
        {"subsidy_categories": ("severe_disability",)},
        {"subsidy_categories": ("family_planning_special",)},
        {"birth_date": date(1946, 3, 2), "subsidy_categories": ("minimum_living",)},
        {"birth_date": date(1940, 1, 1), "subsidy_categories": ("extreme_poverty",)},
        {"birth_date": date(1940, 1, 1), "subsidy_categories": ("aged_80_plus", "registered_poor")},
    ],
)
def test_elders_at_risk_are_called_weekly(changes: dict[str, object]) -> None:
    assert cadence_of(replace(SETTLED, **changes), DAY) == CareCadence.weekly  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"self_care_ability": 2},
        {"birth_date": date(1940, 1, 1), "subsidy_categories": ("aged_80_plus",)},  # 80+ but no hardship
        {"birth_date": date(1946, 3, 3), "subsidy_categories": ("minimum_living",)},  # 80 tomorrow
        {"subsidy_categories": ("minimum_living", "special_care")},  # hardship but under 80
    ],
)
def test_elders_not_at_risk_stay_monthly(changes: dict[str, object]) -> None:
    assert cadence_of(replace(SETTLED, **changes), DAY) == CareCadence.monthly  # type: ignore[arg-type]


def test_turning_80_in_hardship_makes_the_calls_weekly_from_the_birthday() -> None:
    poor = replace(SETTLED, birth_date=date(1946, 3, 4), subsidy_categories=("minimum_living",))
    assert cadence_of(poor, date(2026, 3, 3)) == CareCadence.monthly
    assert cadence_of(poor, date(2026, 3, 4)) == CareCadence.weekly


def test_week_days_are_the_working_days_left_this_week() -> None:
    assert week_days(date(2026, 3, 2)) == [date(2026, 3, d) for d in (2, 3, 4, 5, 6)]
    assert week_days(date(2026, 3, 4)) == [date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6)]
    assert week_days(date(2026, 3, 6)) == [date(2026, 3, 6)]


def test_at_the_weekend_the_week_days_are_today_to_sunday() -> None:
    assert week_days(date(2026, 3, 7)) == [date(2026, 3, 7), date(2026, 3, 8)]
    assert week_days(date(2026, 3, 8)) == [date(2026, 3, 8)]


def test_the_iso_week_across_new_year_keeps_one_label() -> None:
    days = week_days(date(2025, 12, 29))
    assert days == [
        date(2025, 12, 29),
        date(2025, 12, 30),
        date(2025, 12, 31),
        date(2026, 1, 1),
        date(2026, 1, 2),
    ]
    assert {week_period(day) for day in days} == {"2026-W01"}
    assert week_days(date(2026, 12, 31)) == [date(2026, 12, 31), date(2027, 1, 1)]
    assert week_period(date(2027, 1, 1)) == "2026-W53"


def test_month_days_are_the_working_days_left_this_month() -> None:
    march = month_days(date(2026, 3, 2))
    assert len(march) == 22
    assert (march[0], march[-1]) == (date(2026, 3, 2), date(2026, 3, 31))
    assert month_days(date(2026, 2, 27)) == [date(2026, 2, 27)]  # Friday, the last working day
    assert month_days(date(2028, 2, 28)) == [date(2028, 2, 28), date(2028, 2, 29)]  # a leap year


def test_a_weekend_month_end_uses_the_days_left() -> None:
    assert month_days(date(2026, 1, 31)) == [date(2026, 1, 31)]  # a Saturday
    assert month_days(date(2026, 5, 30)) == [date(2026, 5, 30), date(2026, 5, 31)]
    assert month_days(date(2025, 12, 31)) == [date(2025, 12, 31)]  # across the year's end nothing leaks


def test_spread_days_fills_the_days_evenly_in_order() -> None:
    days = week_days(DAY)
    assert Counter(spread_days(10, days)) == {day: 2 for day in days}
    assert spread_days(3, days) == [days[0], days[1], days[3]]
    assert spread_days(1, days) == [days[0]]
    with pytest.raises(ValueError, match="no days"):
        spread_days(1, [])


def test_least_loaded_agent_first_ties_by_operator_id() -> None:
    agents = [AgentLoad(7, 3), AgentLoad(5, 0), AgentLoad(4, 0)]
    assert assign_agents(5, agents) == [4, 5, 4, 5, 4]
    # Once 4 and 5 hold 3 calls like 7, the lowest id wins the ties.
    assert assign_agents(10, agents) == [4, 5, 4, 5, 4, 5, 4, 5, 7, 4]


def test_without_agents_calls_have_no_operator() -> None:
    assert assign_agents(2, []) == [None, None]


def test_plan_gives_each_agent_one_call_a_day() -> None:
    plan = plan_calls(list(range(1, 11)), week_days(DAY), [AgentLoad(1, 0), AgentLoad(2, 0)])
    assert [p.elder_id for p in plan] == list(range(1, 11))
    assert Counter((p.operator_id, p.due_on) for p in plan) == {
        (agent, day): 1 for agent in (1, 2) for day in week_days(DAY)
    }
    assert plan_calls([], week_days(DAY), [AgentLoad(1, 0)]) == []


def test_overdue_means_still_scheduled_after_its_day() -> None:
    assert is_overdue(CareCallState.scheduled, date(2026, 3, 1), DAY)
    assert not is_overdue(CareCallState.scheduled, DAY, DAY)
    assert not is_overdue(CareCallState.done, date(2026, 3, 1), DAY)
