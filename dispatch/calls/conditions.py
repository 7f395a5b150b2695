"""Alarm conditions that must hold before they raise a call, and clear only past a margin (pure).

SOS and falls are immediate (`rules.DIRECT`). A vital sign out of range or a position outside the safe
area is a *condition*: one reading proves little (a loose strap, a GPS jump), so it raises its P2 alarm
only once it has held for `raise_after_readings` consecutive readings, or for `raise_after_minutes` over at
least two readings. A raised condition clears only once the readings are back inside by `clear_margin`
(beats per minute, mmHg, %, °C; metres inside the safe area) for `clear_after_readings` readings in a row:
readings between the limit and the margin neither raise nor clear (hysteresis). A position whose fix is
poor (LBS or Wi-Fi, or an accuracy radius over `max_accuracy_m`) is no evidence either way.

Every setting has a default per condition and may be overridden per elder (`Elder.alarm_overrides`,
validated by `dispatch.elders.schemas.AlarmOverrides`). P3/P4 alarms (device silent, low battery, watch
taken off) that arrive in the quiet hours wait for the morning (`quiet_until`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from shapely.geometry import Point

from dispatch import geo
from dispatch.localtime import LOCAL_TZ


class Condition(StrEnum):
    heart_rate = "heart_rate"
    systolic = "systolic"
    diastolic = "diastolic"
    spo2 = "spo2"
    temperature = "temperature"
    geofence = "geofence"


VITALS = (
    Condition.heart_rate,
    Condition.systolic,
    Condition.diastolic,
    Condition.spo2,
    Condition.temperature,
)
# measurement -> (lower-limit key, upper-limit key) in the elder's vitals thresholds
VITAL_LIMITS: dict[Condition, tuple[str, str | None]] = {
    Condition.heart_rate: ("heart_rate_min", "heart_rate_max"),
    Condition.systolic: ("systolic_min", "systolic_max"),
    Condition.diastolic: ("diastolic_min", "diastolic_max"),
    Condition.spo2: ("spo2_min", None),
    Condition.temperature: ("temperature_min", "temperature_max"),
}


@dataclass(frozen=True, slots=True)
class Policy:
    raise_after_readings: int
    raise_after_minutes: float
    clear_after_readings: int
    clear_margin: float
    max_accuracy_m: float = 100.0  # positions only

    def with_overrides(self, overrides: dict[str, Any] | None) -> Policy:
        known = {k: v for k, v in (overrides or {}).items() if k in POLICY_FIELDS and v is not None}
        return replace(self, **known)


POLICY_FIELDS = frozenset(Policy.__dataclass_fields__)
DEFAULT_POLICIES: dict[Condition, Policy] = {
    Condition.heart_rate: Policy(3, 5, 2, 5),
    Condition.systolic: Policy(3, 10, 2, 5),
    Condition.diastolic: Policy(3, 10, 2, 5),
    Condition.spo2: Policy(3, 5, 2, 2),
    Condition.temperature: Policy(3, 15, 2, 0.3),
    Condition.geofence: Policy(2, 3, 2, 50),
}


class Observation(StrEnum):
    """What one reading says about a condition."""

    breach = "breach"  # outside the limit
    band = "band"  # back inside, but not by the margin: neither raises nor clears
    clear = "clear"  # inside by the margin
    unknown = "unknown"  # no evidence (a poor position fix)


@dataclass(frozen=True, slots=True)
class Reading:
    condition: Condition
    at: datetime
    observation: Observation
    text: str  # e.g. "heart_rate 131 > 120", "position outside the safe area"
    # A breach of a limit as data, for the console to say: {"value": 131, "op": ">", "limit": 120}
    limit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConditionState:
    """Where one elder's condition stands between readings (kept in `alarm_condition`)."""

    breaching_since: datetime | None = None
    breaches: int = 0
    clears: int = 0
    raised: bool = False


class Verdict(StrEnum):
    none = "none"
    raise_alarm = "raise"
    clear = "clear"


def step(state: ConditionState, reading: Reading, policy: Policy) -> tuple[ConditionState, Verdict]:
    """One reading applied to a condition: its next state, and whether it raises or clears the alarm."""
    seen = reading.observation
    if seen is Observation.unknown:
        return state, Verdict.none
    if not state.raised:
        if seen is not Observation.breach:
            return ConditionState(), Verdict.none
        since = state.breaching_since or reading.at
        breaches = state.breaches + 1
        held = reading.at - since >= timedelta(minutes=policy.raise_after_minutes)
        if breaches >= policy.raise_after_readings or (breaches >= 2 and held):
            return ConditionState(since, breaches, 0, raised=True), Verdict.raise_alarm
        return ConditionState(since, breaches, 0, raised=False), Verdict.none
    if seen is not Observation.clear:
        return replace(state, clears=0), Verdict.none
    if state.clears + 1 >= policy.clear_after_readings:
        return ConditionState(), Verdict.clear
    return replace(state, clears=state.clears + 1), Verdict.none


# --- readings from a device event ----------------------------------------------------------------------


def vital_readings(
    data: dict[str, Any], thresholds: dict[str, Any], policies: dict[Condition, Policy], at: datetime
) -> list[Reading]:
    """A reading for each vital sign measured (and with a limit on file)."""
    readings = []
    for condition, (low_key, high_key) in VITAL_LIMITS.items():
        value = data.get(condition.value)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        low = thresholds.get(low_key)
        high = thresholds.get(high_key) if high_key else None
        if low is None and high is None:
            continue
        margin = policies[condition].clear_margin
        observation, text, limit = _against_limits(condition.value, value, low, high, margin)
        readings.append(Reading(condition, at, observation, text, limit))
    return readings


def _against_limits(
    name: str, value: float, low: float | None, high: float | None, margin: float
) -> tuple[Observation, str, dict[str, Any]]:
    if low is not None and value < low:
        return Observation.breach, f"{name} {value} < {low}", {"value": value, "op": "<", "limit": low}
    if high is not None and value > high:
        return Observation.breach, f"{name} {value} > {high}", {"value": value, "op": ">", "limit": high}
    inside_low = low is None or value >= low + margin
    inside_high = high is None or value <= high - margin
    observation = Observation.clear if inside_low and inside_high else Observation.band
    return observation, f"{name} {value}", {}


@dataclass(frozen=True, slots=True)
class Fix:
    lon: float
    lat: float
    fixed: bool | None  # True: satellite fix; False: LBS / Wi-Fi; None: not said
    accuracy_m: float | None = None


def position_reading(
    fix: Fix | None, safe_area: dict[str, Any] | None, policy: Policy, at: datetime
) -> Reading | None:
    """The safe-area condition's reading for one position (None without a safe area or a position)."""
    if safe_area is None or fix is None:
        return None
    poor = fix.fixed is False or (fix.accuracy_m is not None and fix.accuracy_m > policy.max_accuracy_m)
    if poor:
        return Reading(Condition.geofence, at, Observation.unknown, "position fix too poor to judge")
    area = geo.parse_area(safe_area)
    here = Point(fix.lon, fix.lat)
    if not area.covers(here):
        return Reading(Condition.geofence, at, Observation.breach, "position outside the safe area")
    inside_by = geo.metres_inside(area, here)
    observation = Observation.clear if inside_by >= policy.clear_margin else Observation.band
    return Reading(Condition.geofence, at, observation, "position inside the safe area")


def device_exit_reading(at: datetime) -> Reading:
    """The device's own 'left the safe area' report counts as a reading outside."""
    return Reading(Condition.geofence, at, Observation.breach, "left the safe area (device)")


def policies_for(overrides: dict[str, Any] | None) -> dict[Condition, Policy]:
    """The elder's policies: the defaults with their overrides."""
    overrides = overrides or {}
    return {c: p.with_overrides(overrides.get(c.value)) for c, p in DEFAULT_POLICIES.items()}


# --- quiet hours --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time = time(22, 0)
    end: time = time(7, 0)
    zone: tzinfo = LOCAL_TZ

    def until(self, at: datetime) -> datetime | None:
        """When the quiet period `at` falls in ends (UTC-aware like `at`), or None when not quiet."""
        local = at.astimezone(self.zone)
        clock = local.time()
        if self.start == self.end:
            return None
        overnight = self.start > self.end
        quiet = (clock >= self.start or clock < self.end) if overnight else (self.start <= clock < self.end)
        if not quiet:
            return None
        end_day = local.date() + timedelta(days=1) if overnight and clock >= self.start else local.date()
        return datetime.combine(end_day, self.end, tzinfo=local.tzinfo).astimezone(at.tzinfo)
