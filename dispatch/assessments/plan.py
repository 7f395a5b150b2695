"""A service plan proposed from an assessment: the services a level calls for, at least as often as the
elder asked, on spread-out weekdays at the times they prefer. Agents edit it, then turn it into recurring
plans (see `flows`).

The recommendations per level are this platform's starting point, not the standard's (GB/T 42195-2022
grades ability and leaves services to local policy): DECIDED from the tender's service list and common
municipal practice; a city changes them here."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.assessments.needs import Needs, TimeOfDay
from dispatch.catalog import ServiceType

RECOMMENDED: dict[int, dict[ServiceType, int]] = {  # level -> service -> times a week
    0: {},
    1: {ServiceType.housekeeping: 1},
    2: {ServiceType.meal_assistance: 5, ServiceType.cleaning: 1, ServiceType.health_care: 1},
    3: {
        ServiceType.meal_assistance: 7,
        ServiceType.nursing: 3,
        ServiceType.bathing: 1,
        ServiceType.cleaning: 1,
        ServiceType.health_care: 1,
    },
    4: {
        ServiceType.meal_assistance: 7,
        ServiceType.nursing: 7,
        ServiceType.bathing: 2,
        ServiceType.cleaning: 2,
        ServiceType.health_care: 2,
    },
}
HOURS: dict[TimeOfDay, tuple[str, str]] = {
    TimeOfDay.morning: ("09:00", "10:00"),
    TimeOfDay.midday: ("11:00", "12:00"),
    TimeOfDay.afternoon: ("15:00", "16:00"),
    TimeOfDay.evening: ("17:30", "18:30"),
}
USUAL_TIME: dict[ServiceType, TimeOfDay] = {ServiceType.meal_assistance: TimeOfDay.midday}
# Weekdays (1 = Monday) for n visits a week, spread out.
SPREAD: dict[int, list[int]] = {
    1: [3],
    2: [2, 5],
    3: [1, 3, 5],
    4: [1, 2, 4, 5],
    5: [1, 2, 3, 4, 5],
    6: [1, 2, 3, 4, 5, 6],
    7: [1, 2, 3, 4, 5, 6, 7],
}


@dataclass(frozen=True)
class PlanLine:
    service_type: ServiceType
    per_week: int
    weekdays: list[int]
    start_time: str
    end_time: str
    recommended: bool  # by the level (else only asked for)


def propose(level: int, needs: Needs) -> list[PlanLine]:
    """The level's services, each at least as often as asked for, then the other services asked for."""
    asked = {need.service_type: need for need in needs.services if need.per_week > 0}
    recommended = RECOMMENDED.get(level, {})
    lines = []
    for service in [*recommended, *(s for s in asked if s not in recommended)]:
        need = asked.get(service)
        per_week = min(7, max(recommended.get(service, 0), need.per_week if need else 0))
        when = need.preferred[0] if need and need.preferred else USUAL_TIME.get(service, TimeOfDay.morning)
        start, end = HOURS[when]
        lines.append(PlanLine(service, per_week, SPREAD[per_week], start, end, service in recommended))
    return lines
