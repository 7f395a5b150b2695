"""Provider endpoints: everyone reads; supervisors and admins admit, change and suspend providers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch.api.deps import ClockDep, CurrentActor, ManagerActor, PagingDep, SessionDep, SettingsDep
from dispatch.catalog import ServiceType
from dispatch.providers import service
from dispatch.providers.admission import AdmissionCriterion, missing
from dispatch.providers.models import Provider, ProviderStatus
from dispatch.providers.schemas import (
    AdmissionCheck,
    NearbyProvider,
    ProviderCreate,
    ProviderRead,
    ProviderStatusChange,
    ProviderSummary,
    ProviderUpdate,
    StaffIn,
    StaffRead,
)
from dispatch.schemas import LonLat, Page, RowId

router = APIRouter(prefix="/api/v1/providers", tags=["providers"])


def _summary_fields(provider: Provider) -> dict[str, object]:
    return {
        "id": provider.id,
        "name": provider.name,
        "registration_number": provider.registration_number,
        "phone": provider.phone,
        "district": provider.district,
        "service_types": provider.service_types,
        "base_location": LonLat(lon=provider.base_lon, lat=provider.base_lat),
        "service_area": provider.service_area,
        "capacity": provider.capacity,
        "status": provider.status,
        "rating": provider.rating,
        "rating_count": provider.rating_count,
        "review_flag": provider.review_flag,
    }


def _read(provider: Provider, coverage_warnings: tuple[dict[str, Any], ...] = ()) -> ProviderRead:
    return ProviderRead.model_validate(
        {
            **_summary_fields(provider),
            "qualifications": provider.qualifications,
            "contact_person": provider.contact_person,
            "address": provider.address,
            "price_list": provider.price_list,
            "service_frequency": provider.service_frequency,
            "commitments": provider.commitments,
            "working_hours": provider.working_hours,
            "status_reason": provider.status_reason,
            "admission": provider.admission,
            "admission_missing": missing(provider.admission),
            "flagged_at": provider.flagged_at,
            "coverage_warnings": list(coverage_warnings),
            "staff": [StaffRead.model_validate(s) for s in provider.staff],
            "created_at": provider.created_at,
            "updated_at": provider.updated_at,
        }
    )


@router.get("", response_model=Page[ProviderSummary])
async def list_providers(
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    q: Annotated[str | None, Query(max_length=64, description="name, registration number or phone")] = None,
    status: ProviderStatus | None = None,
    service_type: ServiceType | None = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[ProviderSummary]:
    """Search providers."""
    items, total = await service.search(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        q=q,
        status=status,
        service_type=service_type,
        district=district,
    )
    return Page(items=[ProviderSummary.model_validate(_summary_fields(p)) for p in items], total=total)


@router.get("/nearby", response_model=list[NearbyProvider])
async def nearby_providers(
    session: SessionDep,
    actor: CurrentActor,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius_m: Annotated[float, Query(gt=0, le=100_000)] = 5_000,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    service_type: ServiceType | None = None,
) -> list[NearbyProvider]:
    """Active providers around a point (for the call map), nearest first."""
    found = await service.nearby(
        session=session, lon=lon, lat=lat, radius_m=radius_m, limit=limit, service_type=service_type
    )
    return [NearbyProvider.model_validate({**_summary_fields(p), "distance_m": round(d)}) for p, d in found]


@router.post("", response_model=ProviderRead, status_code=201)
async def create_provider(
    body: ProviderCreate, session: SessionDep, clock: ClockDep, actor: ManagerActor
) -> ProviderRead:
    """Admit a provider (it starts as pending)."""
    return _read(await service.create(session=session, clock=clock, actor=actor, data=body))


@router.get("/{provider_id}", response_model=ProviderRead)
async def read_provider(provider_id: RowId, session: SessionDep, actor: CurrentActor) -> ProviderRead:
    """One provider with its price list, hours and staff."""
    return _read(await service.get(session=session, provider_id=provider_id, with_staff=True))


@router.patch("/{provider_id}", response_model=ProviderRead)
async def update_provider(
    provider_id: RowId,
    body: ProviderUpdate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: ManagerActor,
) -> ProviderRead:
    """Change a provider's details; coverage_warnings lists the district minimums the change broke."""
    changed = await service.update(
        session=session,
        clock=clock,
        actor=actor,
        provider_id=provider_id,
        data=body,
        minimum=settings.coverage_minimum,
    )
    return _read(changed.provider, changed.coverage_warnings)


@router.post("/{provider_id}/status", response_model=ProviderRead)
async def change_provider_status(
    provider_id: RowId,
    body: ProviderStatusChange,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: ManagerActor,
) -> ProviderRead:
    """Activate (every admission criterion met), suspend or exit a provider, with the reason; suspending
    or exiting still happens when it breaks a district minimum, which coverage_warnings then lists."""
    changed = await service.change_status(
        session=session,
        clock=clock,
        actor=actor,
        provider_id=provider_id,
        status=body.status,
        reason=body.reason,
        minimum=settings.coverage_minimum,
    )
    return _read(changed.provider, changed.coverage_warnings)


@router.put("/{provider_id}/admission/{criterion}", response_model=ProviderRead)
async def check_admission(
    provider_id: RowId,
    criterion: AdmissionCriterion,
    body: AdmissionCheck,
    session: SessionDep,
    clock: ClockDep,
    actor: ManagerActor,
) -> ProviderRead:
    """Record the review of one admission criterion: met or not, and the evidence seen."""
    provider = await service.record_admission(
        session=session, clock=clock, actor=actor, provider_id=provider_id, criterion=criterion, check=body
    )
    return _read(provider)


@router.post("/{provider_id}/staff", response_model=StaffRead, status_code=201)
async def add_staff(
    provider_id: RowId, body: StaffIn, session: SessionDep, clock: ClockDep, actor: ManagerActor
) -> StaffRead:
    """Add a service staff member."""
    staff = await service.add_staff(
        session=session, clock=clock, actor=actor, provider_id=provider_id, data=body
    )
    return StaffRead.model_validate(staff)


@router.put("/{provider_id}/staff/{staff_id}", response_model=StaffRead)
async def update_staff(
    provider_id: RowId,
    staff_id: RowId,
    body: StaffIn,
    session: SessionDep,
    clock: ClockDep,
    actor: ManagerActor,
) -> StaffRead:
    """Replace a staff member's details."""
    staff = await service.update_staff(
        session=session, clock=clock, actor=actor, provider_id=provider_id, staff_id=staff_id, data=body
    )
    return StaffRead.model_validate(staff)
