"""The coverage check: active providers per district and service type, the elders no active provider
reaches within the circle, and the supervisors' alert when a change leaves a district below the minimum.

An elder is covered for a type when an active provider of that type has a service area covering the
elder's home and its base within the circle: haversine distance / travel speed <= circle minutes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import geo
from dispatch.alerts import service as alerts
from dispatch.alerts.models import AlertAudience
from dispatch.catalog import REQUIRED_MINIMUM_TWO, SERVICE_TYPE_LABELS_ZH, ServiceType
from dispatch.clock import Clock
from dispatch.elders.models import Elder, ElderStatus
from dispatch.providers.models import Provider, ProviderStatus

MAX_LISTED = 50
NO_DISTRICT_ZH = "未填区县"


@dataclass(frozen=True, slots=True)
class CoverageRow:
    district: str
    service_type: ServiceType
    active_providers: int
    required: bool
    meets_minimum: bool


@dataclass(frozen=True, slots=True)
class UncoveredElder:
    id: int
    name: str
    district: str
    community: str
    home_lon: float
    home_lat: float


@dataclass(frozen=True, slots=True)
class UncoveredGroup:
    service_type: ServiceType
    count: int
    elders: list[UncoveredElder]


@dataclass(frozen=True, slots=True)
class CoverageReport:
    circle_minutes: int
    minimum: int
    districts: list[CoverageRow]
    uncovered: list[UncoveredGroup]


@dataclass(frozen=True, slots=True)
class Site:
    """Where an active provider serves from: its service area and its base."""

    area: BaseGeometry
    base_lon: float
    base_lat: float


def circle_radius_m(circle_minutes: float, speed_kmh: float) -> float:
    """How far the travel speed goes in the circle's minutes."""
    return speed_kmh * 1000.0 / 60.0 * circle_minutes


def _distances_m(
    lon1: npt.NDArray[np.float64],
    lat1: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Haversine distances in metres, element by element (the vector form of geo.distance_m)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    distances: npt.NDArray[np.float64] = 2 * geo.EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return distances


class Homes:
    """Elders' homes in an STRtree: each type's service areas are tested against all of them at once."""

    __slots__ = ("_tree", "_xy")

    def __init__(self, homes: Sequence[tuple[float, float]]) -> None:
        self._xy: npt.NDArray[np.float64] = np.asarray(homes, dtype=float).reshape(-1, 2)
        self._tree = STRtree(shapely.points(self._xy))

    def reached(self, sites: Sequence[Site], radius_m: float) -> set[int]:
        """Indexes of the homes some site's area covers with that site's base within radius_m."""
        if not sites or not len(self._xy):
            return set()
        # The areas are the query side, so GEOS prepares each once for all the homes in its box.
        site_at, home_at = self._tree.query([site.area for site in sites], predicate="covers")
        home_xy = self._xy[home_at]
        base_xy = np.asarray([(site.base_lon, site.base_lat) for site in sites], dtype=float)[site_at]
        near = _distances_m(home_xy[:, 0], home_xy[:, 1], base_xy[:, 0], base_xy[:, 1]) <= radius_m
        return set(home_at[near].tolist())


def reached(homes: Sequence[tuple[float, float]], sites: Sequence[Site], radius_m: float) -> set[int]:
    """Indexes of the homes some site's area covers with that site's base within radius_m (pure)."""
    return Homes(homes).reached(sites, radius_m)


async def active_count(*, session: AsyncSession, district: str, service_type: ServiceType) -> int:
    """Active providers based in the district that offer the type."""
    offered = await session.scalars(
        select(Provider.service_types).where(
            Provider.status == ProviderStatus.active, Provider.district == district
        )
    )
    return sum(service_type.value in types for types in offered)


def shortfall_text(district: str, service_type: ServiceType, active: int, minimum: int) -> str:
    """The supervisors' alert text, e.g. 鼓楼区 助餐 在营服务商只剩 1 家（要求至少 2 家）."""
    label = SERVICE_TYPE_LABELS_ZH[service_type]
    return f"{district or NO_DISTRICT_ZH} {label} 在营服务商只剩 {active} 家（要求至少 {minimum} 家）"


async def check_minimum(
    *,
    session: AsyncSession,
    clock: Clock,
    provider_id: int,
    district: str,
    service_types: Iterable[str],
    minimum: int,
) -> list[dict[str, Any]]:
    """After a provider stopped counting for these types in the district (flushed), alert supervisors
    where fewer than `minimum` active providers are left; one shortfall per short type, as data
    ({district, service_type, active, minimum}: the console words it in its language)."""
    warnings: list[dict[str, Any]] = []
    lost = set(service_types)
    for service_type in (t for t in REQUIRED_MINIMUM_TWO if t.value in lost):
        active = await active_count(session=session, district=district, service_type=service_type)
        if active >= minimum:
            continue
        shortfall = {
            "district": district,
            "service_type": service_type.value,
            "active": active,
            "minimum": minimum,
        }
        await alerts.raise_alert(
            session=session,
            clock=clock,
            kind="coverage",
            key=f"coverage:{district}:{service_type.value}",
            text=shortfall_text(district, service_type, active, minimum),
            audience=AlertAudience.supervisors,
            detail=shortfall | {"provider_id": provider_id},
        )
        warnings.append(shortfall)
    return warnings


async def _active_elders(session: AsyncSession, district: str | None) -> list[UncoveredElder]:
    query = select(
        Elder.id, Elder.name, Elder.district, Elder.community, Elder.home_lon, Elder.home_lat
    ).where(Elder.status == ElderStatus.active)
    if district is not None:
        query = query.where(Elder.district == district)
    rows = await session.execute(query.order_by(Elder.id))
    return [UncoveredElder(*row) for row in rows.all()]


async def _listed_providers(session: AsyncSession) -> list[Provider]:
    """Providers not exited: the active ones count, the others only name their districts."""
    query = select(Provider).where(Provider.status != ProviderStatus.exited).order_by(Provider.id)
    return list((await session.scalars(query)).all())


def _rows(
    districts: list[str], types: list[ServiceType], active: list[Provider], minimum: int
) -> list[CoverageRow]:
    counts = Counter((p.district, t) for p in active for t in p.service_types)
    rows: list[CoverageRow] = []
    for district in districts:
        for service_type in types:
            count = counts[(district, service_type.value)]
            required = service_type in REQUIRED_MINIMUM_TWO
            meets = not required or count >= minimum
            rows.append(CoverageRow(district, service_type, count, required, meets))
    return rows


def _uncovered(
    elders: list[UncoveredElder], types: list[ServiceType], active: list[Provider], radius_m: float
) -> list[UncoveredGroup]:
    homes = Homes([(elder.home_lon, elder.home_lat) for elder in elders])
    areas = {p.id: shape(p.service_area) for p in active}
    groups: list[UncoveredGroup] = []
    for service_type in types:
        sites = [
            Site(areas[p.id], p.base_lon, p.base_lat) for p in active if service_type.value in p.service_types
        ]
        covered = homes.reached(sites, radius_m)
        left = [elder for index, elder in enumerate(elders) if index not in covered]
        groups.append(UncoveredGroup(service_type, len(left), left[:MAX_LISTED]))
    return groups


async def report(
    *,
    session: AsyncSession,
    minimum: int,
    circle_minutes: int,
    speed_kmh: float,
    service_type: ServiceType | None = None,
    district: str | None = None,
) -> CoverageReport:
    """Per district and type the active providers, and per type the active elders left uncovered."""
    types = [service_type] if service_type else list(ServiceType)
    elders = await _active_elders(session, district)
    providers = await _listed_providers(session)
    active = [p for p in providers if p.status == ProviderStatus.active]
    if district is not None:
        districts = [district]
    else:
        named = {elder.district for elder in elders} | {p.district for p in providers}
        districts = sorted(name for name in named if name)
    radius_m = circle_radius_m(circle_minutes, speed_kmh)
    return CoverageReport(
        circle_minutes=circle_minutes,
        minimum=minimum,
        districts=_rows(districts, types, active, minimum),
        uncovered=_uncovered(elders, types, active, radius_m),
    )
