"""Working hours: weekly windows in Shanghai local time, and whether a provider is open at an instant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MINUTES_PER_DAY = 1440
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkingWindow:
    """Open from start_minute (inclusive) to end_minute (exclusive) on these weekdays (1 = Monday .. 7 = Sunday).

    Minutes count from local midnight; end_minute may be 1440 (24:00). A window never crosses midnight:
    a night shift is two windows (Mon 22:00-24:00 and Tue 00:00-06:00).
    """

    weekdays: frozenset[int]
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(1, 8)):
            raise ValueError(f"weekdays must be a non-empty subset of 1..7, not {sorted(self.weekdays)}")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError(f"need 0 <= start < end <= 1440, not {self.start_minute}..{self.end_minute}")

    @classmethod
    def from_clock(cls, *, weekdays: Iterable[int], start: str, end: str) -> WorkingWindow:
        """A window from "HH:MM" strings, as the provider records store them."""
        return cls(weekdays=frozenset(weekdays), start_minute=_minutes(start), end_minute=_minutes(end))

    def contains(self, weekday: int, minute: int) -> bool:
        """Whether this local weekday and minute of the day fall inside the window."""
        return weekday in self.weekdays and self.start_minute <= minute < self.end_minute

    def describe(self) -> str:
        """E.g. "Mon-Fri,Sun 08:00-18:00"."""
        return f"{_describe_days(self.weekdays)} {_clock(self.start_minute)}-{_clock(self.end_minute)}"


def local_weekday_minute(at: datetime) -> tuple[int, int]:
    """The Shanghai weekday (1 = Monday) and minute of the day of an aware instant."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the time must be timezone-aware")
    local = at.astimezone(LOCAL_TZ)
    return local.isoweekday(), local.hour * 60 + local.minute


def is_open(windows: tuple[WorkingWindow, ...], at: datetime) -> bool:
    """Whether a provider with these windows works at `at` (no windows: always open)."""
    if not windows:
        return True
    weekday, minute = local_weekday_minute(at)
    return any(window.contains(weekday, minute) for window in windows)


def describe_instant(at: datetime) -> str:
    """E.g. "Tue 07:30" in Shanghai time."""
    weekday, minute = local_weekday_minute(at)
    return f"{WEEKDAY_NAMES[weekday - 1]} {_clock(minute)}"


def describe_hours(windows: tuple[WorkingWindow, ...]) -> str:
    """E.g. "Mon-Fri 08:00-18:00; Sat 09:00-12:00", or "always"."""
    return "; ".join(window.describe() for window in windows) or "always"


def _minutes(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    return int(hours) * 60 + int(minutes)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _describe_days(weekdays: frozenset[int]) -> str:
    runs: list[list[int]] = []
    for day in sorted(weekdays):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    names = [
        WEEKDAY_NAMES[run[0] - 1] + (f"-{WEEKDAY_NAMES[run[-1] - 1]}" if len(run) > 1 else "") for run in runs
    ]
    return ",".join(names)
