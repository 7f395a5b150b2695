"""Provider matching: eligibility, ranking and exclusions on hand-computable geometry, and the index vs brute force.

The elder stands at 119.29E 26.08N. On the haversine sphere 0.001 degree of latitude is 111.195 m, so
distances due north or south are easy to check by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

from dispatch.catalog import ServiceType
from dispatch.geo import distance_m
from dispatch.matching import (
    Candidate,
    ExclusionReason,
    MatchRequest,
    MatchResult,
    MeasuredFrom,
    ProviderIndex,
    WorkingWindow,
    match_brute_force,
)
from dispatch.matching.qualifications import CARE_CERTIFICATE, required_for

ST = ServiceType
LON, LAT = 119.29, 26.08
M_PER_DEG_LAT = 111_195.08  # 2 * pi * 6_371_008.8 / 360
MONDAY_0930 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai
WEEKDAYS_8_TO_18 = (WorkingWindow(weekdays=frozenset(range(1, 6)), start_minute=480, end_minute=1080),)

Matcher = Callable[[list[Candidate], MatchRequest], MatchResult]


def match_with_index(candidates: list[Candidate], request: MatchRequest) -> MatchResult:
    return ProviderIndex(candidates).match(request)


@pytest.fixture(params=[match_brute_force, match_with_index], ids=["brute_force", "index"])
def match(request: pytest.FixtureRequest) -> Matcher:
    """Every hand-computed case runs on both matchers."""
    matcher: Matcher = request.param
    return matcher


def around(half_deg: float = 0.02) -> Polygon:
    """A square centred on the elder."""
    return box(LON - half_deg, LAT - half_deg, LON + half_deg, LAT + half_deg)


def provider(provider_id: int, **overrides: Any) -> Candidate:
    """An active meal provider covering the elder, based 0.01 degree (1.1 km) north, free and always open."""
    fields: dict[str, Any] = {
        "provider_id": provider_id,
        "name": f"provider {provider_id}",
        "status": "active",
        "service_types": frozenset({ST.meal_assistance}),
        "area": around(),
        "base_lon": LON,
        "base_lat": LAT + 0.01,
        "rating": 4.0,
        "rating_count": 10,
        "load": 0,
        "capacity": 3,
    }
    fields.update(overrides)
    return Candidate(**fields)


def request_for(**overrides: Any) -> MatchRequest:
    fields: dict[str, Any] = {"service_type": ST.meal_assistance, "lon": LON, "lat": LAT, "at": MONDAY_0930}
    fields.update(overrides)
    return MatchRequest(**fields)


def reasons(result: MatchResult) -> dict[int, ExclusionReason]:
    return {item.provider_id: item.reason for item in result.excluded}


# ---------------------------------------------------------------------------------------------------------
# Areas
# ---------------------------------------------------------------------------------------------------------


def test_an_area_ending_just_short_of_the_elder_is_outside_area(match: Matcher) -> None:
    short = provider(1, area=box(119.28, 26.07, 119.30, 26.0795), base_lat=26.075)
    covering = provider(2, base_lat=LAT + 0.02)
    result = match([short, covering], request_for())
    assert [r.provider_id for r in result.ranked] == [2]
    (excluded,) = result.excluded
    assert (excluded.provider_id, excluded.reason) == (1, ExclusionReason.outside_area)
    assert excluded.distance_m == pytest.approx(0.005 * M_PER_DEG_LAT, abs=0.01)
    assert excluded.measured_from is MeasuredFrom.base
    assert excluded.detail == "service area does not cover the elder: its edge is about 56 m away"


def test_an_elder_exactly_on_the_area_edge_is_covered(match: Matcher) -> None:
    edge = provider(1, area=box(119.28, 26.07, 119.30, LAT))
    result = match([edge], request_for())
    assert [r.provider_id for r in result.ranked] == [1]
    assert result.excluded == ()


def test_only_the_nearest_few_outside_the_area_are_listed_and_only_active_ones_of_the_type(
    match: Matcher,
) -> None:
    south = box(119.28, 26.06, 119.30, 26.07)  # ends 0.01 degree south of the elder
    outside = [provider(10 + n, area=south, base_lat=LAT - 0.001 * (n + 1)) for n in range(7)]
    others = [
        provider(30, area=south, base_lat=LAT - 0.0001, status="suspended"),
        provider(31, area=south, base_lat=LAT - 0.0001, service_types=frozenset({ST.bathing})),
    ]
    result = match(outside + others, request_for(outside_nearest=5))
    assert result.ranked == ()
    assert [(e.provider_id, e.reason) for e in result.excluded] == [
        (n, ExclusionReason.outside_area) for n in (10, 11, 12, 13, 14)
    ]
    assert [round(e.distance_m, 1) for e in result.excluded] == [111.2, 222.4, 333.6, 444.8, 556.0]


def test_a_far_away_provider_is_found_outside_the_first_search_radius(match: Matcher) -> None:
    far = provider(1, area=box(119.0, 26.5, 119.1, 26.6), base_lon=LON, base_lat=LAT + 0.3)
    result = match([far], request_for())
    assert [(e.provider_id, e.reason) for e in result.excluded] == [(1, ExclusionReason.outside_area)]
    assert result.excluded[0].distance_m == pytest.approx(0.3 * M_PER_DEG_LAT, rel=1e-6)


# ---------------------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------------------


def test_nearer_beats_better_rated(match: Matcher) -> None:
    near = provider(1, base_lat=LAT + 0.002, rating=3.0)
    far = provider(2, base_lat=LAT + 0.003, rating=5.0)
    result = match([far, near], request_for())
    assert [(r.rank, r.provider_id) for r in result.ranked] == [(1, 1), (2, 2)]
    assert [round(r.distance_m, 1) for r in result.ranked] == [222.4, 333.6]


def test_equal_distance_orders_by_rating_then_load_then_id(match: Matcher) -> None:
    same_base = {"base_lon": LON + 0.001, "base_lat": LAT + 0.001}
    candidates = [
        provider(1, rating=4.0, load=0, **same_base),
        provider(2, rating=4.8, load=2, **same_base),
        provider(3, rating=4.8, load=1, **same_base),
        provider(4, rating=4.8, load=1, **same_base),
    ]
    result = match(candidates, request_for())
    assert [r.provider_id for r in result.ranked] == [3, 4, 2, 1]
    assert len({r.distance_m for r in result.ranked}) == 1
    assert [(r.rating, r.load, r.capacity) for r in result.ranked] == [
        (4.8, 1, 3),
        (4.8, 1, 3),
        (4.8, 2, 3),
        (4.0, 0, 3),
    ]


def test_a_free_staff_member_nearer_than_the_base_is_measured_from(match: Matcher) -> None:
    staffed = provider(1, base_lat=LAT + 0.01, staff_positions=((LON, LAT - 0.005), (LON, LAT + 0.002)))
    unstaffed = provider(2, base_lat=LAT + 0.003)
    result = match([unstaffed, staffed], request_for())
    first, second = result.ranked
    assert (first.provider_id, first.measured_from) == (1, MeasuredFrom.staff)
    assert first.distance_m == pytest.approx(0.002 * M_PER_DEG_LAT, abs=0.01)
    assert (second.provider_id, second.measured_from) == (2, MeasuredFrom.base)


def test_staff_farther_than_the_base_leave_it_measured_from_the_base(match: Matcher) -> None:
    result = match([provider(1, base_lat=LAT + 0.001, staff_positions=((LON, LAT + 0.004),))], request_for())
    assert result.ranked[0].measured_from is MeasuredFrom.base
    assert result.ranked[0].distance_m == pytest.approx(0.001 * M_PER_DEG_LAT, abs=0.01)


def test_travel_minutes_and_the_15_minute_circle_follow_the_speed(match: Matcher) -> None:
    near = provider(1, base_lat=LAT + 0.01)  # 1,112 m: 3.34 minutes at 20 km/h
    far = provider(2, base_lat=LAT + 0.05, area=around(0.1))  # 5,560 m: 16.68 minutes at 20 km/h
    first, second = match([near, far], request_for(speed_kmh=20)).ranked
    assert first.travel_minutes == pytest.approx(0.01 * M_PER_DEG_LAT / 20_000 * 60, abs=1e-4)
    assert first.travel_minutes == pytest.approx(3.3359, abs=1e-4)
    assert second.travel_minutes == pytest.approx(16.6793, abs=1e-4)
    assert (first.within_circle, second.within_circle) == (True, False)
    faster = match([near, far], request_for(speed_kmh=40)).ranked[1]
    assert faster.travel_minutes == pytest.approx(8.3396, abs=1e-4)
    assert faster.within_circle


def test_limit_caps_the_ranked_list_but_not_the_count(match: Matcher) -> None:
    candidates = [provider(n, base_lat=LAT + 0.001 * n) for n in range(1, 5)]
    result = match(candidates, request_for(limit=2))
    assert [r.provider_id for r in result.ranked] == [1, 2]
    assert result.eligible_count == 4


# ---------------------------------------------------------------------------------------------------------
# Exclusions inside the area
# ---------------------------------------------------------------------------------------------------------


def test_a_provider_at_capacity_is_excluded(match: Matcher) -> None:
    result = match([provider(1, load=3, capacity=3), provider(2, load=2, capacity=3)], request_for())
    assert [r.provider_id for r in result.ranked] == [2]
    (excluded,) = result.excluded
    assert (excluded.provider_id, excluded.reason) == (1, ExclusionReason.at_capacity)
    assert excluded.detail == "at capacity: 3 open assignments of 3"


@pytest.mark.parametrize("status", ["suspended", "pending", "exited"])
def test_a_provider_that_is_not_active_is_excluded(match: Matcher, status: str) -> None:
    result = match([provider(1, status=status)], request_for())
    assert result.ranked == ()
    assert reasons(result) == {1: ExclusionReason.inactive}
    assert result.excluded[0].detail == f"status is {status}; only active providers are dispatched"


def test_a_provider_not_offering_the_type_is_excluded(match: Matcher) -> None:
    result = match([provider(1, service_types=frozenset({ST.bathing, ST.cleaning}))], request_for())
    assert reasons(result) == {1: ExclusionReason.service_not_offered}
    assert result.excluded[0].detail == "does not offer meal_assistance"


def test_the_first_failing_rule_is_the_one_reported(match: Matcher) -> None:
    closed = {"working_hours": WEEKDAYS_8_TO_18}
    sunday = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # Sunday 10:00 in Shanghai
    candidates = [
        provider(1, status="suspended", service_types=frozenset({ST.bathing}), load=3, **closed),
        provider(2, service_types=frozenset({ST.bathing}), load=3, **closed),
        provider(3, load=3, **closed),
        provider(4, **closed),
    ]
    result = match(candidates, request_for(at=sunday))
    assert reasons(result) == {
        1: ExclusionReason.inactive,
        2: ExclusionReason.service_not_offered,
        3: ExclusionReason.at_capacity,
        4: ExclusionReason.closed,
    }


def test_a_provider_closed_at_that_time_is_excluded(match: Matcher) -> None:
    hours = {"working_hours": WEEKDAYS_8_TO_18}
    early = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # Monday 07:30 in Shanghai
    result = match([provider(1, **hours)], request_for(at=early))
    assert reasons(result) == {1: ExclusionReason.closed}
    assert result.excluded[0].detail == "closed at Mon 07:30 Asia/Shanghai (hours: Mon-Fri 08:00-18:00)"
    on_time = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai: opens
    assert [r.provider_id for r in match([provider(1, **hours)], request_for(at=on_time)).ranked] == [1]
    closing = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday 18:00 in Shanghai: closed
    assert reasons(match([provider(1, **hours)], request_for(at=closing))) == {1: ExclusionReason.closed}


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), True),  # Sunday in UTC, Sunday 23:59 in Shanghai
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), False),  # still Sunday in UTC, Monday 00:00 in Shanghai
        (datetime(2026, 3, 1, 11, 0, tzinfo=ZoneInfo("America/New_York")), False),  # Monday 00:00 Shanghai
        (datetime(2026, 2, 28, 16, 0, tzinfo=UTC), True),  # Saturday in UTC, Sunday 00:00 in Shanghai
    ],
)
def test_hours_are_read_in_shanghai_time_not_utc(match: Matcher, at: datetime, open_: bool) -> None:
    sundays = (WorkingWindow(weekdays=frozenset({7}), start_minute=0, end_minute=1440),)
    result = match([provider(1, working_hours=sundays)], request_for(at=at))
    assert bool(result.ranked) is open_
    assert reasons(result) == ({} if open_ else {1: ExclusionReason.closed})


def test_exclusions_are_listed_nearest_first(match: Matcher) -> None:
    candidates = [
        provider(1, base_lat=LAT + 0.003, status="suspended"),
        provider(2, base_lat=LAT - 0.002, area=box(119.28, 26.06, 119.30, 26.075)),
        provider(3, base_lat=LAT + 0.001, load=3),
    ]
    result = match(candidates, request_for())
    assert [e.provider_id for e in result.excluded] == [3, 2, 1]


# ---------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------


def test_working_windows_from_clock_strings() -> None:
    window = WorkingWindow.from_clock(weekdays=[1, 2, 3, 5, 7], start="08:30", end="24:00")
    assert (window.start_minute, window.end_minute) == (510, 1440)
    assert window.describe() == "Mon-Wed,Fri,Sun 08:30-24:00"


@pytest.mark.parametrize(
    ("weekdays", "start", "end"),
    [(set(), 0, 60), ({8}, 0, 60), ({1}, 600, 600), ({1}, 0, 1441), ({1}, -1, 60)],
)
def test_bad_working_windows_are_refused(weekdays: set[int], start: int, end: int) -> None:
    with pytest.raises(ValueError, match=r"weekdays|start"):
        WorkingWindow(weekdays=frozenset(weekdays), start_minute=start, end_minute=end)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        request_for(at=datetime(2026, 3, 2, 9, 30))


def test_duplicate_provider_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        ProviderIndex([provider(1), provider(1)])


def test_an_empty_index_matches_nobody() -> None:
    assert ProviderIndex([]).match(request_for()) == MatchResult(ranked=(), excluded=(), eligible_count=0)


# ---------------------------------------------------------------------------------------------------------
# Properties: random providers on a grid (so elders often sit exactly on edges and distances tie)
# ---------------------------------------------------------------------------------------------------------

TYPES = (ST.meal_assistance, ST.bathing, ST.nursing)
WEEK_START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[Candidate], MatchRequest]:
    """Up to 14 providers and one request on a 20 x 20 grid of 0.001 or 0.01 degree steps."""
    step = draw(st.sampled_from([0.001, 0.01]))

    def spot() -> tuple[float, float]:
        i, j = draw(st.integers(0, 20)), draw(st.integers(0, 20))
        return 119.28 + i * step, 26.07 + j * step

    count = draw(st.integers(0, 14))
    candidates = [_candidate(draw, spot, 500 - n) for n in range(count)]
    lon, lat = spot()
    request = MatchRequest(
        service_type=draw(st.sampled_from(TYPES)),
        lon=lon,
        lat=lat,
        at=WEEK_START + timedelta(minutes=draw(st.integers(0, 7 * 1440))),
        limit=draw(st.none() | st.integers(0, 4)),
        outside_nearest=draw(st.integers(0, 4)),
    )
    return candidates, request


def _candidate(draw: st.DrawFn, spot: Callable[[], tuple[float, float]], provider_id: int) -> Candidate:
    corners = [spot() for _ in range(3)]
    area = Polygon(corners)
    if area.area == 0 or draw(st.booleans()):
        (lon1, lat1), (lon2, lat2) = corners[0], corners[1]
        area = box(min(lon1, lon2), min(lat1, lat2), max(lon1, lon2) + 0.001, max(lat1, lat2) + 0.001)
    base_lon, base_lat = spot()
    start = draw(st.integers(0, 23)) * 60
    hours = (
        WorkingWindow(
            weekdays=frozenset(draw(st.sets(st.integers(1, 7), min_size=1))),
            start_minute=start,
            end_minute=draw(st.integers(start // 60 + 1, 24)) * 60,
        ),
    )
    return Candidate(
        provider_id=provider_id,
        name=f"p{provider_id}",
        status=draw(st.sampled_from(["active", "active", "active", "suspended", "pending", "exited"])),
        service_types=frozenset(draw(st.sets(st.sampled_from(TYPES), min_size=1))),
        area=area,
        base_lon=base_lon,
        base_lat=base_lat,
        staff_positions=tuple(spot() for _ in range(draw(st.integers(0, 2)))),
        rating=draw(st.sampled_from([3.0, 4.0, 4.5, 5.0])),
        load=draw(st.integers(0, 3)),
        capacity=draw(st.integers(1, 3)),
        working_hours=draw(st.sampled_from([(), hours])),
    )


def _eligible_by_hand(candidate: Candidate, request: MatchRequest) -> bool:
    local = request.at.astimezone(ZoneInfo("Asia/Shanghai"))
    minute = local.hour * 60 + local.minute
    open_now = not candidate.working_hours or any(
        local.isoweekday() in w.weekdays and w.start_minute <= minute < w.end_minute
        for w in candidate.working_hours
    )
    return (
        candidate.status == "active"
        and request.service_type in candidate.service_types
        and candidate.area.covers(Point(request.lon, request.lat))
        and candidate.load < candidate.capacity
        and open_now
    )


def _distance_by_hand(candidate: Candidate, request: MatchRequest) -> float:
    positions = [(candidate.base_lon, candidate.base_lat), *candidate.staff_positions]
    return min(distance_m(lon, lat, request.lon, request.lat) for lon, lat in positions)


@settings(max_examples=100, deadline=None)
@given(scenes())
def test_the_index_matches_brute_force(scene: tuple[list[Candidate], MatchRequest]) -> None:
    candidates, request = scene
    assert ProviderIndex(candidates).match(request) == match_brute_force(candidates, request)


@settings(max_examples=100, deadline=None)
@given(scenes())
def test_the_first_ranked_is_never_farther_than_any_eligible(
    scene: tuple[list[Candidate], MatchRequest],
) -> None:
    candidates, request = scene
    result = match_brute_force(candidates, replace(request, limit=None))
    eligible = [c for c in candidates if _eligible_by_hand(c, request)]
    assert sorted(r.provider_id for r in result.ranked) == sorted(c.provider_id for c in eligible)
    if eligible:
        assert result.ranked[0].distance_m == min(_distance_by_hand(c, request) for c in eligible)
    distances = [r.distance_m for r in result.ranked]
    assert distances == sorted(distances)
    assert [r.rank for r in result.ranked] == list(range(1, len(eligible) + 1))
    assert all(math.isfinite(d) for d in distances)


# ---------------------------------------------------------------------------------------------------------
# Qualifications
# ---------------------------------------------------------------------------------------------------------


def test_care_that_needs_a_certificate_goes_only_to_providers_holding_it(match: Matcher) -> None:
    nursing = frozenset({ST.nursing})
    holder = provider(1, service_types=nursing, qualifications=frozenset({CARE_CERTIFICATE, "健康证"}))
    nearer_without = provider(
        2, service_types=nursing, base_lat=LAT + 0.001, qualifications=frozenset({"健康证"})
    )
    severe = request_for(service_type=ST.nursing, requires=required_for(ST.nursing, 3))
    result = match([holder, nearer_without], severe)
    assert [r.provider_id for r in result.ranked] == [1]
    assert reasons(result) == {2: ExclusionReason.unqualified}
    assert "养老护理员证" in result.excluded[0].detail
    mild = request_for(service_type=ST.nursing, requires=required_for(ST.nursing, 2))
    assert [r.provider_id for r in match([holder, nearer_without], mild).ranked] == [2, 1]


def test_only_hands_on_care_for_severe_levels_needs_the_certificate() -> None:
    assert required_for(ST.bathing, 4) == {CARE_CERTIFICATE}
    assert required_for(ST.bathing, 2) == frozenset()
    assert required_for(ST.meal_assistance, 4) == frozenset()
