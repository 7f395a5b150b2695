"""Authenticating devices and storing their events idempotently, many messages per transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, case, func, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from dispatch.elders.models import Device, DeviceKind, DeviceStatus
from dispatch.ingest.events import RULE_EVENT_TYPES, EventType, IncomingEvent
from dispatch.ingest.models import DeviceEvent


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the gateway needs to know about a registered device."""

    id: int
    imei: str
    elder_id: int
    kind: DeviceKind
    status: DeviceStatus
    secret: str  # sealed (see ingest/secrets.py): only the phone gateway opens it
    heartbeat_interval_s: int

    @property
    def active(self) -> bool:
        return self.status == DeviceStatus.active


@dataclass(frozen=True, slots=True)
class Submission:
    """One device message and the events decoded from it.

    `message_key` identifies the message for de-duplication: its content and device time (or, for
    messages without a device time, the content and the minute it arrived; for the HTTP API, the
    idempotency key). A retried message has the same key and is stored once.
    """

    device: DeviceRef
    events: Sequence[IncomingEvent]
    message_key: str
    received_at: datetime
    battery: int | None = None
    firmware: str | None = None


@dataclass(slots=True)
class StoreResult:
    """Ids of the events newly stored for one submission, and how many were already there."""

    new_event_ids: list[int] = field(default_factory=list)
    new_event_types: list[EventType] = field(default_factory=list)
    duplicates: int = 0


def _ref(device: Device) -> DeviceRef:
    return DeviceRef(
        id=device.id,
        imei=device.imei,
        elder_id=device.elder_id,
        kind=DeviceKind(device.kind),
        status=DeviceStatus(device.status),
        secret=device.secret,
        heartbeat_interval_s=device.heartbeat_interval_s,
    )


async def find_device(*, session: AsyncSession, imei: str) -> DeviceRef | None:
    """The registered device with this IMEI / device id, if any."""
    device = await session.scalar(select(Device).where(Device.imei == imei))
    return None if device is None else _ref(device)


async def find_devices(*, session: AsyncSession, imeis: Sequence[str]) -> dict[str, DeviceRef]:
    """The registered devices among these IMEIs / device ids, in one query."""
    devices = await session.scalars(select(Device).where(Device.imei.in_(imeis)))
    return {device.imei: _ref(device) for device in devices}


def rule_work(results: Sequence[StoreResult]) -> list[dict[str, Any]]:
    """Stream messages for the newly stored events the alarm rules must see."""
    return [
        {"event_id": event_id}
        for result in results
        for event_id, event_type in zip(result.new_event_ids, result.new_event_types, strict=True)
        if event_type in RULE_EVENT_TYPES
    ]


def dedupe_key(device_id: int, message_key: str, event_type: EventType) -> str:
    """The unique key of one event of one message."""
    return hashlib.sha256(f"{device_id}|{message_key}|{event_type.value}".encode()).hexdigest()


def _event_row(submission: Submission, event: IncomingEvent) -> dict[str, Any]:
    position = event.position
    return {
        "device_id": submission.device.id,
        "elder_id": submission.device.elder_id,
        "type": event.type.value,
        "device_time": event.device_time,
        "received_at": submission.received_at,
        "lon": position.lon if position else None,
        "lat": position.lat if position else None,
        "fixed": position.fixed if position else None,
        "data": event.data,
        "dedupe_key": dedupe_key(submission.device.id, submission.message_key, event.type),
    }


_EVENTS = cast(Table, DeviceEvent.__table__)


@cache
def _insert_ignoring_duplicates(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING, built once per dialect so its compiled form is cached
    (executed with many parameter sets, it becomes one multi-row statement per batch)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(_EVENTS)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_EVENTS.c.id, _EVENTS.c.dedupe_key)
    )


def _device_touch(submission: Submission, silent_after: int) -> dict[str, Any]:
    """The device's new last-seen state after this message (positions only from events that carry one)."""
    located = next(
        (e for e in reversed(submission.events) if e.position and e.position.lon is not None), None
    )
    position = located.position if located else None
    received = submission.received_at
    return {
        "b_id": submission.device.id,
        "b_seen": received,
        "b_deadline": received + timedelta(seconds=submission.device.heartbeat_interval_s * silent_after),
        "b_battery": submission.battery,
        "b_firmware": submission.firmware,
        "b_lon": position.lon if position else None,
        "b_lat": position.lat if position else None,
        "b_fixed": position.fixed if position else None,
        "b_position_at": (located.device_time or received) if located else None,
    }


_DEVICE = cast(Table, Device.__table__)


def _newer_sighting() -> ColumnElement[bool]:
    """The sighting being written is at least as new as the stored one (right-hand sides of an UPDATE
    see the old row). Another process may flush an older sighting of the same device later."""
    return or_(_DEVICE.c.last_seen_at.is_(None), _DEVICE.c.last_seen_at <= bindparam("b_seen"))


def _if_newer(value: ColumnElement[Any], column: str) -> ColumnElement[Any]:
    return case((_newer_sighting(), value), else_=_DEVICE.c[column])


_TOUCH_DEVICE = (
    update(_DEVICE)
    .where(_DEVICE.c.id == bindparam("b_id"))
    .values(
        last_seen_at=_if_newer(bindparam("b_seen"), "last_seen_at"),
        silent_deadline_at=_if_newer(bindparam("b_deadline"), "silent_deadline_at"),
        silent_since=_if_newer(null(), "silent_since"),
        battery=_if_newer(func.coalesce(bindparam("b_battery"), _DEVICE.c.battery), "battery"),
        firmware=_if_newer(func.coalesce(bindparam("b_firmware"), _DEVICE.c.firmware), "firmware"),
        last_lon=_if_newer(func.coalesce(bindparam("b_lon"), _DEVICE.c.last_lon), "last_lon"),
        last_lat=_if_newer(func.coalesce(bindparam("b_lat"), _DEVICE.c.last_lat), "last_lat"),
        last_fixed=_if_newer(func.coalesce(bindparam("b_fixed"), _DEVICE.c.last_fixed), "last_fixed"),
        last_position_at=_if_newer(
            func.coalesce(bindparam("b_position_at"), _DEVICE.c.last_position_at), "last_position_at"
        ),
    )
)


async def store(
    *, session: AsyncSession, submissions: Sequence[Submission], silent_after: int
) -> list[StoreResult]:
    """Store the events of many messages and bring their devices' last-seen state up to date.

    Duplicates (retried messages) are skipped by the database's unique key, so this is safe to repeat.
    The caller commits; only after the commit may the devices be acknowledged.
    """
    connection = await session.connection()
    results = await insert_events(connection=connection, submissions=submissions)
    await touch_devices(connection=connection, submissions=submissions, silent_after=silent_after)
    return results


async def touch_devices(
    *, connection: AsyncConnection, submissions: Sequence[Submission], silent_after: int
) -> None:
    """Record that these devices were heard from: last seen, battery, position, silence deadline."""
    latest: dict[int, Submission] = {}
    for submission in submissions:
        latest[submission.device.id] = submission
    if latest:
        # In id order, so concurrent transactions lock device rows in the same order and cannot deadlock.
        await connection.execute(
            _TOUCH_DEVICE, [_device_touch(latest[i], silent_after) for i in sorted(latest)]
        )


async def store_events_only(*, session: AsyncSession, submissions: Sequence[Submission]) -> list[StoreResult]:
    """Store the events of many messages in the session's transaction, without touching the devices."""
    return await insert_events(connection=await session.connection(), submissions=submissions)


async def insert_events(
    *, connection: AsyncConnection, submissions: Sequence[Submission]
) -> list[StoreResult]:
    """Insert the events of many messages, skipping those already stored (one statement per 1000 rows)."""
    results = [StoreResult() for _ in submissions]
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, submission in enumerate(submissions):
        for event in submission.events:
            row = _event_row(submission, event)
            if row["dedupe_key"] not in seen:  # a retry inside the same batch
                seen.add(row["dedupe_key"])
                rows.append((index, row))
    if rows:
        owner = {row["dedupe_key"]: index for index, row in rows}
        statement = _insert_ignoring_duplicates(connection.dialect.name)
        stored = await connection.execute(statement, [row for _, row in rows])
        types = {row["dedupe_key"]: EventType(row["type"]) for _, row in rows}
        for event_id, key in stored.all():
            results[owner[key]].new_event_ids.append(event_id)
            results[owner[key]].new_event_types.append(types[key])
        for index, submission in enumerate(submissions):
            results[index].duplicates = len(submission.events) - len(results[index].new_event_ids)
    return results


async def list_events(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    imei: str | None = None,
    elder_id: int | None = None,
    event_type: EventType | None = None,
) -> tuple[list[tuple[DeviceEvent, str]], int]:
    """Events newest first, each with its device's IMEI, filtered by device, elder and type; and the total."""
    query = select(DeviceEvent, Device.imei).join(Device, Device.id == DeviceEvent.device_id)
    if imei:
        query = query.where(Device.imei == imei)
    if elder_id is not None:
        query = query.where(DeviceEvent.elder_id == elder_id)
    if event_type is not None:
        query = query.where(DeviceEvent.type == event_type)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(DeviceEvent.received_at.desc(), DeviceEvent.id.desc()).limit(limit).offset(offset)
    )
    return [(event, device_imei) for event, device_imei in rows], int(total or 0)
