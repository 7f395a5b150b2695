"""The elder registry: create, read (audited), update, search; health records, contacts, devices."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders import search_keys
from dispatch.elders.models import Contact, Device, DeviceStatus, Elder, ElderStatus, HealthRecord
from dispatch.elders.schemas import (
    ContactIn,
    DeviceCreate,
    DeviceUpdate,
    ElderCreate,
    ElderUpdate,
    HealthRecordIn,
)
from dispatch.errors import Conflict, NotFound
from dispatch.ingest.events import DEVICE_CHANGES_CHANNEL
from dispatch.ingest.secrets import DeviceSecretBox

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
SEARCHED_FIELDS = {"name", "phone", "id_number"}  # what the search keys are made of (search_keys.py)


def age_on(birth_date: date, today: date) -> int:
    """Completed years of age on a given day."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def local_today(clock: Clock) -> date:
    """Today's date where the elders live."""
    return clock.now().astimezone(LOCAL_ZONE).date()


def _health_values(health: HealthRecordIn) -> dict[str, Any]:
    return health.model_dump(mode="json")


async def create(*, session: AsyncSession, clock: Clock, actor: Actor, data: ElderCreate) -> Elder:
    """Register an elder with an optional health record and contacts; Conflict on a known ID number."""
    if await session.scalar(select(Elder.id).where(Elder.id_number == data.id_number)) is not None:
        raise Conflict("an elder with this ID-card number is already registered")
    now = clock.now()
    values = data.model_dump(mode="json", exclude={"health", "contacts", "home_location", "birth_date"})
    assert data.birth_date is not None  # noqa: S101 - filled in by ElderCreate's validator
    elder = Elder(
        **values,
        birth_date=data.birth_date,
        home_lon=data.home_location.lon,
        home_lat=data.home_location.lat,
        created_at=now,
        updated_at=now,
    )
    elder.health = HealthRecord(**_health_values(data.health or HealthRecordIn()), updated_at=now)
    elder.contacts = _contacts_in_order(data.contacts)
    session.add(elder)
    await session.flush()
    await search_keys.refresh(session, [elder.id])
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="elder.create",
        entity_type="elder",
        entity_id=elder.id,
    )
    return elder


def _contacts_in_order(contacts: Sequence[ContactIn]) -> list[Contact]:
    return [Contact(priority=index, **c.model_dump(mode="json")) for index, c in enumerate(contacts, start=1)]


async def get(*, session: AsyncSession, elder_id: int) -> Elder:
    """An elder without related records, or NotFound."""
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found")
    return elder


async def read_full(*, session: AsyncSession, clock: Clock, actor: Actor, elder_id: int) -> Elder:
    """An elder's whole record (identity, health, contacts, devices, home); the read is audited."""
    elder = await session.scalar(
        select(Elder)
        .where(Elder.id == elder_id)
        .options(selectinload(Elder.health), selectinload(Elder.contacts), selectinload(Elder.devices))
    )
    if elder is None:
        raise NotFound(f"elder {elder_id} not found")
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="elder.read",
        entity_type="elder",
        entity_id=elder_id,
        detail={"includes": ["identity", "health", "contacts", "home"]},
    )
    return elder


async def read_health(*, session: AsyncSession, clock: Clock, actor: Actor, elder_id: int) -> HealthRecord:
    """An elder's health record; the read is audited."""
    await get(session=session, elder_id=elder_id)
    record = await session.get(HealthRecord, elder_id)
    if record is None:
        raise NotFound(f"elder {elder_id} has no health record")
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="health_record.read",
        entity_type="elder",
        entity_id=elder_id,
    )
    return record


async def update(
    *, session: AsyncSession, clock: Clock, actor: Actor, elder_id: int, data: ElderUpdate
) -> Elder:
    """Change some of an elder's fields; the audit names the fields, never their values."""
    elder = await get(session=session, elder_id=elder_id)
    changes = data.model_dump(mode="json", exclude_unset=True)
    location = changes.pop("home_location", None)
    if location is not None:
        changes["home_lon"], changes["home_lat"] = location["lon"], location["lat"]
    changed = sorted(audit.apply_changes(elder, changes))  # names only: health and whereabouts stay out
    if SEARCHED_FIELDS & set(changed):
        await search_keys.refresh(session, [elder_id])
    if changed:
        elder.updated_at = clock.now()
        await audit.record(
            session=session,
            clock=clock,
            actor=actor,
            action="elder.update",
            entity_type="elder",
            entity_id=elder_id,
            detail={"fields": changed},
        )
    await session.flush()
    return elder


async def replace_health(
    *, session: AsyncSession, clock: Clock, actor: Actor, elder_id: int, data: HealthRecordIn
) -> HealthRecord:
    """Replace an elder's health record."""
    await get(session=session, elder_id=elder_id)
    record = await session.get(HealthRecord, elder_id)
    values = _health_values(data)
    if record is None:
        record = HealthRecord(elder_id=elder_id, **values, updated_at=clock.now())
        session.add(record)
        changed = sorted(values)
    else:
        changed = sorted(audit.apply_changes(record, values))
        record.updated_at = clock.now()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="health_record.update",
        entity_type="elder",
        entity_id=elder_id,
        detail={"fields": changed},
    )
    await session.flush()
    return record


async def list_contacts(*, session: AsyncSession, elder_id: int) -> list[Contact]:
    """An elder's contacts in call order."""
    await get(session=session, elder_id=elder_id)
    rows = await session.scalars(
        select(Contact).where(Contact.elder_id == elder_id).order_by(Contact.priority, Contact.id)
    )
    return list(rows)


async def replace_contacts(
    *, session: AsyncSession, clock: Clock, actor: Actor, elder_id: int, contacts: Sequence[ContactIn]
) -> list[Contact]:
    """Set an elder's contacts; their order in the list is the call order."""
    elder = await session.scalar(
        select(Elder).where(Elder.id == elder_id).options(selectinload(Elder.contacts))
    )
    if elder is None:
        raise NotFound(f"elder {elder_id} not found")
    elder.contacts = _contacts_in_order(contacts)
    elder.updated_at = clock.now()
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="elder.contacts.replace",
        entity_type="elder",
        entity_id=elder_id,
        detail={"count": len(contacts)},
    )
    return list(elder.contacts)


def _search(query: Select[Elder], q: str | None) -> Select[Elder]:
    if not q:
        return query
    term = q.strip()
    pattern = f"%{term}%"
    digits = "".join(ch for ch in term if ch.isdigit())
    conditions = [Elder.name.ilike(pattern), Elder.id_number.ilike(pattern)]
    if len(digits) >= 3:
        conditions.append(Elder.phone.ilike(f"%{digits}%"))
    return query.where(or_(*conditions))


async def search(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    q: str | None = None,
    district: str | None = None,
    community: str | None = None,
    status: ElderStatus | None = None,
    living_alone: bool | None = None,
) -> tuple[list[Elder], int]:
    """Elders matching a free-text query (name, phone, ID number) and filters, by id, with the total."""
    query = _search(select(Elder), q)
    if district:
        query = query.where(Elder.district == district)
    if community:
        query = query.where(Elder.community == community)
    if status:
        query = query.where(Elder.status == status)
    if living_alone is not None:
        query = query.where(Elder.living_alone == living_alone)
    return await fetch_page(session, query, Elder.id, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    """A new device and its secret in plain text, to be shown once (the row keeps it sealed)."""

    device: Device
    secret: str


async def register_device(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    data: DeviceCreate,
    device_secrets: DeviceSecretBox,
) -> RegisteredDevice:
    """Bind a new device to an elder; Conflict if the IMEI / device id is already registered."""
    await get(session=session, elder_id=data.elder_id)
    if await session.scalar(select(Device.id).where(Device.imei == data.imei)) is not None:
        raise Conflict(f"device {data.imei} is already registered")
    now = clock.now()
    secret = data.secret or secrets.token_urlsafe(32)
    device = Device(
        imei=data.imei,
        elder_id=data.elder_id,
        kind=data.kind,
        heartbeat_interval_s=data.heartbeat_interval_s,
        phone=data.phone,
        secret=device_secrets.seal(secret),
        status=DeviceStatus.active,
        created_at=now,
        updated_at=now,
    )
    session.add(device)
    await session.flush()
    if device.phone:
        await search_keys.refresh(session, [device.elder_id])
    _announce_device_change(session, device)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="device.create",
        entity_type="device",
        entity_id=device.id,
        detail={"imei": data.imei, "elder_id": data.elder_id},
    )
    return RegisteredDevice(device, secret)


async def reseal_device_secrets(*, session: AsyncSession, device_secrets: DeviceSecretBox) -> int:
    """Seal every device secret with the newest key (after a key was added); returns how many changed."""
    changed = 0
    for device in await session.scalars(select(Device).order_by(Device.id)):
        resealed = device_secrets.reseal(device.secret)
        if resealed is not None:
            device.secret = resealed
            changed += 1
    await session.flush()
    return changed


def _announce_device_change(session: AsyncSession, device: Device) -> None:
    """Once committed, every process's device cache forgets this device."""
    announce(session, DEVICE_CHANGES_CHANNEL, {"imei": device.imei}, key=device.imei)


async def get_device(*, session: AsyncSession, device_id: int) -> Device:
    """A device by id, or NotFound."""
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} not found")
    return device


async def update_device(
    *, session: AsyncSession, clock: Clock, actor: Actor, device_id: int, data: DeviceUpdate
) -> Device:
    """Rebind, disable or re-enable a device, or change its heartbeat interval or SIM number."""
    device = await get_device(session=session, device_id=device_id)
    changes = data.model_dump(exclude_unset=True)
    if "elder_id" in changes:
        await get(session=session, elder_id=changes["elder_id"])
    bound_to = device.elder_id
    applied = audit.apply_changes(device, changes)
    if {"phone", "elder_id"} & set(applied):
        await search_keys.refresh(session, [bound_to, device.elder_id])
    device.updated_at = clock.now()
    _announce_device_change(session, device)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="device.update",
        entity_type="device",
        entity_id=device_id,
        detail=applied,
    )
    await session.flush()
    return device


async def list_devices(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    q: str | None = None,
    elder_id: int | None = None,
    status: DeviceStatus | None = None,
) -> tuple[list[Device], int]:
    """Devices filtered by IMEI fragment, elder or status, by id, with the total."""
    query = select(Device)
    if q:
        query = query.where(Device.imei.ilike(f"%{q.strip()}%"))
    if elder_id is not None:
        query = query.where(Device.elder_id == elder_id)
    if status:
        query = query.where(Device.status == status)
    return await fetch_page(session, query, Device.id, limit=limit, offset=offset)
