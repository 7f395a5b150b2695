"""Alarm rules: what a device event means for the elder's calls (pure: data in, decision out)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shapely.geometry import Point

from dispatch import geo
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


@dataclass(frozen=True, slots=True)
class ElderFacts:
    """What the rules need to know about the elder."""

    vitals_thresholds: dict[str, Any]
    safe_area: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Alarm:
    """An event that needs a call: its priority (1 highest), category and why."""

    priority: int
    category: CallCategory
    reason: str


DIRECT: dict[EventType, Alarm] = {
    EventType.sos: Alarm(1, CallCategory.sos, "SOS button"),
    EventType.fall: Alarm(1, CallCategory.fall, "fall detected"),
    EventType.alarm: Alarm(1, CallCategory.sos, "device alarm"),
    EventType.geofence_exit: Alarm(2, CallCategory.geofence_exit, "left the safe area (device)"),
    EventType.silent: Alarm(3, CallCategory.device_silent, "device silent"),
    EventType.low_battery: Alarm(4, CallCategory.low_battery, "battery low"),
    EventType.removed: Alarm(4, CallCategory.device_removed, "watch taken off"),
}

# measurement -> (lower-limit key, upper-limit key) in the elder's thresholds
VITAL_LIMITS = {
    "heart_rate": ("heart_rate_min", "heart_rate_max"),
    "systolic": ("systolic_min", "systolic_max"),
    "diastolic": ("diastolic_min", "diastolic_max"),
    "spo2": ("spo2_min", None),
    "temperature": ("temperature_min", "temperature_max"),
}


def vitals_out_of_range(data: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """Each measurement outside the elder's limits, described (e.g. 'heart_rate 131 > 120')."""
    findings = []
    for measurement, (low_key, high_key) in VITAL_LIMITS.items():
        value = data.get(measurement)
        if not isinstance(value, int | float):
            continue
        low = thresholds.get(low_key) if low_key else None
        high = thresholds.get(high_key) if high_key else None
        if low is not None and value < low:
            findings.append(f"{measurement} {value} < {low}")
        if high is not None and value > high:
            findings.append(f"{measurement} {value} > {high}")
    return findings


def outside_safe_area(event: EventFacts, safe_area: dict[str, Any] | None) -> bool:
    """A GPS fix outside the elder's safe area (no area, no fix: not outside)."""
    if safe_area is None or not event.fixed or event.lon is None or event.lat is None:
        return False
    return not geo.parse_area(safe_area).covers(Point(event.lon, event.lat))


def evaluate(event: EventFacts, elder: ElderFacts) -> Alarm | None:
    """The alarm this event raises, or None."""
    if event.type in DIRECT:
        return DIRECT[event.type]
    if event.type is EventType.vitals:
        findings = vitals_out_of_range(event.data, elder.vitals_thresholds)
        return Alarm(2, CallCategory.vitals, "; ".join(findings)) if findings else None
    if event.type is EventType.position and outside_safe_area(event, elder.safe_area):
        return Alarm(2, CallCategory.geofence_exit, "position outside the safe area")
    return None
