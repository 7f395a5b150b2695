"""Silent devices are flagged once, after the configured number of missed heartbeats, and clear on return."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.elders import service as elders_service
from dispatch.elders.models import Device, DeviceStatus
from dispatch.elders.schemas import DeviceCreate, ElderCreate
from dispatch.ingest import service
from dispatch.ingest.events import EventType, IncomingEvent, Position
from dispatch.ingest.models import DeviceEvent
from dispatch.ingest.secrets import box_for
from dispatch.ingest.service import Submission, find_device
from dispatch.ingest.silent import MAX_SLEEP_SECONDS, SilentDeviceMonitor, flag_silent_devices
from dispatch.settings import Settings
from tests.factories import elder_payload, make_elder_with_device

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


async def silent_after_a_sweep(services: AppServices, device_id: int) -> bool:
    """A sweep runs; whether the device is now flagged silent (by it, or by the app's own monitor, which
    sweeps on the same fake clock in the background and may get there first)."""
    await flag(services)
    async with services.sessions() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        return device.silent_since is not None


async def test_flagged_once_after_three_missed_heartbeats(
    app_services: AppServices, clock: FakeClock
) -> None:
    _, device_id, _ = await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=INTERVAL)
    last_seen = clock.now()
    await heard(app_services, "hb-1")
    clock.advance(3 * INTERVAL - 1)
    assert await flag(app_services) == []
    clock.advance(1)
    assert await silent_after_a_sweep(app_services, device_id)
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
    assert await silent_after_a_sweep(app_services, device_id)
    clock.advance(10)
    await heard(app_services, "hb-2")
    async with app_services.sessions() as session:
        device = await session.get(Device, device_id)
        assert device is not None
        assert device.silent_since is None
    clock.advance(3 * INTERVAL)
    assert await silent_after_a_sweep(app_services, device_id)
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


async def test_after_an_outage_each_device_gets_one_silent_interval_from_start_up(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    sessions = create_session_factory(engine)  # no app: its own monitor would be a second process
    slow = await register(sessions, clock, "860000000000061", heartbeat_interval_s=300)
    fast = await register(sessions, clock, "860000000000062", heartbeat_interval_s=60)
    for imei in ("860000000000061", "860000000000062"):
        await heard_by(sessions, clock, imei, "before")
    clock.advance(3600)  # the servers were down for an hour: every deadline passed meanwhile

    monitor = SilentDeviceMonitor(sessions, clock, silent_after=3)  # the first process back up
    assert 0 < await monitor.sweep() <= MAX_SLEEP_SECONDS  # nothing flagged, and no busy loop either
    clock.advance(3 * 60 - 1)
    await monitor.sweep()
    assert await flagged(sessions) == []
    clock.advance(1)  # the fast watch had three of its intervals to reconnect, and did not
    await monitor.sweep()
    assert await flagged(sessions) == [fast]
    clock.advance(300)
    await heard_by(sessions, clock, "860000000000061", "after")  # the slow one is back in time
    clock.advance(3 * 300 - 1)
    await monitor.sweep()
    assert await flagged(sessions) == [fast]
    clock.advance(1)  # and then goes quiet for three of its intervals
    await monitor.sweep()
    assert await flagged(sessions) == [fast, slow]


async def register(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, imei: str, heartbeat_interval_s: int
) -> int:
    actor = Actor.system("test")
    async with unit_of_work(sessions) as session:
        elder = await elders_service.create(
            session=session, clock=clock, actor=actor, data=ElderCreate.model_validate(elder_payload())
        )
        device = await elders_service.register_device(
            session=session,
            clock=clock,
            actor=actor,
            data=DeviceCreate(imei=imei, elder_id=elder.id, heartbeat_interval_s=heartbeat_interval_s),
            device_secrets=box_for(Settings(_env_file=None)),
        )
        return device.device.id


async def heard_by(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, imei: str, key: str) -> None:
    async with unit_of_work(sessions) as session:
        device = await find_device(session=session, imei=imei)
        assert device is not None
        event = IncomingEvent(EventType.heartbeat, None)
        submission = Submission(device=device, events=[event], message_key=key, received_at=clock.now())
        await service.store(session=session, submissions=[submission], silent_after=3)


async def flagged(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        events = await session.scalars(
            select(DeviceEvent).where(DeviceEvent.type == EventType.silent).order_by(DeviceEvent.id)
        )
        return [event.device_id for event in events]
