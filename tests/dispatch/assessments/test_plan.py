"""The service plan proposed from a level and the needs the elder stated."""

from __future__ import annotations

from dispatch.assessments.needs import Needs, ServiceNeed, TimeOfDay
from dispatch.assessments.plan import PlanLine, propose
from dispatch.catalog import ServiceType as S


def test_a_severe_level_s_services_at_least_as_often_as_asked_then_what_else_was_asked() -> None:
    needs = Needs(
        services=[
            ServiceNeed(service_type=S.meal_assistance, per_week=5, preferred=[TimeOfDay.evening]),
            ServiceNeed(service_type=S.companionship, per_week=2, preferred=[TimeOfDay.afternoon]),
            ServiceNeed(service_type=S.bathing, per_week=3),
        ]
    )
    assert propose(3, needs) == [
        PlanLine(S.meal_assistance, 7, [1, 2, 3, 4, 5, 6, 7], "17:30", "18:30", True),  # level: daily
        PlanLine(S.nursing, 3, [1, 3, 5], "09:00", "10:00", True),
        PlanLine(S.bathing, 3, [1, 3, 5], "09:00", "10:00", True),  # asked more often than the level's 1
        PlanLine(S.cleaning, 1, [3], "09:00", "10:00", True),
        PlanLine(S.health_care, 1, [3], "09:00", "10:00", True),
        PlanLine(S.companionship, 2, [2, 5], "15:00", "16:00", False),
    ]


def test_an_intact_elder_who_asks_for_nothing_gets_no_plan() -> None:
    assert propose(0, Needs()) == []
    assert propose(0, Needs(services=[ServiceNeed(service_type=S.repair, per_week=0)])) == []


def test_meals_default_to_midday() -> None:
    [meal, *_] = propose(2, Needs())
    assert (meal.service_type, meal.start_time, meal.weekdays) == (
        S.meal_assistance,
        "11:00",
        [1, 2, 3, 4, 5],
    )
