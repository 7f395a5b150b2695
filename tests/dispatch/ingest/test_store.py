"""Storing device events: idempotency, device state, group commit, failure isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dispatch.api.state import AppServices
from dispatch.elders.models import Device, DeviceKind, DeviceStatus
from dispatch.ingest import service
from dispatch.ingest.events import EventType, IncomingEvent, Position
from dispatch.ingest.models import DeviceEvent
from dispatch.ingest.service import DeviceRef, Submission, find_device
from dispatch.ingest.writer import EventWriter
from tests.factories import make_elder_with_device


async def device_ref(services: AppServices, imei: str) -> DeviceRef:
    await make_elder_with_device(services, imei)
    async with services.sessions() as session:
        ref = await find_device(session=session, imei=imei)
    assert ref is not None
    return ref


def sos(device: DeviceRef, key: str, services: AppServices, lon: float = 119.3) -> Submission:
    return Submission(
        device=device,
        message_key=key,
        received_at=services.clock.now(),
        battery=55,
        events=[
            IncomingEvent(
                EventType.sos, services.clock.now() - timedelta(seconds=3), Position(lon, 26.08, True)
            ),
            IncomingEvent(EventType.low_battery, services.clock.now(), Position(lon, 26.08, True)),
        ],
    )


async def events_in_db(services: AppServices) -> list[tuple[str, str]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(DeviceEvent.type, DeviceEvent.dedupe_key).order_by(DeviceEvent.id)
        )
        return [(t, k) for t, k in rows]


def writer_for(services: AppServices, max_delay: float = 0.05) -> EventWriter:
    return EventWriter(services.engine, max_delay=max_delay, max_size=500, silent_after=3)


async def test_concurrent_messages_share_transactions(app_services: AppServices) -> None:
    device = await device_ref(app_services, "860000000000001")
    writer = writer_for(app_services)
    writer.start()
    try:
        results = await asyncio.gather(
            *(writer.submit(sos(device, f"m{i}", app_services)) for i in range(40))
        )
    finally:
        await writer.stop()
    assert [len(r.new_event_ids) for r in results] == [2] * 40
    assert writer.batches < 5  # 40 messages, a handful of commits
    assert writer.stored_events == 80
    stored = await events_in_db(app_services)
    assert [t for t, _ in stored].count("sos") == 40
    async with app_services.sessions() as session:
        state = await session.scalar(select(Device).where(Device.imei == device.imei))
    assert state is not None
    assert (state.battery, state.last_lon, state.last_fixed, state.last_seen_at) == (
        55,
        119.3,
        True,
        app_services.clock.now(),
    )
    assert state.silent_deadline_at == app_services.clock.now() + timedelta(seconds=3 * 600)


async def test_retries_are_stored_once_even_within_one_batch(app_services: AppServices) -> None:
    device = await device_ref(app_services, "860000000000001")
    writer = writer_for(app_services)
    writer.start()
    try:
        first, same_batch = await asyncio.gather(
            writer.submit(sos(device, "k", app_services)), writer.submit(sos(device, "k", app_services))
        )
        later = await writer.submit(sos(device, "k", app_services))
    finally:
        await writer.stop()
    assert len(first.new_event_ids) + len(same_batch.new_event_ids) == 2
    assert (later.new_event_ids, later.duplicates) == ([], 2)
    assert len(await events_in_db(app_services)) == 2


async def test_a_bad_message_fails_alone(app_services: AppServices) -> None:
    device = await device_ref(app_services, "860000000000001")
    ghost = DeviceRef(
        id=9999,
        imei="860000000009999",
        elder_id=9999,
        kind=DeviceKind.watch,
        status=DeviceStatus.active,
        secret="",
        heartbeat_interval_s=600,
    )
    writer = writer_for(app_services)
    writer.start()
    try:
        outcomes = await asyncio.gather(
            writer.submit(sos(device, "good-1", app_services)),
            writer.submit(sos(ghost, "bad", app_services)),
            writer.submit(sos(device, "good-2", app_services)),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
    assert isinstance(outcomes[1], RuntimeError)
    assert [len(o.new_event_ids) for o in (outcomes[0], outcomes[2])] == [2, 2]  # type: ignore[union-attr]
    async with app_services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DeviceEvent)) == 4


@pytest.mark.parametrize("count", [1, 3])
async def test_stop_stores_what_is_queued(app_services: AppServices, count: int) -> None:
    device = await device_ref(app_services, "860000000000001")
    writer = writer_for(app_services, max_delay=10.0)  # would wait long for more
    writer.start()
    pending = [asyncio.create_task(writer.submit(sos(device, f"q{i}", app_services))) for i in range(count)]
    await asyncio.sleep(0)
    await writer.stop()
    results = await asyncio.gather(*pending)
    assert sum(len(r.new_event_ids) for r in results) == 2 * count


async def test_device_state_never_moves_backwards(app_services: AppServices) -> None:
    device = await device_ref(app_services, "860000000000001")
    clock = app_services.clock
    newer = sos(device, "newer", app_services, lon=119.31)
    older = Submission(
        device=device,
        events=[],
        message_key="older",
        received_at=clock.now() - timedelta(minutes=5),
        battery=99,
    )
    async with app_services.engine.begin() as connection:
        await service.touch_devices(connection=connection, submissions=[newer], silent_after=3)
        await service.touch_devices(connection=connection, submissions=[older], silent_after=3)
    async with app_services.sessions() as session:
        state = await session.scalar(select(Device).where(Device.id == device.id))
    assert state is not None
    assert state.last_seen_at == clock.now()
    assert state.silent_deadline_at == clock.now() + timedelta(seconds=1800)
    assert (state.battery, state.last_lon) == (55, 119.31)  # the older sighting changed nothing


async def test_a_windowed_message_is_the_same_only_within_its_window(app_services: AppServices) -> None:
    device = await device_ref(app_services, "860000000000002")
    bucket_start = datetime.fromtimestamp(
        app_services.clock.now().timestamp() // 300 * 300 + 300, tz=UTC
    )  # a 300 s bucket boundary

    def resend(at: float) -> Submission:
        """The same frame (same stale device time) received `at` seconds after a bucket boundary."""
        event = IncomingEvent(EventType.sos, datetime(2000, 1, 1, tzinfo=UTC), Position(119.3, 26.08, True))
        received = bucket_start + timedelta(seconds=at)
        return Submission(device, [event], "watch|same-bytes", received, dedupe_window_s=300)

    async def stored_new(*submissions: Submission) -> list[int]:
        async with app_services.engine.begin() as connection:
            results = await service.insert_events(connection=connection, submissions=submissions)
        return [len(result.new_event_ids) for result in results]

    assert await stored_new(resend(-10), resend(10)) == [1, 0]  # across the boundary, in one batch
    assert await stored_new(resend(289)) == [0]  # 299 s after the stored one, in the next bucket
    assert await stored_new(resend(291)) == [1]  # 301 s after: a new alarm
    assert await stored_new(resend(300)) == [0]  # 9 s after that one, in the bucket after
    assert await stored_new(resend(86_400)) == [1]
    assert [t for t, _ in await events_in_db(app_services)] == ["sos"] * 3
