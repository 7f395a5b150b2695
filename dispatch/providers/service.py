"""Provider admission, changes, status (pending, active, suspended, exited) and staff."""

from __future__ import annotations

from dataclasses import dataclass
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
from dispatch.providers import admission as checklist
from dispatch.providers import coverage
from dispatch.providers.admission import AdmissionCriterion
from dispatch.providers.models import Provider, ProviderStaff, ProviderStatus
from dispatch.providers.schemas import AdmissionCheck, ProviderCreate, ProviderUpdate, StaffIn

ALLOWED_STATUS_CHANGES: dict[ProviderStatus, frozenset[ProviderStatus]] = {
    ProviderStatus.pending: frozenset({ProviderStatus.active, ProviderStatus.exited}),
    ProviderStatus.active: frozenset({ProviderStatus.suspended, ProviderStatus.exited}),
    ProviderStatus.suspended: frozenset({ProviderStatus.active, ProviderStatus.exited}),
    ProviderStatus.exited: frozenset(),
}


@dataclass(frozen=True, slots=True)
class ProviderChange:
    """A changed provider and the coverage minimums the change broke (the alert texts)."""

    provider: Provider
    coverage_warnings: tuple[dict[str, Any], ...] = ()  # {district, service_type, active, minimum}


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
    admission: dict[str, Any] = {}
    for criterion, check in data.admission.items():
        admission = checklist.with_check(
            admission,
            criterion,
            met=check.met,
            evidence=check.evidence,
            checked_by=actor.username,
            checked_at=now,
        )
    provider = Provider(
        **_location_columns(data.model_dump(mode="json", exclude={"admission"})),
        admission=admission,
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
        detail={"name": provider.name, "admission_missing": [c.value for c in checklist.missing(admission)]},
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
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    provider_id: int,
    data: ProviderUpdate,
    minimum: int,
) -> ProviderChange:
    """Change a provider's details (not its status); alert when an active one's district or types change
    leaves its old district with fewer than `minimum` active providers of a required type."""
    provider = await get(session=session, provider_id=provider_id, with_staff=True)
    was_active = provider.status == ProviderStatus.active
    old_district, old_types = provider.district, list(provider.service_types)
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
    if not was_active:
        return ProviderChange(provider)
    moved = provider.district != old_district
    lost = old_types if moved else [t for t in old_types if t not in provider.service_types]
    warnings = await coverage.check_minimum(
        session=session,
        clock=clock,
        provider_id=provider_id,
        district=old_district,
        service_types=lost,
        minimum=minimum,
    )
    return ProviderChange(provider, tuple(warnings))


async def change_status(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    provider_id: int,
    status: ProviderStatus,
    reason: str,
    minimum: int,
) -> ProviderChange:
    """Move a provider along pending → active ⇄ suspended → exited, recording why and who decided.

    Activation from pending needs every admission criterion met. Suspending or exiting an active provider
    always happens, but alerts supervisors if its district keeps fewer than `minimum` of a required type.
    """
    provider = await get(session=session, provider_id=provider_id, with_staff=True)
    current = ProviderStatus(provider.status)
    if status not in ALLOWED_STATUS_CHANGES[current]:
        raise InvalidTransition(f"a provider cannot go from {current.value} to {status.value}")
    if current is ProviderStatus.pending and status is ProviderStatus.active:
        _check_admitted(provider)
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
    if current is not ProviderStatus.active or status is ProviderStatus.active:
        return ProviderChange(provider)
    warnings = await coverage.check_minimum(
        session=session,
        clock=clock,
        provider_id=provider_id,
        district=provider.district,
        service_types=provider.service_types,
        minimum=minimum,
    )
    return ProviderChange(provider, tuple(warnings))


def _check_admitted(provider: Provider) -> None:
    """InvalidTransition naming the admission criteria not yet met, if any."""
    missing = checklist.missing(provider.admission)
    if missing:
        names = ", ".join(criterion.value for criterion in missing)
        raise InvalidTransition(
            f"admission criteria not met: {names}", detail={"missing": [c.value for c in missing]}
        )


async def record_admission(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    provider_id: int,
    criterion: AdmissionCriterion,
    check: AdmissionCheck,
) -> Provider:
    """Record a reviewer's finding on one admission criterion, with the evidence and who checked."""
    provider = await get(session=session, provider_id=provider_id, with_staff=True)
    if provider.status == ProviderStatus.exited:
        raise Conflict(f"provider {provider_id} has exited; its admission record is closed")
    now = clock.now()
    provider.admission = checklist.with_check(
        provider.admission,
        criterion,
        met=check.met,
        evidence=check.evidence,
        checked_by=actor.username,
        checked_at=now,
    )
    provider.updated_at = now
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="provider.admission",
        entity_type="provider",
        entity_id=provider_id,
        detail={"criterion": criterion.value, "met": check.met, "evidence": check.evidence},
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
