"""Local (Asia/Shanghai) calendar helpers: the service desk plans in local days, weeks and months and
stores UTC. Shanghai has no daylight saving, but nothing here assumes that."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dispatch.matching.hours import LOCAL_TZ

__all__ = [
    "LOCAL_TZ",
    "at_local",
    "local_date",
    "month_period",
    "parse_hhmm",
    "parse_hours",
    "week_monday",
    "week_period",
]


def local_date(at: datetime) -> date:
    """The Shanghai calendar day of an aware instant."""
    return at.astimezone(LOCAL_TZ).date()


def parse_hhmm(value: str) -> time:
    """ "09:30" -> 09:30; "24:00" is not a time of day and is refused."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def parse_hours(text: str) -> tuple[time, time]:
    """'22:00-07:00' → (22:00, 07:00); ValueError when it is not that."""
    start, _, end = text.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def at_local(day: date, hhmm: str | time) -> datetime:
    """The UTC instant of a Shanghai wall-clock time on a Shanghai day."""
    clock_time = parse_hhmm(hhmm) if isinstance(hhmm, str) else hhmm
    return datetime.combine(day, clock_time, tzinfo=LOCAL_TZ).astimezone(UTC)


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_period(day: date) -> str:
    """ISO week label, e.g. "2026-W48" (the ISO year, so 2026-12-31 may be "2027-W01")."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_period(day: date) -> str:
    return f"{day.year}-{day.month:02d}"
