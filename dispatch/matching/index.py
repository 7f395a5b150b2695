"""ProviderIndex: the providers in STRtrees, built once, so a match looks at a few of them, not all."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point
from shapely.strtree import STRtree

from dispatch import geo
from dispatch.catalog import ServiceType
from dispatch.matching.ranking import (
    Candidate,
    MatchRequest,
    MatchResult,
    Reach,
    assemble,
    could_serve_type,
    nearest_outside,
)

FIRST_RADIUS_M = 2_000.0
BOX_MARGIN_DEG = 1e-7  # about a centimetre, against rounding at the box's edge


class _PositionTree:
    """The bases and staff positions of the providers that could serve one type, for nearest searches."""

    __slots__ = ("_bounds", "_owners", "_tree")

    def __init__(self, candidates: list[Candidate]) -> None:
        coordinates: list[tuple[float, float]] = []
        owners: list[int] = []
        for position, candidate in enumerate(candidates):
            for lon_lat in ((candidate.base_lon, candidate.base_lat), *candidate.staff_positions):
                coordinates.append(lon_lat)
                owners.append(position)
        self._owners: npt.NDArray[np.intp] = np.asarray(owners, dtype=np.intp)
        points = shapely.points(np.asarray(coordinates, dtype=float).reshape(-1, 2))
        self._tree = STRtree(points)
        self._bounds: tuple[float, float, float, float] = tuple(shapely.total_bounds(points))

    def owners_within(self, lon: float, lat: float, radius_m: float) -> tuple[set[int], bool]:
        """Owners with a position in a box holding every point within radius_m; and whether that was all."""
        west, south, east, north = _search_box(lon, lat, radius_m)
        hits = self._tree.query(shapely.box(west, south, east, north))
        min_lon, min_lat, max_lon, max_lat = self._bounds
        everything = west <= min_lon and south <= min_lat and east >= max_lon and north >= max_lat
        return set(self._owners[hits].tolist()), everything


class ProviderIndex:
    """The candidates indexed once: an STRtree over service areas, and one over positions per service type.

    A snapshot: rebuild it when providers, their loads or their staff positions change.
    ``match(request)`` equals ``match_brute_force(candidates, request)``.
    """

    __slots__ = ("_area_tree", "_areas", "_by_type", "_candidates", "_position_trees")

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._candidates = tuple(candidates)
        ids = [candidate.provider_id for candidate in self._candidates]
        if len(set(ids)) != len(ids):
            raise ValueError("provider ids must be unique")
        self._areas = np.array([candidate.area for candidate in self._candidates], dtype=object)
        self._area_tree = STRtree(self._areas)
        self._by_type: dict[ServiceType, list[Candidate]] = {}
        self._position_trees: dict[ServiceType, _PositionTree] = {}
        for service_type in ServiceType:
            serving = [c for c in self._candidates if could_serve_type(c, service_type)]
            if serving:
                self._by_type[service_type] = serving
                self._position_trees[service_type] = _PositionTree(serving)

    def __len__(self) -> int:
        return len(self._candidates)

    def match(self, request: MatchRequest) -> MatchResult:
        """The ranked providers for the request and why the others were not picked."""
        point = Point(request.lon, request.lat)
        hits = self._area_tree.query(point)
        hits = hits[shapely.covers(self._areas[hits], point)]
        covering = [self._candidates[i] for i in hits.tolist()]
        outside = self._nearest_outside(request, {c.provider_id for c in covering})
        return assemble(request, covering=covering, outside=outside)

    def _nearest_outside(
        self, request: MatchRequest, covering_ids: set[int]
    ) -> list[tuple[Candidate, Reach]]:
        """The nearest active providers of the type whose area does not cover the elder, widening the search."""
        serving = self._by_type.get(request.service_type)
        if not serving or request.outside_nearest == 0:
            return []
        tree = self._position_trees[request.service_type]
        radius_m = FIRST_RADIUS_M
        while True:
            owners, everything = tree.owners_within(request.lon, request.lat, radius_m)
            found = [serving[i] for i in sorted(owners) if serving[i].provider_id not in covering_ids]
            nearest = nearest_outside(found, request)
            # Every provider within radius_m has a position in the box, so these are the true nearest.
            within = [pair for pair in nearest if pair[1].distance_m <= radius_m]
            if everything or len(within) == request.outside_nearest:
                return nearest if everything else within
            radius_m *= 2


def _search_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) holding every point within radius_m of (lon, lat) on the sphere."""
    angle = radius_m / geo.EARTH_RADIUS_M
    dlat = math.degrees(angle) + BOX_MARGIN_DEG
    if angle >= math.pi / 2 or abs(lat) + dlat >= 90.0:
        return -180.0, max(lat - dlat, -90.0), 180.0, min(lat + dlat, 90.0)
    # The widest longitude a spherical cap reaches: sin(dlon) = sin(angle) / cos(lat).
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat))))) + BOX_MARGIN_DEG
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat
