"""Silent devices: one not heard from for N heartbeat intervals raises a `silent` event, once.

Each device carries its own deadline (`silent_deadline_at`, moved forward by every message), so the
monitor sleeps until the earliest deadline instead of scanning the table; claiming is one atomic UPDATE,
so several server processes never flag the same silence twice.

After an outage every deadline has passed while nobody could hear the devices: a monitor gives each device
one full silent interval from its own start-up to reconnect (it flags at max(deadline, started + interval)),
so a restart does not flag the whole fleet at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, case, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, enqueue
from dispatch.clock import Clock
from dispatch.elders.models import Device, DeviceStatus
from dispatch.ingest import service
from dispatch.ingest.events import RULES_STREAM, EventType, IncomingEvent, Position
from dispatch.ingest.service import DeviceRef, Submission
from dispatch.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 2.0


def _silent_interval(silent_after: int) -> ColumnElement[int]:
    """A device's silent interval in seconds: N missed heartbeats."""
    return Device.heartbeat_interval_s * silent_after


def _graced(now: datetime, silent_after: int, started_at: datetime | None) -> ColumnElement[bool]:
    """The device has had a full silent interval since start-up to be heard from."""
    if started_at is None:
        return true()
    return _silent_interval(silent_after) <= (now - started_at).total_seconds()


def _watched() -> list[ColumnElement[bool]]:
    return [Device.silent_since.is_(None), Device.status == DeviceStatus.active]


def _overdue(now: datetime, silent_after: int, started_at: datetime | None) -> list[ColumnElement[bool]]:
    return [
        *_watched(),
        Device.silent_deadline_at.is_not(None),
        Device.silent_deadline_at <= now,
        _graced(now, silent_after, started_at),
    ]


async def flag_silent_devices(
    *, session: AsyncSession, clock: Clock, silent_after: int, started_at: datetime | None = None
) -> list[int]:
    """Mark every device past its deadline as silent and store one `silent` event each; returns their ids.
    With `started_at`, a device is flagged only once a full silent interval has passed since then."""
    now = clock.now()
    claimed = await session.execute(
        update(Device)
        .where(*_overdue(now, silent_after, started_at))
        .values(silent_since=now)
        .returning(
            Device.id,
            Device.imei,
            Device.elder_id,
            Device.kind,
            Device.heartbeat_interval_s,
            Device.silent_deadline_at,
            Device.last_seen_at,
            Device.last_lon,
            Device.last_lat,
            Device.last_fixed,
        )
    )
    submissions = []
    for row in claimed.all():
        device = DeviceRef(
            id=row.id,
            imei=row.imei,
            elder_id=row.elder_id,
            kind=row.kind,
            status=DeviceStatus.active,
            secret="",
            heartbeat_interval_s=row.heartbeat_interval_s,
        )
        position = (
            Position(lon=row.last_lon, lat=row.last_lat, fixed=bool(row.last_fixed))
            if row.last_lon is not None
            else None
        )
        event = IncomingEvent(
            type=EventType.silent,
            device_time=None,
            position=position,
            data={
                "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None,
                "missed_heartbeats": silent_after,
                "heartbeat_interval_s": row.heartbeat_interval_s,
            },
        )
        submissions.append(
            Submission(
                device=device,
                events=[event],
                message_key=f"silent|{row.silent_deadline_at.isoformat()}",
                received_at=now,
            )
        )
    if submissions:
        results = await service.store_events_only(session=session, submissions=submissions)
        for message in service.rule_work(results):
            enqueue(session, RULES_STREAM, message)
    return [s.device.id for s in submissions]


async def next_deadline(
    *, session: AsyncSession, now: datetime, silent_after: int, started_at: datetime | None = None
) -> datetime | None:
    """The earliest moment a device not yet flagged may be (never later than it is): its deadline, or,
    for devices still in their start-up grace, the end of the shortest grace."""
    graced = _graced(now, silent_after, started_at)
    deadline, shortest_grace = (
        await session.execute(
            select(
                func.min(case((graced, Device.silent_deadline_at))),
                func.min(
                    case((~graced & Device.silent_deadline_at.is_not(None), _silent_interval(silent_after)))
                ),
            ).where(*_watched())
        )
    ).one()
    if shortest_grace is not None and started_at is not None:
        grace_ends = started_at + timedelta(seconds=shortest_grace)
        deadline = grace_ends if deadline is None else min(deadline, grace_ends)
    return cast(datetime | None, deadline)


class SilentDeviceMonitor:
    """Background task: sleep until the next deadline (at most a couple of seconds), then flag."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        silent_after: int,
        bus: EventBus | None = None,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._silent_after = silent_after
        self._started_at = clock.now()  # devices get a full silent interval from here to be heard from
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="silent-device-monitor")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None

    async def sweep(self) -> float:
        """Flag what is due; return how long to sleep before looking again."""
        async with self._sessions() as session:
            flagged = await flag_silent_devices(
                session=session,
                clock=self._clock,
                silent_after=self._silent_after,
                started_at=self._started_at,
            )
            upcoming = await next_deadline(
                session=session,
                now=self._clock.now(),
                silent_after=self._silent_after,
                started_at=self._started_at,
            )
            if self._bus is None:
                await session.commit()
            else:
                await commit_and_publish(session, self._bus)
        if flagged:
            logger.info("%d device(s) went silent", len(flagged))
        if upcoming is None:
            return MAX_SLEEP_SECONDS
        return min(MAX_SLEEP_SECONDS, max(0.0, (upcoming - self._clock.now()).total_seconds()))

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.sweep()
            except Exception:
                logger.exception("silent-device sweep failed; retrying")
                delay = MAX_SLEEP_SECONDS
            await asyncio.sleep(delay)
