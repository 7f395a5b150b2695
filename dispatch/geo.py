"""Pure geometry helpers over WGS84 lon/lat: range checks and GeoJSON area validation (shapely)."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

AREA_TYPES = ("Polygon", "MultiPolygon")


def check_lon_lat(lon: float, lat: float) -> None:
    """Raise ValueError unless (lon, lat) is a real WGS84 coordinate."""
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside [-90, 90]")


def _walk_positions(coordinates: Any) -> list[tuple[float, float]]:
    if isinstance(coordinates, list | tuple) and coordinates and isinstance(coordinates[0], int | float):
        if len(coordinates) < 2:
            raise ValueError("a position needs longitude and latitude")
        return [(float(coordinates[0]), float(coordinates[1]))]
    if not isinstance(coordinates, list | tuple):
        raise ValueError("coordinates must be nested arrays of numbers")
    positions: list[tuple[float, float]] = []
    for item in coordinates:
        positions.extend(_walk_positions(item))
    return positions


def parse_area(geojson: dict[str, Any]) -> BaseGeometry:
    """A valid, non-empty shapely (Multi)Polygon from a GeoJSON geometry, or ValueError saying why not."""
    kind = geojson.get("type")
    if kind not in AREA_TYPES:
        raise ValueError(f"an area must be a GeoJSON Polygon or MultiPolygon, not {kind!r}")
    for lon, lat in _walk_positions(geojson.get("coordinates")):
        check_lon_lat(lon, lat)
    try:
        geometry = shape(geojson)
    except (ValueError, TypeError, IndexError, AttributeError, ShapelyError) as exc:
        raise ValueError(f"malformed {kind}: {exc}") from exc
    if not geometry.is_valid:
        raise ValueError(f"invalid {kind}: {explain_validity(geometry)}")
    if geometry.is_empty or geometry.area == 0:
        raise ValueError(f"the {kind} is empty or has no area")
    return geometry


EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) enclosing every point within radius_m of (lon, lat)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def map_link(lon: float, lat: float) -> str:
    """A link any phone opens on a map (Amap, the usual map app in China), for SMS texts. Our positions are
    GPS (WGS84); Amap's own are GCJ-02, hundreds of metres off, hence `coordinate=wgs84`."""
    return f"https://uri.amap.com/marker?position={lon:.6f},{lat:.6f}&coordinate=wgs84"


def metres_inside(area: BaseGeometry, point: BaseGeometry) -> float:
    """How far (metres) a point inside `area` is from its edge; 0 on or outside it. Measured on a local
    equirectangular projection around the point, exact enough at a safe area's scale."""
    if not area.covers(point):
        return 0.0
    metres_per_degree = math.radians(1) * EARTH_RADIUS_M
    scale = (metres_per_degree * math.cos(math.radians(point.y)), metres_per_degree)

    def to_metres(coordinates: Any) -> Any:
        return coordinates * scale

    return float(shapely.transform(area.boundary, to_metres).distance(shapely.transform(point, to_metres)))
