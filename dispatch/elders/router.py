"""REST endpoints of the elder registry and devices. Any logged-in operator may read and edit elders and
register devices; disabling, rebinding or reconfiguring a device is for supervisors and admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.api.deps import ClockDep, CurrentActor, ManagerActor, PagingDep, ServicesDep, SessionDep
from dispatch.elders import service
from dispatch.elders.models import DeviceStatus, Elder, ElderStatus
from dispatch.elders.schemas import (
    ContactIn,
    ContactRead,
    DeviceCreate,
    DeviceCreated,
    DeviceRead,
    DeviceUpdate,
    ElderCreate,
    ElderRead,
    ElderSummary,
    ElderUpdate,
    HealthRecordIn,
    HealthRecordRead,
    elder_fields,
)
from dispatch.schemas import Page, RowId, mask_id_number, mask_phone

router = APIRouter(prefix="/api/v1", tags=["elders"])


def _summary(elder: Elder, today: date) -> ElderSummary:
    return ElderSummary(
        id=elder.id,
        name=elder.name,
        sex=elder.sex,
        age=service.age_on(elder.birth_date, today),
        id_number=mask_id_number(elder.id_number),
        phone=mask_phone(elder.phone),
        district=elder.district,
        street=elder.street,
        community=elder.community,
        living_alone=elder.living_alone,
        subsidy_categories=elder.subsidy_categories,
        status=elder.status,
    )


def _full(elder: Elder, today: date) -> ElderRead:
    return ElderRead(
        **elder_fields(elder),
        id=elder.id,
        id_number=elder.id_number,
        birth_date=elder.birth_date,
        age=service.age_on(elder.birth_date, today),
        health=HealthRecordRead.model_validate(elder.health) if elder.health else None,
        contacts=[ContactRead.model_validate(c) for c in elder.contacts],
        devices=[DeviceRead.model_validate(d) for d in elder.devices],
        created_at=elder.created_at,
        updated_at=elder.updated_at,
    )


@router.get("/elders", response_model=Page[ElderSummary])
async def list_elders(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    q: Annotated[str | None, Query(max_length=64, description="name, phone or ID-number fragment")] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
    community: Annotated[str | None, Query(max_length=64)] = None,
    status: ElderStatus | None = None,
    living_alone: bool | None = None,
) -> Page[ElderSummary]:
    """Search elders; ID numbers and phones are masked and no health data is included."""
    items, total = await service.search(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        q=q,
        district=district,
        community=community,
        status=status,
        living_alone=living_alone,
    )
    today = service.local_today(clock)
    return Page(items=[_summary(e, today) for e in items], total=total)


async def _read_full(session: SessionDep, clock: ClockDep, actor: CurrentActor, elder_id: RowId) -> ElderRead:
    elder = await service.read_full(session=session, clock=clock, actor=actor, elder_id=elder_id)
    return _full(elder, service.local_today(clock))


@router.post("/elders", response_model=ElderRead, status_code=201)
async def create_elder(
    body: ElderCreate, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> ElderRead:
    """Register an elder, optionally with the health record and contacts."""
    elder = await service.create(session=session, clock=clock, actor=actor, data=body)
    return await _read_full(session, clock, actor, elder.id)


@router.get("/elders/{elder_id}", response_model=ElderRead)
async def read_elder(elder_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor) -> ElderRead:
    """An elder's full record, health included; the read is written to the audit log."""
    return await _read_full(session, clock, actor, elder_id)


@router.patch("/elders/{elder_id}", response_model=ElderRead)
async def update_elder(
    elder_id: RowId, body: ElderUpdate, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> ElderRead:
    """Change some of an elder's fields."""
    await service.update(session=session, clock=clock, actor=actor, elder_id=elder_id, data=body)
    return await _read_full(session, clock, actor, elder_id)


@router.get("/elders/{elder_id}/health", response_model=HealthRecordRead)
async def read_health(
    elder_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> HealthRecordRead:
    """An elder's health record; the read is written to the audit log."""
    record = await service.read_health(session=session, clock=clock, actor=actor, elder_id=elder_id)
    return HealthRecordRead.model_validate(record)


@router.put("/elders/{elder_id}/health", response_model=HealthRecordRead)
async def replace_health(
    elder_id: RowId, body: HealthRecordIn, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> HealthRecordRead:
    """Replace an elder's health record."""
    record = await service.replace_health(
        session=session, clock=clock, actor=actor, elder_id=elder_id, data=body
    )
    return HealthRecordRead.model_validate(record)


@router.get("/elders/{elder_id}/contacts", response_model=list[ContactRead])
async def list_contacts(elder_id: RowId, session: SessionDep, actor: CurrentActor) -> list[ContactRead]:
    """An elder's contacts in call order."""
    return [
        ContactRead.model_validate(c) for c in await service.list_contacts(session=session, elder_id=elder_id)
    ]


@router.put("/elders/{elder_id}/contacts", response_model=list[ContactRead])
async def replace_contacts(
    elder_id: RowId, body: list[ContactIn], session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> list[ContactRead]:
    """Set an elder's contacts; the list order is the call order."""
    contacts = await service.replace_contacts(
        session=session, clock=clock, actor=actor, elder_id=elder_id, contacts=body
    )
    return [ContactRead.model_validate(c) for c in contacts]


@router.get("/devices", response_model=Page[DeviceRead], tags=["devices"])
async def list_devices(
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    q: Annotated[str | None, Query(max_length=32, description="IMEI / device id fragment")] = None,
    elder_id: RowId | None = None,
    status: DeviceStatus | None = None,
) -> Page[DeviceRead]:
    """Registered devices."""
    items, total = await service.list_devices(
        session=session, limit=paging.limit, offset=paging.offset, q=q, elder_id=elder_id, status=status
    )
    return Page(items=[DeviceRead.model_validate(d) for d in items], total=total)


@router.post("/devices", response_model=DeviceCreated, status_code=201, tags=["devices"])
async def register_device(
    body: DeviceCreate, session: SessionDep, clock: ClockDep, services: ServicesDep, actor: CurrentActor
) -> DeviceCreated:
    """Bind a device to an elder; the response carries the device's secret, shown only this once (it is
    stored sealed)."""
    registered = await service.register_device(
        session=session, clock=clock, actor=actor, data=body, device_secrets=services.device_secrets
    )
    read = DeviceRead.model_validate(registered.device)
    return DeviceCreated(**read.model_dump(), secret=registered.secret)


@router.get("/devices/{device_id}", response_model=DeviceRead, tags=["devices"])
async def read_device(device_id: RowId, session: SessionDep, actor: CurrentActor) -> DeviceRead:
    """One device."""
    return DeviceRead.model_validate(await service.get_device(session=session, device_id=device_id))


@router.patch("/devices/{device_id}", response_model=DeviceRead, tags=["devices"])
async def update_device(
    device_id: RowId, body: DeviceUpdate, session: SessionDep, clock: ClockDep, actor: ManagerActor
) -> DeviceRead:
    """Rebind, disable or re-enable a device, or change its heartbeat interval (supervisors and admins;
    audited)."""
    device = await service.update_device(
        session=session, clock=clock, actor=actor, device_id=device_id, data=body
    )
    return DeviceRead.model_validate(device)
