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
from dispatch.errors import NotFound
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

    `message_key` identifies the message for de-duplication: for a watch frame its content, for the HTTP
    API the idempotency key. A retried message has the same key and is stored once. With
    `dedupe_window_s`, the same key is the same message only within that many seconds of the stored one
    (a watch whose clock is stuck sends a new alarm in the very bytes of an old one); without, forever.
    """

    device: DeviceRef
    events: Sequence[IncomingEvent]
    message_key: str
    received_at: datetime
    battery: int | None = None
    firmware: str | None = None
    dedupe_window_s: int | None = None


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


def dedupe_key(device_id: int, message_key: str, event_type: EventType, bucket: int | None = None) -> str:
    """The unique key of one event of one message (in one window-sized bucket of receive time)."""
    scope = message_key if bucket is None else f"{message_key}|{bucket}"
    return hashlib.sha256(f"{device_id}|{scope}|{event_type.value}".encode()).hexdigest()


def _bucket(submission: Submission) -> int | None:
    window = submission.dedupe_window_s
    return None if window is None else int(submission.received_at.timestamp()) // window


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
        "dedupe_key": dedupe_key(
            submission.device.id, submission.message_key, event.type, _bucket(submission)
        ),
        # Nothing left to do for an event the rules never look at.
        "processed_at": None if event.type in RULE_EVENT_TYPES else submission.received_at,
    }


@dataclass(frozen=True, slots=True)
class _Row:
    """An event row to insert, whose submission it belongs to, and its key in the previous bucket."""

    index: int
    values: dict[str, Any]
    earlier_key: str | None
    window: timedelta | None


def _row(index: int, submission: Submission, event: IncomingEvent) -> _Row:
    bucket = _bucket(submission)
    earlier = (
        None
        if bucket is None
        else dedupe_key(submission.device.id, submission.message_key, event.type, bucket - 1)
    )
    window = None if submission.dedupe_window_s is None else timedelta(seconds=submission.dedupe_window_s)
    return _Row(index, _event_row(submission, event), earlier, window)


def _repeats(row: _Row, stored_at: datetime | None) -> bool:
    """Whether the row repeats an event stored at `stored_at` under its previous bucket's key."""
    return (
        stored_at is not None
        and row.window is not None
        and row.values["received_at"] - stored_at < row.window
    )


_EVENTS = cast(Table, DeviceEvent.__table__)
_LOOKUP_CHUNK = 1000  # keys per lookup of earlier buckets, well under both databases' parameter limits


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
    """Insert the events of many messages, skipping those already stored (one statement per 1000 rows).

    A windowed key is unique within its bucket of receive time (the database's unique index); a repeat
    that falls into the next bucket is found by looking up its key in the previous bucket, in one query
    for the whole batch, and is a repeat only if stored less than the window before.
    """
    results = [StoreResult() for _ in submissions]
    rows = await _new_rows(connection, submissions)
    if rows:
        statement = _insert_ignoring_duplicates(connection.dialect.name)
        stored = await connection.execute(statement, [row.values for row in rows])
        by_key = {row.values["dedupe_key"]: row for row in rows}
        for event_id, key in stored.all():
            row = by_key[key]
            results[row.index].new_event_ids.append(event_id)
            results[row.index].new_event_types.append(EventType(row.values["type"]))
    for index, submission in enumerate(submissions):
        results[index].duplicates = len(submission.events) - len(results[index].new_event_ids)
    return results


async def _new_rows(connection: AsyncConnection, submissions: Sequence[Submission]) -> list[_Row]:
    """The batch's rows without repeats inside the batch or of events stored in the previous bucket."""
    rows: list[_Row] = []
    seen: dict[str, datetime] = {}
    for index, submission in enumerate(submissions):
        for event in submission.events:
            row = _row(index, submission, event)
            key = row.values["dedupe_key"]
            if key in seen or (row.earlier_key is not None and _repeats(row, seen.get(row.earlier_key))):
                continue  # a retry inside the same batch
            seen[key] = submission.received_at
            rows.append(row)
    earlier = [row.earlier_key for row in rows if row.earlier_key is not None]
    stored_at: dict[str, datetime] = {}
    for start in range(0, len(earlier), _LOOKUP_CHUNK):
        found = await connection.execute(
            select(_EVENTS.c.dedupe_key, _EVENTS.c.received_at).where(
                _EVENTS.c.dedupe_key.in_(earlier[start : start + _LOOKUP_CHUNK])
            )
        )
        stored_at.update({key: at for key, at in found.all()})
    return [
        row for row in rows if row.earlier_key is None or not _repeats(row, stored_at.get(row.earlier_key))
    ]


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


# ---------------------------------------------------------------- the rules' work


async def claim_events(*, session: AsyncSession, event_ids: Sequence[int]) -> list[DeviceEvent]:
    """The events among these still waiting for the rules, claimed for this transaction in id order: rows
    another transaction holds are skipped (PostgreSQL); on SQLite the claiming session holds the write
    lock. Whoever commits first processed them; the other finds them done."""
    return list(
        await session.scalars(
            select(DeviceEvent)
            .where(
                DeviceEvent.id.in_(event_ids),
                DeviceEvent.processed_at.is_(None),
                DeviceEvent.parked_at.is_(None),
            )
            .order_by(DeviceEvent.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )


async def unprocessed_event_ids(
    *, session: AsyncSession, received_from: datetime, received_until: datetime, limit: int
) -> list[int]:
    """Stored events the rules have not yet seen (nor given up on), oldest first."""
    rows = await session.scalars(
        select(DeviceEvent.id)
        .where(
            DeviceEvent.processed_at.is_(None),
            DeviceEvent.parked_at.is_(None),
            DeviceEvent.received_at >= received_from,
            DeviceEvent.received_at <= received_until,
        )
        .order_by(DeviceEvent.id)
        .limit(limit)
    )
    return list(rows)


async def note_rule_failure(
    *, session: AsyncSession, now: datetime, event_id: int, error: str, park_after: int
) -> DeviceEvent | None:
    """Count a failed attempt of the rules on an event; returns the event if it is now parked."""
    event = await session.get(DeviceEvent, event_id, with_for_update=True)
    if event is None or event.processed_at is not None or event.parked_at is not None:
        return None
    event.rule_attempts += 1
    if event.rule_attempts < park_after:
        return None
    event.parked_at, event.park_reason = now, error[:1000]
    return event


async def list_parked(*, session: AsyncSession, limit: int, offset: int) -> tuple[list[DeviceEvent], int]:
    """Events the rules gave up on, newest first."""
    query = select(DeviceEvent).where(DeviceEvent.parked_at.is_not(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(DeviceEvent.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


async def unpark(*, session: AsyncSession, event_id: int) -> DeviceEvent:
    """Give a parked event to the rules again (after the cause is fixed)."""
    event = await session.get(DeviceEvent, event_id)
    if event is None or event.parked_at is None:
        raise NotFound(f"no parked device event {event_id}")
    event.parked_at, event.park_reason, event.rule_attempts = None, None, 0
    return event
