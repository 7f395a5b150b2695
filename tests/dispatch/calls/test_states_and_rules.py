"""The call state table and the alarm rules (pure)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from dispatch.calls.rules import CallCategory, ElderFacts, EventFacts, evaluate, vitals_out_of_range
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


def event(
    kind: EventType,
    data: dict[str, Any] | None = None,
    lon: float | None = None,
    lat: float | None = None,
    fixed: bool | None = None,
) -> EventFacts:
    return EventFacts(type=kind, data=data or {}, lon=lon, lat=lat, fixed=fixed)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (event(EventType.sos), (1, CallCategory.sos)),
        (event(EventType.fall, lon=119.3, lat=26.08, fixed=False), (1, CallCategory.fall)),
        (event(EventType.alarm), (1, CallCategory.sos)),
        (event(EventType.vitals, {"heart_rate": 131}), (2, CallCategory.vitals)),
        (event(EventType.vitals, {"spo2": 85}), (2, CallCategory.vitals)),
        (event(EventType.vitals, {"systolic": 175, "diastolic": 95}), (2, CallCategory.vitals)),
        (event(EventType.vitals, {"temperature": 38.6}), (2, CallCategory.vitals)),
        (event(EventType.vitals, {"heart_rate": 72, "spo2": 97, "temperature": 36.6}), None),
        (event(EventType.position, lon=119.35, lat=26.08, fixed=True), (2, CallCategory.geofence_exit)),
        (event(EventType.position, lon=119.30, lat=26.08, fixed=True), None),
        (event(EventType.position, lon=119.35, lat=26.08, fixed=False), None),  # a cell fix proves nothing
        (event(EventType.geofence_exit), (2, CallCategory.geofence_exit)),
        (event(EventType.silent), (3, CallCategory.device_silent)),
        (event(EventType.low_battery), (4, CallCategory.low_battery)),
        (event(EventType.removed), (4, CallCategory.device_removed)),
        (event(EventType.heartbeat), None),
        (event(EventType.media), None),
    ],
)
def test_rules(facts: EventFacts, expected: tuple[int, CallCategory] | None) -> None:
    alarm = evaluate(facts, ELDER)
    assert (None if alarm is None else (alarm.priority, alarm.category)) == expected


def test_vitals_findings_say_what_and_by_how_much() -> None:
    assert vitals_out_of_range({"heart_rate": 131, "spo2": 85}, VitalsThresholds().model_dump()) == [
        "heart_rate 131 > 120",
        "spo2 85 < 90",
    ]


def test_without_a_safe_area_positions_raise_nothing() -> None:
    no_area = ElderFacts(vitals_thresholds={}, safe_area=None)
    assert evaluate(event(EventType.position, lon=0.0, lat=0.0, fixed=True), no_area) is None
