"""Alarm rules: what a device event means for the elder's calls (pure: data in, decision out). SOS, falls
and device alarms are immediate; vital signs and the safe area are conditions that must hold first
(dispatch.calls.conditions); P3/P4 alarms in the quiet hours wait for the morning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dispatch.calls.conditions import (
    DEFAULT_POLICIES,
    Condition,
    ConditionState,
    Fix,
    Policy,
    QuietHours,
    Reading,
    Verdict,
    device_exit_reading,
    position_reading,
    step,
    vital_readings,
)
from dispatch.ingest.events import EventType


class CallCategory(StrEnum):
    sos = "sos"
    fall = "fall"
    vitals = "vitals"
    geofence_exit = "geofence_exit"
    device_silent = "device_silent"
    low_battery = "low_battery"
    device_removed = "device_removed"
    service_request = "service_request"
    enquiry = "enquiry"
    complaint = "complaint"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What the rules need to know about a stored device event."""

    type: EventType
    data: dict[str, Any]
    lon: float | None
    lat: float | None
    fixed: bool | None
    at: datetime  # when it was received (device clocks may be wrong)

    def fix(self) -> Fix | None:
        if self.lon is None or self.lat is None:
            return None
        accuracy = self.data.get("accuracy_m")
        return Fix(self.lon, self.lat, self.fixed, accuracy if isinstance(accuracy, int | float) else None)


@dataclass(frozen=True, slots=True)
class ElderFacts:
    """What the rules need to know about the elder."""

    vitals_thresholds: dict[str, Any]
    safe_area: dict[str, Any] | None
    policies: dict[Condition, Policy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    quiet: QuietHours = field(default_factory=QuietHours)


@dataclass(frozen=True, slots=True)
class Alarm:
    """An event that needs a call: its priority (1 highest), category and why."""

    priority: int
    category: CallCategory
    reason: str  # in English, for the log and API readers
    code: str = ""  # the reason for the console to say in its language, with `params`
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one event means: an alarm (or one held until `defer_until`, the end of the quiet hours), the
    conditions it cleared, and the conditions' new states."""

    alarm: Alarm | None = None
    defer_until: datetime | None = None
    cleared: tuple[Reading, ...] = ()
    states: dict[Condition, ConditionState] = field(default_factory=dict)


DIRECT: dict[EventType, Alarm] = {
    EventType.sos: Alarm(1, CallCategory.sos, "SOS button", "sos_button"),
    EventType.fall: Alarm(1, CallCategory.fall, "fall detected", "fall_detected"),
    EventType.alarm: Alarm(1, CallCategory.sos, "device alarm", "device_alarm"),
    EventType.silent: Alarm(3, CallCategory.device_silent, "device silent", "device_silent"),
    EventType.low_battery: Alarm(4, CallCategory.low_battery, "battery low", "battery_low"),
    EventType.removed: Alarm(4, CallCategory.device_removed, "watch taken off", "watch_removed"),
}
QUIET_PRIORITIES = frozenset({3, 4})  # held over the quiet hours
# The alarm a held one was (only direct P3/P4 alarms are held, one kind per category).
HELD_BY_CATEGORY = {a.category: a for a in DIRECT.values() if a.priority in QUIET_PRIORITIES}
NO_STATE = ConditionState()


def readings_of(event: EventFacts, elder: ElderFacts) -> list[Reading]:
    """The condition readings a device event carries."""
    if event.type is EventType.vitals:
        return vital_readings(event.data, elder.vitals_thresholds, elder.policies, event.at)
    if event.type is EventType.geofence_exit:
        return [device_exit_reading(event.at)] if elder.safe_area is not None else []
    if event.type is EventType.position:
        reading = position_reading(event.fix(), elder.safe_area, elder.policies[Condition.geofence], event.at)
        return [reading] if reading else []
    return []


def judge(event: EventFacts, elder: ElderFacts, states: Mapping[Condition, ConditionState]) -> Judgement:
    """What this event means, given where the elder's conditions stood."""
    direct = DIRECT.get(event.type)
    if direct is not None:
        return Judgement(
            alarm=direct,
            defer_until=elder.quiet.until(event.at) if direct.priority in QUIET_PRIORITIES else None,
        )
    changed: dict[Condition, ConditionState] = {}
    raised: list[Reading] = []
    cleared: list[Reading] = []
    for reading in readings_of(event, elder):
        before = states.get(reading.condition, NO_STATE)
        after, verdict = step(before, reading, elder.policies[reading.condition])
        if after != before:
            changed[reading.condition] = after
        if verdict is Verdict.raise_alarm:
            raised.append(reading)
        elif verdict is Verdict.clear:
            cleared.append(reading)
    return Judgement(alarm=_alarm_of(raised), cleared=tuple(cleared), states=changed)


def _alarm_of(raised: list[Reading]) -> Alarm | None:
    if not raised:
        return None
    if raised[0].condition is Condition.geofence:
        return Alarm(2, CallCategory.geofence_exit, raised[0].text, "left_safe_area")
    readings = [{"condition": r.condition.value, **r.limit} for r in raised]
    return Alarm(2, CallCategory.vitals, "; ".join(r.text for r in raised), "vitals", {"readings": readings})
