"""Planning care calls without a database: who needs a weekly call, on which days the calls fall and
which agent makes each one. Time is an argument (a local calendar day)."""

from __future__ import annotations

import heapq
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dispatch.carecalls.models import CareCadence, CareCallState

__all__ = [
    "AgentLoad",
    "ElderFacts",
    "PlannedCall",
    "assign_agents",
    "cadence_of",
    "is_overdue",
    "month_days",
    "plan_calls",
    "spread_days",
    "week_days",
]

DISABLED_ABILITY = 3  # GB/T 42195-2022 "severe" or worse
HARDSHIP = frozenset({"extreme_poverty", "minimum_living", "registered_poor"})
SATURDAY = 5


@dataclass(frozen=True, slots=True)
class ElderFacts:
    """What the cadence depends on."""

    elder_id: int
    birth_date: date
    living_alone: bool
    empty_nest: bool
    self_care_ability: int
    subsidy_categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An agent and how many open care calls they already hold."""

    operator_id: int
    open_calls: int


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One care call to create: for whom, on which day, by whom (None: no agent on duty)."""

    elder_id: int
    due_on: date
    operator_id: int | None


def _age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _disabled(facts: ElderFacts) -> bool:
    return facts.self_care_ability >= DISABLED_ABILITY or "severe_disability" in facts.subsidy_categories


def _old_in_hardship(facts: ElderFacts, day: date) -> bool:
    return _age_on(facts.birth_date, day) >= 80 and not HARDSHIP.isdisjoint(facts.subsidy_categories)


def cadence_of(facts: ElderFacts, day: date) -> CareCadence:
    """Weekly for elders at risk (alone, empty nest, disabled, 80+ in hardship, family-planning special
    family), monthly for everyone else."""
    at_risk = (
        facts.living_alone
        or facts.empty_nest
        or _disabled(facts)
        or _old_in_hardship(facts, day)
        or "family_planning_special" in facts.subsidy_categories
    )
    return CareCadence.weekly if at_risk else CareCadence.monthly


def _days_until(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _working(days: list[date]) -> list[date]:
    return [day for day in days if day.weekday() < SATURDAY]


def week_days(today: date) -> list[date]:
    """The days left for this week's calls: the working days from today to Friday; at the weekend,
    today to Sunday."""
    sunday = today + timedelta(days=6 - today.weekday())
    return _working(_days_until(today, sunday)) or _days_until(today, sunday)


def month_days(today: date) -> list[date]:
    """The days left for this month's calls: the working days from today to the month's end; on a
    weekend closing the month, today to the month's end."""
    last = today.replace(day=monthrange(today.year, today.month)[1])
    return _working(_days_until(today, last)) or _days_until(today, last)


def spread_days(count: int, days: Sequence[date]) -> list[date]:
    """`count` due days spread evenly over `days` (in order: the first calls on the first days)."""
    if not days:
        raise ValueError("no days to spread calls over")
    return [days[i * len(days) // count] for i in range(count)]


def assign_agents(count: int, agents: Sequence[AgentLoad]) -> list[int | None]:
    """An agent for each of `count` new calls: the least loaded first, ties by operator id."""
    if not agents:
        return [None] * count
    heap = [(agent.open_calls, agent.operator_id) for agent in agents]
    heapq.heapify(heap)
    chosen: list[int | None] = []
    for _ in range(count):
        load, operator_id = heapq.heappop(heap)
        chosen.append(operator_id)
        heapq.heappush(heap, (load + 1, operator_id))
    return chosen


def plan_calls(
    elder_ids: Sequence[int], days: Sequence[date], agents: Sequence[AgentLoad]
) -> list[PlannedCall]:
    """New calls for these elders spread over the days and the agents."""
    due = spread_days(len(elder_ids), days) if elder_ids else []
    operators = assign_agents(len(elder_ids), agents)
    return [PlannedCall(e, d, o) for e, d, o in zip(elder_ids, due, operators, strict=True)]


def is_overdue(state: CareCallState, due_on: date, today: date) -> bool:
    """Still to be made and its day has passed."""
    return state == CareCallState.scheduled and due_on < today
