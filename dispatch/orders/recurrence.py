"""Which days a recurring plan falls on (pure): weekly on some weekdays, or monthly on some days of the
month, where a day the month does not have (31 in April, 29-31 in February) means its last day."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from dispatch.orders.models import PlanFrequency


@dataclass(frozen=True, slots=True)
class Recurrence:
    frequency: PlanFrequency
    weekdays: frozenset[int]  # 1 = Monday ... 7 = Sunday
    month_days: frozenset[int]  # 1..31
    starts_on: date
    ends_on: date | None


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _month_day_matches(day: date, month_days: frozenset[int]) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if day.day in month_days:
        return True
    # The month's last day also stands for the days beyond it.
    return day.day == last and any(wanted > last for wanted in month_days)


def falls_on(rule: Recurrence, day: date) -> bool:
    if day < rule.starts_on or (rule.ends_on is not None and day > rule.ends_on):
        return False
    if rule.frequency == PlanFrequency.weekly:
        return day.isoweekday() in rule.weekdays
    return _month_day_matches(day, rule.month_days)


def occurrences(rule: Recurrence, first: date, last: date) -> list[date]:
    """The local days from `first` to `last` (both included) the plan falls on."""
    return [day for day in _days(first, last) if falls_on(rule, day)]
