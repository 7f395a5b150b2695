"""Chinese working days (工作日), as the assessment procedure counts its deadlines: statutory holidays off,
the make-up working days that come with them on (from `chinese-calendar`, which follows the State
Council's yearly notice). A year the package has no data for yet is counted Monday to Friday, and the
answer says it is provisional, so a deadline can be checked again once the year's notice is out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkingDay:
    day: date
    provisional: bool  # a year without holiday data was counted Monday to Friday


def is_working_day(day: date) -> tuple[bool, bool]:
    """Whether `day` is a working day, and whether that was only assumed (no data for its year)."""
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5, True


def add_working_days(start: date, count: int) -> WorkingDay:
    """The `count`-th working day after `start` (`start` itself not counted: "5个工作日内" from an
    acceptance on a Monday ends on the Monday after, holidays aside)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    day, found, provisional = start, 0, False
    while found < count:
        day += timedelta(days=1)
        working, assumed = is_working_day(day)
        provisional = provisional or assumed
        found += working
    if provisional:
        logger.warning(
            "working days after %s counted Monday to Friday: no holiday data for %s", start, day.year
        )
    return WorkingDay(day, provisional)
