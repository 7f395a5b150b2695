"""Silent devices are flagged once, after the configured number of missed heartbeats, and clear on return."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Device, DeviceStatus
from dispatch.ingest import service
from dispatch.ingest.events import EventType, IncomingEvent, Position
from dispatch.ingest.models import DeviceEvent
from dispatch.ingest.service import Submission, find_device
from dispatch.ingest.silent import MAX_SLEEP_SECONDS, SilentDeviceMonitor, flag_silent_devices
from tests.factories import make_elder_with_device

IMEI = "860000000000042"
INTERVAL = 300


async def heard(services: AppServices, key: str) -> None:
    """The device sends a heartbeat at the clock's current time."""
    async with services.sessions() as session:
        device = await find_device(session=session, imei=IMEI)
        assert device is not None
        event = IncomingEvent(EventType.position, services.clock.now(), Position(119.30, 26.08, True))
        await service.store(
            session=session,
            submissions=[
                Submission(device=device, events=[event], message_key=key, received_at=services.clock.now())
            ],
            silent_after=3,
        )
        await session.commit()


async def silent_events(services: AppServices) -> list[DeviceEvent]:
    async with services.sessions() as session:
        return list(await session.scalars(select(DeviceEvent).where(DeviceEvent.type == EventType.silent)))


async def flag(services: AppServices) -> list[int]:
    async with services.sessions() as session:
        flagged = await flag_silent_devices(session=session, clock=services.clock, silent_after=3)
        await session.commit()
        return flagged


async def test_flagged_once_after_three_missed_heartbeats(
    app_services: AppServices, clock: FakeClock
) -> None:
    _, device_id, _ = await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=INTERVAL)
    last_seen = clock.now()
    await heard(app_services, "hb-1")
    clock.advance(3 * INTERVAL - 1)
    assert await flag(app_services) == []
    clock.advance(1)
    assert await flag(app_services) == [device_id]
    assert await flag(app_services) == []  # once, not on every sweep
    clock.advance(3600)
    assert await flag(app_services) == []
    [event] = await silent_events(app_services)
    assert event.received_at == last_seen + timedelta(seconds=3 * INTERVAL)
    assert (event.lon, event.lat, event.fixed) == (119.30, 26.08, True)
    assert event.data == {
        "last_seen_at": last_seen.isoformat(),
        "missed_heartbeats": 3,
        "heartbeat_interval_s": INTERVAL,
    }


async def test_coming_back_clears_and_a_new_silence_is_flagged_again(
    app_services: AppServices, clock: FakeClock
) -> None:
    _, device_id, _ = await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=INTERVAL)
    await heard(app_services, "hb-1")
    clock.advance(3 * INTERVAL)
    assert await flag(app_services) == [device_id]
    clock.advance(10)
    await heard(app_services, "hb-2")
    async with app_services.sessions() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        assert device.silent_since is None
    clock.advance(3 * INTERVAL)
    assert await flag(app_services) == [device_id]
    assert len(await silent_events(app_services)) == 2


async def test_never_heard_and_disabled_devices_are_not_flagged(
    app_services: AppServices, clock: FakeClock
) -> None:
    await make_elder_with_device(app_services, "860000000000001", heartbeat_interval_s=INTERVAL)
    _, device_id, _ = await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=INTERVAL)
    await heard(app_services, "hb-1")
    async with app_services.sessions() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        device.status = DeviceStatus.disabled
        await session.commit()
    clock.advance(10 * INTERVAL)
    assert await flag(app_services) == []


async def test_two_processes_flag_a_silence_once(app_services: AppServices, clock: FakeClock) -> None:
    await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=INTERVAL)
    await heard(app_services, "hb-1")
    clock.advance(3 * INTERVAL)
    other = create_engine(app_services.settings)  # a second connection pool, as another process would have
    try:

        async def sweep(factory: object) -> list[int]:
            async with factory() as session:  # type: ignore[operator]
                flagged = await flag_silent_devices(session=session, clock=clock, silent_after=3)
                await session.commit()
                return flagged

        first, second = await asyncio.gather(
            sweep(app_services.sessions), sweep(create_session_factory(other))
        )
    finally:
        await other.dispose()
    assert sorted(first + second) == [first[0] if first else second[0]]
    assert len(await silent_events(app_services)) == 1


async def test_monitor_sleeps_until_the_next_deadline(app_services: AppServices, clock: FakeClock) -> None:
    await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=INTERVAL)
    monitor = SilentDeviceMonitor(app_services.sessions, clock, silent_after=3)
    assert await monitor.sweep() == MAX_SLEEP_SECONDS  # nothing to watch yet
    await heard(app_services, "hb-1")
    clock.advance(3 * INTERVAL - 0.5)
    assert await monitor.sweep() == 0.5
    clock.advance(0.5)
    assert await monitor.sweep() == MAX_SLEEP_SECONDS
    assert len(await silent_events(app_services)) == 1
