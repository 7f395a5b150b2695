"""Which days a recurring plan falls on, with month ends and leap years."""

from __future__ import annotations

from datetime import date

from dispatch.orders.models import PlanFrequency
from dispatch.orders.recurrence import Recurrence, occurrences


def weekly(*weekdays: int, starts_on: date = date(2026, 1, 1), ends_on: date | None = None) -> Recurrence:
    return Recurrence(PlanFrequency.weekly, frozenset(weekdays), frozenset(), starts_on, ends_on)


def monthly(*days: int, starts_on: date = date(2026, 1, 1), ends_on: date | None = None) -> Recurrence:
    return Recurrence(PlanFrequency.monthly, frozenset(), frozenset(days), starts_on, ends_on)


def test_every_weekday_in_a_month_that_starts_on_a_sunday() -> None:
    days = occurrences(weekly(1, 2, 3, 4, 5), date(2026, 11, 1), date(2026, 11, 30))
    assert len(days) == 21
    assert days[0] == date(2026, 11, 2)
    assert days[-1] == date(2026, 11, 30)
    assert all(day.isoweekday() <= 5 for day in days)


def test_saturdays_only_between_the_plan_dates() -> None:
    rule = weekly(6, starts_on=date(2026, 11, 10), ends_on=date(2026, 11, 28))
    assert occurrences(rule, date(2026, 11, 1), date(2026, 12, 31)) == [
        date(2026, 11, 14),
        date(2026, 11, 21),
        date(2026, 11, 28),
    ]


def test_the_31st_means_the_last_day_of_shorter_months() -> None:
    days = occurrences(monthly(31), date(2027, 1, 1), date(2027, 5, 31))
    assert days == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]


def test_leap_february_and_days_listed_twice_happen_once() -> None:
    days = occurrences(monthly(15, 29, 30, 31), date(2028, 2, 1), date(2028, 3, 1))
    assert days == [date(2028, 2, 15), date(2028, 2, 29)]


def test_across_the_new_year() -> None:
    days = occurrences(weekly(4), date(2026, 12, 20), date(2027, 1, 10))
    assert days == [date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 7)]
