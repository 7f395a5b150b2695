"""Matching over the database: providers become `Candidate`s and a `ProviderIndex` (an STRtree over their
service areas) per service type, kept until a provider or a provider's load changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shapely.geometry import shape
from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from dispatch.catalog import ServiceType
from dispatch.matching import Candidate, MatchRequest, MatchResult, ProviderIndex, WorkingWindow
from dispatch.offers import service as offers
from dispatch.providers.models import Provider


def candidate_of(provider: Provider, load: int) -> Candidate:
    return Candidate(
        provider_id=provider.id,
        name=provider.name,
        status=provider.status.value,
        service_types=frozenset(ServiceType(t) for t in provider.service_types),
        qualifications=frozenset(
            [*provider.qualifications, *(q for s in provider.staff if s.active for q in s.qualifications)]
        ),
        area=shape(provider.service_area),
        base_lon=provider.base_lon,
        base_lat=provider.base_lat,
        rating=provider.rating,
        rating_count=provider.rating_count,
        load=load,
        capacity=provider.capacity,
        working_hours=tuple(WorkingWindow.from_clock(**window) for window in provider.working_hours),
    )


@dataclass
class ProviderMatcher:
    """One per process; the index of a service type is rebuilt when the providers or their loads change."""

    speed_kmh: float
    _indexes: dict[ServiceType, tuple[object, ProviderIndex]] = field(default_factory=dict)

    async def match(
        self,
        *,
        session: AsyncSession,
        service_type: ServiceType,
        lon: float,
        lat: float,
        at: datetime,
        requires: frozenset[str] = frozenset(),
    ) -> MatchResult:
        index = await self._index(session, service_type)
        request = MatchRequest(
            service_type=service_type, lon=lon, lat=lat, at=at, speed_kmh=self.speed_kmh, requires=requires
        )
        return index.match(request)

    async def _index(self, session: AsyncSession, service_type: ServiceType) -> ProviderIndex:
        load = await offers.assigned_load(session=session)
        version = (await _providers_version(session), tuple(sorted(load.items())))
        cached = self._indexes.get(service_type)
        if cached and cached[0] == version:
            return cached[1]
        # Providers offering the type in any status, so the agent is told why a suspended one was skipped.
        providers = await session.scalars(
            select(Provider)
            .where(cast(Provider.service_types, String).like(f'%"{service_type.value}"%'))
            .options(selectinload(Provider.staff))
        )
        index = ProviderIndex(candidate_of(p, load.get(p.id, 0)) for p in providers)
        self._indexes[service_type] = (version, index)
        return index


async def _providers_version(session: AsyncSession) -> tuple[int, datetime | None]:
    row = (await session.execute(select(func.count(Provider.id), func.max(Provider.updated_at)))).one()
    return int(row[0]), row[1]
