"""The call state table and the alarm rules (pure)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch.calls.conditions import Condition, ConditionState
from dispatch.calls.rules import CallCategory, ElderFacts, EventFacts, judge
from dispatch.calls.states import TRANSITIONS, CallState, check_transition
from dispatch.elders.schemas import VitalsThresholds
from dispatch.errors import InvalidTransition
from dispatch.ingest.events import EventType

S = CallState
ALLOWED = {
    (S.new, S.acknowledged),
    (S.new, S.cancelled),
    (S.new, S.false_alarm),
    (S.acknowledged, S.dispatched),
    (S.acknowledged, S.on_scene),
    (S.acknowledged, S.resolved),
    (S.acknowledged, S.cancelled),
    (S.acknowledged, S.false_alarm),
    (S.dispatched, S.on_scene),
    (S.dispatched, S.resolved),
    (S.dispatched, S.cancelled),
    (S.on_scene, S.resolved),
    (S.resolved, S.closed),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_only_the_table_s_transitions_are_allowed(current: CallState, target: CallState) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"from {current.value} to {target.value}"):
            check_transition(current, target)


def test_terminal_states_lead_nowhere() -> None:
    assert [s for s, targets in TRANSITIONS.items() if not targets] == [S.closed, S.cancelled, S.false_alarm]


SAFE_AREA = {
    "type": "Polygon",
    "coordinates": [[[119.29, 26.07], [119.31, 26.07], [119.31, 26.09], [119.29, 26.09], [119.29, 26.07]]],
}
ELDER = ElderFacts(vitals_thresholds=VitalsThresholds().model_dump(), safe_area=SAFE_AREA)
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
MIDNIGHT = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 00:00 in Shanghai


def event(
    kind: EventType,
    data: dict[str, Any] | None = None,
    lon: float | None = None,
    lat: float | None = None,
    fixed: bool | None = None,
    at: datetime = NOON,
) -> EventFacts:
    return EventFacts(type=kind, data=data or {}, lon=lon, lat=lat, fixed=fixed, at=at)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (event(EventType.sos), (1, CallCategory.sos, "sos_button")),
        (event(EventType.fall, lon=119.3, lat=26.08, fixed=False), (1, CallCategory.fall, "fall_detected")),
        (event(EventType.alarm), (1, CallCategory.sos, "device_alarm")),
        (event(EventType.silent), (3, CallCategory.device_silent, "device_silent")),
        (event(EventType.low_battery), (4, CallCategory.low_battery, "battery_low")),
        (event(EventType.removed), (4, CallCategory.device_removed, "watch_removed")),
        (event(EventType.heartbeat), None),
        (event(EventType.media), None),
        # conditions: one reading alone raises nothing
        (event(EventType.vitals, {"heart_rate": 131}), None),
        (event(EventType.position, lon=119.35, lat=26.08, fixed=True), None),
        (event(EventType.geofence_exit), None),
    ],
)
def test_what_one_event_raises_by_day(
    facts: EventFacts, expected: tuple[int, CallCategory, str] | None
) -> None:
    judgement = judge(facts, ELDER, {})
    alarm = judgement.alarm
    assert (None if alarm is None else (alarm.priority, alarm.category, alarm.code)) == expected
    assert judgement.defer_until is None


@pytest.mark.parametrize("kind", [EventType.silent, EventType.low_battery, EventType.removed])
def test_p3_and_p4_alarms_at_night_wait_for_seven_in_the_morning(kind: EventType) -> None:
    judgement = judge(event(kind, at=MIDNIGHT), ELDER, {})
    assert judgement.defer_until == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai


@pytest.mark.parametrize("kind", [EventType.sos, EventType.fall, EventType.alarm])
def test_emergencies_are_never_held_at_night(kind: EventType) -> None:
    judgement = judge(event(kind, at=MIDNIGHT), ELDER, {})
    assert judgement.alarm is not None
    assert judgement.defer_until is None


@pytest.mark.parametrize(
    ("facts", "category", "reason", "params"),
    [
        (
            event(EventType.vitals, {"heart_rate": 131, "spo2": 85}),
            CallCategory.vitals,
            "heart_rate 131 > 120; spo2 85 < 90",
            {
                "readings": [
                    {"condition": "heart_rate", "value": 131, "op": ">", "limit": 120},
                    {"condition": "spo2", "value": 85, "op": "<", "limit": 90},
                ]
            },
        ),
        (
            event(EventType.vitals, {"systolic": 175}),
            CallCategory.vitals,
            "systolic 175 > 160",
            {"readings": [{"condition": "systolic", "value": 175, "op": ">", "limit": 160}]},
        ),
        (
            event(EventType.vitals, {"temperature": 38.6}),
            CallCategory.vitals,
            "temperature 38.6 > 38.0",
            {"readings": [{"condition": "temperature", "value": 38.6, "op": ">", "limit": 38.0}]},
        ),
        (
            event(EventType.position, lon=119.35, lat=26.08, fixed=True),
            CallCategory.geofence_exit,
            "position outside the safe area",
            {},
        ),
        (event(EventType.geofence_exit), CallCategory.geofence_exit, "left the safe area (device)", {}),
    ],
)
def test_a_condition_raises_its_p2_alarm_once_it_has_held(
    facts: EventFacts, category: CallCategory, reason: str, params: dict[str, Any]
) -> None:
    """Vital signs on the third reading running, the safe area on the second (a wanderer is urgent)."""
    readings = 2 if category is CallCategory.geofence_exit else 3
    states: dict[Condition, ConditionState] = {}
    alarms = []
    for _ in range(readings):
        judgement = judge(facts, ELDER, states)
        states |= judgement.states
        alarms.append(judgement.alarm)
    *before, raised = alarms
    assert before == [None] * (readings - 1)
    assert raised is not None
    assert (raised.priority, raised.category, raised.reason) == (2, category, reason)
    expected_code = "vitals" if category is CallCategory.vitals else "left_safe_area"
    assert (raised.code, raised.params) == (expected_code, params)


@pytest.mark.parametrize(
    "facts",
    [
        event(EventType.vitals, {"heart_rate": 72, "spo2": 97, "temperature": 36.6}),
        event(EventType.position, lon=119.30, lat=26.08, fixed=True),
        event(EventType.position, lon=119.35, lat=26.08, fixed=False),  # a cell fix proves nothing
        event(
            EventType.position, lon=119.35, lat=26.08, fixed=True, data={"accuracy_m": 500}
        ),  # nor a vague one
    ],
)
def test_readings_inside_or_unproven_never_raise(facts: EventFacts) -> None:
    states: dict[Condition, ConditionState] = {}
    for _ in range(5):
        judgement = judge(facts, ELDER, states)
        states |= judgement.states
        assert judgement.alarm is None


def test_without_a_safe_area_positions_raise_nothing() -> None:
    no_area = ElderFacts(vitals_thresholds={}, safe_area=None)
    for _ in range(5):
        assert judge(event(EventType.position, lon=0.0, lat=0.0, fixed=True), no_area, {}).states == {}
