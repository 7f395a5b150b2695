"""Which providers can take a job for an elder, nearest first, and why the others cannot (pure).

A provider is eligible when, in this order (the first failing test is the one reported):

1. its status is active (``inactive``);
2. it offers the requested service type (``service_not_offered``);
3. it has a free slot: load < capacity (``at_capacity``);
4. it works at the requested time, Shanghai local time (``closed``).

Only providers whose service area covers the elder are tested; the area check comes first. Covers, not
contains: an elder exactly on the edge of an area is inside it (the safe-area rule does the same), so two
providers sharing a border street both serve it. Of the active providers offering the type whose area
does not cover the elder, the nearest few are reported as ``outside_area``, so an agent sees why the
obvious company was not picked.

Distance is the haversine distance from the nearest of the provider's base and its free staff's last
positions (the base wins a tie). Eligible providers rank by distance, then rating (higher first), then
load (lower first), then provider id.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from dispatch import geo
from dispatch.catalog import ServiceType
from dispatch.matching.hours import WorkingWindow, describe_hours, describe_instant, is_open

ACTIVE = "active"


class MeasuredFrom(StrEnum):
    base = "base"
    staff = "staff"


class ExclusionReason(StrEnum):
    inactive = "inactive"
    service_not_offered = "service_not_offered"
    unqualified = "unqualified"
    at_capacity = "at_capacity"
    closed = "closed"
    outside_area = "outside_area"


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """What matching needs to know about one provider."""

    provider_id: int
    name: str
    status: str
    service_types: frozenset[ServiceType]
    qualifications: frozenset[str] = frozenset()  # its own and its active staff's
    area: BaseGeometry
    base_lon: float
    base_lat: float
    staff_positions: tuple[tuple[float, float], ...] = ()
    rating: float = 0.0
    rating_count: int = 0
    load: int = 0
    capacity: int = 1
    working_hours: tuple[WorkingWindow, ...] = ()

    def __post_init__(self) -> None:
        if self.area.geom_type not in geo.AREA_TYPES or self.area.is_empty:
            raise ValueError(f"provider {self.provider_id}: the area must be a non-empty (Multi)Polygon")


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRequest:
    """An elder at (lon, lat) needs service_type at `at`; limit caps the ranked list (None: all)."""

    service_type: ServiceType
    lon: float
    lat: float
    at: datetime
    speed_kmh: float = 20.0
    circle_minutes: float = 15.0
    limit: int | None = None
    outside_nearest: int = 5
    requires: frozenset[str] = frozenset()  # qualifications this elder's care needs

    def __post_init__(self) -> None:
        geo.check_lon_lat(self.lon, self.lat)
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("`at` must be timezone-aware")
        if self.speed_kmh <= 0:
            raise ValueError("speed_kmh must be positive")
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must be None or >= 0")
        if self.outside_nearest < 0:
            raise ValueError("outside_nearest must be >= 0")


@dataclass(frozen=True, slots=True)
class Reach:
    """How far a provider is from the elder, and from where."""

    distance_m: float
    measured_from: MeasuredFrom


@dataclass(frozen=True, slots=True, kw_only=True)
class RankedProvider:
    """An eligible provider in rank order (1 = first to offer the job), with what put it there."""

    rank: int
    provider_id: int
    name: str
    distance_m: float
    measured_from: MeasuredFrom
    travel_minutes: float
    within_circle: bool
    rating: float
    load: int
    capacity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion:
    """A provider that was not ranked: a machine reason code and an explanation for the agent."""

    provider_id: int
    name: str
    reason: ExclusionReason
    detail: str
    distance_m: float
    measured_from: MeasuredFrom


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchResult:
    """The ranked providers (at most request.limit of eligible_count) and the exclusions, nearest first."""

    ranked: tuple[RankedProvider, ...]
    excluded: tuple[Exclusion, ...]
    eligible_count: int


def reach(candidate: Candidate, lon: float, lat: float) -> Reach:
    """The distance from the nearest of the provider's base and free staff to (lon, lat)."""
    best = Reach(geo.distance_m(candidate.base_lon, candidate.base_lat, lon, lat), MeasuredFrom.base)
    for staff_lon, staff_lat in candidate.staff_positions:
        distance = geo.distance_m(staff_lon, staff_lat, lon, lat)
        if distance < best.distance_m:
            best = Reach(distance, MeasuredFrom.staff)
    return best


def could_serve_type(candidate: Candidate, service_type: ServiceType) -> bool:
    """Active and offering the type: the providers that matter when their area misses the elder."""
    return candidate.status == ACTIVE and service_type in candidate.service_types


def first_failure(candidate: Candidate, request: MatchRequest) -> tuple[ExclusionReason, str] | None:
    """Why a provider whose area covers the elder cannot take the job, or None if it can."""
    if candidate.status != ACTIVE:
        return ExclusionReason.inactive, f"status is {candidate.status}; only active providers are dispatched"
    if request.service_type not in candidate.service_types:
        return ExclusionReason.service_not_offered, f"does not offer {request.service_type.value}"
    lacking = sorted(request.requires - candidate.qualifications)
    if lacking:
        return ExclusionReason.unqualified, f"lacks {', '.join(lacking)}, which this elder's care needs"
    if candidate.load >= candidate.capacity:
        detail = f"at capacity: {candidate.load} open assignments of {candidate.capacity}"
        return ExclusionReason.at_capacity, detail
    if not is_open(candidate.working_hours, request.at):
        when, hours = describe_instant(request.at), describe_hours(candidate.working_hours)
        return ExclusionReason.closed, f"closed at {when} Asia/Shanghai (hours: {hours})"
    return None


def nearest_outside(candidates: Iterable[Candidate], request: MatchRequest) -> list[tuple[Candidate, Reach]]:
    """The request.outside_nearest nearest of these candidates, with their reach (ties: lower id)."""
    pairs = ((candidate, reach(candidate, request.lon, request.lat)) for candidate in candidates)
    return heapq.nsmallest(request.outside_nearest, pairs, key=lambda pair: _nearness(*pair))


def assemble(
    request: MatchRequest, *, covering: Iterable[Candidate], outside: Sequence[tuple[Candidate, Reach]]
) -> MatchResult:
    """The result from the providers whose area covers the elder and the nearest ones whose area does not."""
    eligible: list[tuple[Candidate, Reach]] = []
    excluded = [_outside_exclusion(candidate, found, request) for candidate, found in outside]
    for candidate in covering:
        found = reach(candidate, request.lon, request.lat)
        failure = first_failure(candidate, request)
        if failure is None:
            eligible.append((candidate, found))
        else:
            excluded.append(_exclusion(candidate, found, *failure))
    eligible.sort(key=lambda pair: _rank_key(*pair))
    chosen = eligible if request.limit is None else eligible[: request.limit]
    ranked = tuple(
        _ranked(rank, candidate, found, request) for rank, (candidate, found) in enumerate(chosen, 1)
    )
    excluded.sort(key=lambda item: (item.distance_m, item.provider_id))
    return MatchResult(ranked=ranked, excluded=tuple(excluded), eligible_count=len(eligible))


def match_brute_force(candidates: Iterable[Candidate], request: MatchRequest) -> MatchResult:
    """The match by scanning every provider: the reference for ProviderIndex.match."""
    point = Point(request.lon, request.lat)
    covering: list[Candidate] = []
    missing: list[Candidate] = []
    for candidate in candidates:
        if candidate.area.covers(point):
            covering.append(candidate)
        elif could_serve_type(candidate, request.service_type):
            missing.append(candidate)
    return assemble(request, covering=covering, outside=nearest_outside(missing, request))


def _nearness(candidate: Candidate, found: Reach) -> tuple[float, int]:
    return found.distance_m, candidate.provider_id


def _rank_key(candidate: Candidate, found: Reach) -> tuple[float, float, int, int]:
    return found.distance_m, -candidate.rating, candidate.load, candidate.provider_id


def _ranked(rank: int, candidate: Candidate, found: Reach, request: MatchRequest) -> RankedProvider:
    travel_minutes = found.distance_m / (request.speed_kmh * 1000.0 / 60.0)
    return RankedProvider(
        rank=rank,
        provider_id=candidate.provider_id,
        name=candidate.name,
        distance_m=found.distance_m,
        measured_from=found.measured_from,
        travel_minutes=travel_minutes,
        within_circle=travel_minutes <= request.circle_minutes,
        rating=candidate.rating,
        load=candidate.load,
        capacity=candidate.capacity,
    )


def _exclusion(candidate: Candidate, found: Reach, reason: ExclusionReason, detail: str) -> Exclusion:
    return Exclusion(
        provider_id=candidate.provider_id,
        name=candidate.name,
        reason=reason,
        detail=detail,
        distance_m=found.distance_m,
        measured_from=found.measured_from,
    )


def _outside_exclusion(candidate: Candidate, found: Reach, request: MatchRequest) -> Exclusion:
    edge, _ = nearest_points(candidate.area, Point(request.lon, request.lat))
    gap_m = geo.distance_m(edge.x, edge.y, request.lon, request.lat)
    detail = f"service area does not cover the elder: its edge is about {gap_m:.0f} m away"
    return _exclusion(candidate, found, ExclusionReason.outside_area, detail)
