"""Alarm conditions (pure): raising after holding, clearing past a margin, poor fixes, per-elder overrides,
quiet hours; the raise/clear rules checked on every sequence of readings up to length 7."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from shapely.geometry import Point

from dispatch import geo
from dispatch.calls.conditions import (
    DEFAULT_POLICIES,
    Condition,
    ConditionState,
    Fix,
    Observation,
    Policy,
    QuietHours,
    Reading,
    Verdict,
    policies_for,
    position_reading,
    step,
    vital_readings,
)
from dispatch.localtime import parse_hours

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
B, N, C, U = Observation.breach, Observation.band, Observation.clear, Observation.unknown
SLOW = Policy(raise_after_readings=3, raise_after_minutes=10_000, clear_after_readings=2, clear_margin=5)


def run(observations: list[Observation], policy: Policy = SLOW, minutes_apart: float = 1) -> list[Verdict]:
    state, verdicts = ConditionState(), []
    for n, seen in enumerate(observations):
        reading = Reading(Condition.heart_rate, T0 + timedelta(minutes=n * minutes_apart), seen, "")
        state, verdict = step(state, reading, policy)
        verdicts.append(verdict)
    return verdicts


def test_raises_on_the_third_breach_running_and_only_once() -> None:
    assert run([B, B, B, B, B]) == ["none", "none", "raise", "none", "none"]


def test_a_reading_back_inside_starts_the_count_again_an_unproven_one_does_not() -> None:
    assert run([B, B, N, B, B, U, B]) == ["none"] * 6 + ["raise"]


def test_two_readings_apart_by_the_holding_time_raise() -> None:
    policy = Policy(raise_after_readings=5, raise_after_minutes=5, clear_after_readings=2, clear_margin=5)
    assert run([B, B], policy, minutes_apart=5) == ["none", "raise"]
    assert run([B, B], policy, minutes_apart=4) == ["none", "none"]


def test_clears_after_two_readings_past_the_margin_in_a_row() -> None:
    assert run([B, B, B, N, C, N, C, B, C, C]) == ["none", "none", "raise"] + ["none"] * 6 + ["clear"]


def test_the_raise_and_clear_rules_hold_on_every_sequence_of_seven_readings() -> None:
    for observations in itertools.product([B, N, C, U], repeat=7):
        check_sequence(observations)


def check_sequence(observations: tuple[Observation, ...]) -> None:
    verdicts = run(list(observations))
    known = [(seen, verdict) for seen, verdict in zip(observations, verdicts, strict=True) if seen is not U]
    raised = False
    for i, (seen, verdict) in enumerate(known):
        before = [s for s, _ in known[:i]]
        if verdict == Verdict.raise_alarm:
            assert (raised, before[-2:], seen) == (False, [B, B], B), observations
            raised = True
        elif verdict == Verdict.clear:
            assert (raised, seen, before[-1:]) == (True, C, [C]), observations
            raised = False
        else:  # nothing said: the rule's conditions were not met
            assert raised or not (seen is B and before[-2:] == [B, B]), observations
            assert not raised or not (seen is C and before[-1:] == [C] and _since_raise(known[:i]) >= 1), (
                observations
            )
    said = [v for v in verdicts if v is not Verdict.none]
    assert said == [Verdict.raise_alarm if n % 2 == 0 else Verdict.clear for n in range(len(said))], (
        observations
    )


def _since_raise(known: list[tuple[Observation, Verdict]]) -> int:
    """Readings since the last raise (a clear reading right after the raise counts toward clearing)."""
    last = max(i for i, (_, v) in enumerate(known) if v == Verdict.raise_alarm)
    return len(known) - 1 - last


def test_vital_readings_say_breach_band_or_clear_against_the_limits() -> None:
    thresholds = {"heart_rate_min": 50, "heart_rate_max": 120, "spo2_min": 90}
    readings = vital_readings({"heart_rate": 118, "spo2": 85}, thresholds, DEFAULT_POLICIES, T0)
    assert [(r.condition, r.observation, r.text) for r in readings] == [
        (Condition.heart_rate, N, "heart_rate 118"),
        (Condition.spo2, B, "spo2 85 < 90"),
    ]
    [low] = vital_readings({"heart_rate": 54}, thresholds, DEFAULT_POLICIES, T0)
    [fine] = vital_readings({"heart_rate": 55}, thresholds, DEFAULT_POLICIES, T0)
    assert (low.observation, fine.observation) == (N, C)
    assert vital_readings({"heart_rate": True, "steps": 100}, thresholds, DEFAULT_POLICIES, T0) == []


AREA = {
    "type": "Polygon",
    "coordinates": [[[119.29, 26.07], [119.31, 26.07], [119.31, 26.09], [119.29, 26.09], [119.29, 26.07]]],
}
GEOFENCE = DEFAULT_POLICIES[Condition.geofence]  # clear 50 m inside, fixes up to 100 m


@pytest.mark.parametrize(
    ("fix", "observation"),
    [
        (Fix(119.32, 26.08, True), B),
        (Fix(119.32, 26.08, True, accuracy_m=80), B),
        (Fix(119.32, 26.08, True, accuracy_m=150), U),
        (Fix(119.32, 26.08, False), U),
        (Fix(119.3098, 26.08, True), N),  # about 20 m inside the edge
        (Fix(119.30, 26.08, True), C),
    ],
)
def test_a_position_is_judged_only_on_a_good_fix_and_clears_past_the_buffer(
    fix: Fix, observation: Observation
) -> None:
    reading = position_reading(fix, AREA, GEOFENCE, T0)
    assert reading is not None
    assert reading.observation is observation


def test_metres_inside_measures_to_the_nearest_edge() -> None:
    area = geo.parse_area(AREA)
    assert geo.metres_inside(area, Point(119.3098, 26.08)) == pytest.approx(20.0, abs=1.0)
    assert geo.metres_inside(area, Point(119.30, 26.0709)) == pytest.approx(100.1, abs=1.0)
    assert geo.metres_inside(area, Point(119.40, 26.08)) == 0.0


def test_an_elders_overrides_replace_the_defaults_they_name() -> None:
    policies = policies_for(
        {"heart_rate": {"raise_after_readings": 1}, "geofence": {"clear_margin": 200, "bogus": 1}}
    )
    assert policies[Condition.heart_rate] == Policy(1, 5, 2, 5)
    assert policies[Condition.geofence].clear_margin == 200
    assert policies[Condition.spo2] == DEFAULT_POLICIES[Condition.spo2]


@pytest.mark.parametrize(
    ("hours", "local", "until"),
    [
        ("22:00-07:00", "2026-03-02 23:30", "2026-03-03 07:00"),
        ("22:00-07:00", "2026-03-03 02:00", "2026-03-03 07:00"),
        ("22:00-07:00", "2026-03-03 07:00", None),
        ("22:00-07:00", "2026-03-02 21:59", None),
        ("22:00-07:00", "2026-03-02 22:00", "2026-03-03 07:00"),
        ("13:00-14:00", "2026-03-02 13:15", "2026-03-02 14:00"),
        ("13:00-14:00", "2026-03-02 14:00", None),
        ("07:00-07:00", "2026-03-02 07:00", None),
    ],
)
def test_quiet_hours_end_at_their_end_in_shanghai(hours: str, local: str, until: str | None) -> None:
    quiet = QuietHours(*parse_hours(hours))
    at = datetime.fromisoformat(local).replace(tzinfo=quiet.zone)
    ends = quiet.until(at.astimezone(UTC))
    assert (ends.astimezone(quiet.zone).strftime("%Y-%m-%d %H:%M") if ends else None) == until
    assert ends is None or ends.tzinfo == UTC


def test_quiet_hours_parse() -> None:
    assert parse_hours("21:30-06:45") == (time(21, 30), time(6, 45))
    with pytest.raises(ValueError, match="hour must be in"):
        parse_hours("25:00-07:00")
