"""Provider admission, changes, status (pending, active, suspended, exited) and staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.catalog import ServiceType
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from dispatch.geo import bounding_box, distance_m
from dispatch.providers.models import Provider, ProviderStaff, ProviderStatus
from dispatch.providers.schemas import ProviderCreate, ProviderUpdate, StaffIn

ALLOWED_STATUS_CHANGES: dict[ProviderStatus, frozenset[ProviderStatus]] = {
    ProviderStatus.pending: frozenset({ProviderStatus.active, ProviderStatus.exited}),
    ProviderStatus.active: frozenset({ProviderStatus.suspended, ProviderStatus.exited}),
    ProviderStatus.suspended: frozenset({ProviderStatus.active, ProviderStatus.exited}),
    ProviderStatus.exited: frozenset(),
}


def _location_columns(values: dict[str, Any]) -> dict[str, Any]:
    location = values.pop("base_location", None)
    if location is not None:
        values["base_lon"], values["base_lat"] = location["lon"], location["lat"]
    return values


async def create(*, session: AsyncSession, clock: Clock, actor: Actor, data: ProviderCreate) -> Provider:
    """Admit a provider as pending; Conflict on a known registration number."""
    existing = await session.scalar(
        select(Provider.id).where(Provider.registration_number == data.registration_number)
    )
    if existing is not None:
        raise Conflict(f"registration number {data.registration_number} is already registered")
    now = clock.now()
    provider = Provider(
        **_location_columns(data.model_dump(mode="json")),
        status=ProviderStatus.pending,
        created_at=now,
        updated_at=now,
    )
    provider.staff = []
    session.add(provider)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="provider.create",
        entity_type="provider",
        entity_id=provider.id,
        detail={"name": provider.name},
    )
    return provider


async def get(*, session: AsyncSession, provider_id: int, with_staff: bool = False) -> Provider:
    """A provider (with its staff if asked), or NotFound."""
    query = select(Provider).where(Provider.id == provider_id)
    if with_staff:
        query = query.options(selectinload(Provider.staff))
    provider = await session.scalar(query)
    if provider is None:
        raise NotFound(f"provider {provider_id} not found")
    return provider


async def update(
    *, session: AsyncSession, clock: Clock, actor: Actor, provider_id: int, data: ProviderUpdate
) -> Provider:
    """Change a provider's details (not its status)."""
    provider = await get(session=session, provider_id=provider_id, with_staff=True)
    changes = _location_columns(data.model_dump(mode="json", exclude_unset=True))
    offered = set(changes.get("service_types", provider.service_types))
    priced = {item["service_type"] for item in changes.get("price_list", provider.price_list)}
    if not priced <= offered:
        raise ValidationFailed(f"price list names services not offered: {sorted(priced - offered)}")
    applied = audit.apply_changes(provider, changes)
    provider.updated_at = clock.now()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="provider.update",
        entity_type="provider",
        entity_id=provider_id,
        detail=applied,
    )
    await session.flush()
    return provider


async def change_status(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    provider_id: int,
    status: ProviderStatus,
    reason: str,
) -> Provider:
    """Move a provider along pending → active ⇄ suspended → exited, recording why and who decided."""
    provider = await get(session=session, provider_id=provider_id, with_staff=True)
    current = ProviderStatus(provider.status)
    if status not in ALLOWED_STATUS_CHANGES[current]:
        raise InvalidTransition(f"a provider cannot go from {current.value} to {status.value}")
    provider.status = status
    provider.status_reason = reason
    provider.updated_at = clock.now()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="provider.status",
        entity_type="provider",
        entity_id=provider_id,
        detail={"from": current.value, "to": status.value, "reason": reason},
    )
    await session.flush()
    return provider


async def search(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    q: str | None = None,
    status: ProviderStatus | None = None,
    service_type: ServiceType | None = None,
    district: str | None = None,
) -> tuple[list[Provider], int]:
    """Providers matching a name / registration number / phone fragment and filters, with the total."""
    query = select(Provider)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(
            or_(
                Provider.name.ilike(pattern),
                Provider.registration_number.ilike(pattern),
                Provider.phone.ilike(pattern),
            )
        )
    if status:
        query = query.where(Provider.status == status)
    if district:
        query = query.where(Provider.district == district)
    if service_type:
        query = query.where(_service_type_filter(service_type))
    return await fetch_page(session, query, Provider.id, limit=limit, offset=offset)


def _service_type_filter(service_type: ServiceType) -> Any:
    # JSON arrays are matched as text, which works on SQLite and PostgreSQL alike.
    return cast(Provider.service_types, String).like(f'%"{service_type.value}"%')


async def nearby(
    *,
    session: AsyncSession,
    lon: float,
    lat: float,
    radius_m: float,
    limit: int,
    service_type: ServiceType | None = None,
) -> list[tuple[Provider, float]]:
    """Active providers whose base is within radius_m of (lon, lat), nearest first, with the distance."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(lon, lat, radius_m)
    query = select(Provider).where(
        Provider.status == ProviderStatus.active,
        Provider.base_lon.between(min_lon, max_lon),
        Provider.base_lat.between(min_lat, max_lat),
    )
    if service_type:
        query = query.where(_service_type_filter(service_type))
    found = [(p, distance_m(lon, lat, p.base_lon, p.base_lat)) for p in (await session.scalars(query)).all()]
    return sorted((pair for pair in found if pair[1] <= radius_m), key=lambda pair: pair[1])[:limit]


async def add_staff(
    *, session: AsyncSession, clock: Clock, actor: Actor, provider_id: int, data: StaffIn
) -> ProviderStaff:
    """Add a member of a provider's service staff."""
    await get(session=session, provider_id=provider_id)
    staff = ProviderStaff(provider_id=provider_id, created_at=clock.now(), **data.model_dump(mode="json"))
    session.add(staff)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="provider.staff.create",
        entity_type="provider",
        entity_id=provider_id,
        detail={"staff_id": staff.id},
    )
    return staff


async def update_staff(
    *, session: AsyncSession, clock: Clock, actor: Actor, provider_id: int, staff_id: int, data: StaffIn
) -> ProviderStaff:
    """Replace a staff member's details."""
    staff = await session.get(ProviderStaff, staff_id)
    if staff is None or staff.provider_id != provider_id:
        raise NotFound(f"staff {staff_id} of provider {provider_id} not found")
    for key, value in data.model_dump(mode="json").items():
        setattr(staff, key, value)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="provider.staff.update",
        entity_type="provider",
        entity_id=provider_id,
        detail={"staff_id": staff_id},
    )
    await session.flush()
    return staff
