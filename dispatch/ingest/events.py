"""The normalised device event every transport decodes into (pure: no database, network or clock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """What a device reported. Alarm types first, in the order a frame's alarms are raised."""

    sos = "sos"
    fall = "fall"
    alarm = "alarm"  # the device raised an alarm without saying which kind
    removed = "removed"
    low_battery = "low_battery"
    geofence_exit = "geofence_exit"
    geofence_enter = "geofence_enter"
    power_cut = "power_cut"
    vitals = "vitals"
    position = "position"
    heartbeat = "heartbeat"
    media = "media"
    silent = "silent"
    service_request = "service_request"  # the elder asked for a home service from the phone / app


ALARM_TYPES = frozenset(
    {
        EventType.sos,
        EventType.fall,
        EventType.alarm,
        EventType.removed,
        EventType.low_battery,
        EventType.geofence_exit,
        EventType.geofence_enter,
        EventType.power_cut,
    }
)


# The events the alarm rules look at; the rest (heartbeats, media, ...) never wait for them.
RULE_EVENT_TYPES = frozenset(
    {
        EventType.sos,
        EventType.fall,
        EventType.alarm,
        EventType.removed,
        EventType.low_battery,
        EventType.geofence_exit,
        EventType.silent,
        EventType.vitals,
        EventType.position,
        EventType.service_request,
    }
)
# The bus stream on which stored events wait for the alarm rules.
RULES_STREAM = "device-events"
# The bus channel on which a registered, rebound or disabled device is announced ({"imei": ...}), so every
# process's cache of devices forgets it.
DEVICE_CHANGES_CHANNEL = "device-changes"


@dataclass(frozen=True, slots=True)
class Position:
    """Where the device was: WGS84 lon/lat when known; `fixed` is False for a non-GPS (cell/Wi-Fi) report."""

    lon: float | None
    lat: float | None
    fixed: bool


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One event decoded from a device message, before it is stored.

    `data` holds vitals (`heart_rate`, `systolic`, `diastolic`, `spo2`, `temperature`), `battery`, `steps`,
    `cells`, `wifis` and whatever else the device sent, as JSON-ready values.
    """

    type: EventType
    device_time: datetime | None
    position: Position | None = None
    data: dict[str, Any] = field(default_factory=dict)
