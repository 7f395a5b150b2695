"""The demo's simulated devices: every demo watch and phone reporting to the running server."""

from __future__ import annotations

import asyncio
import logging

import httpx
from sqlalchemy import select

from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Device, DeviceKind, DeviceStatus, Elder
from dispatch.settings import Settings
from simulators.phone import SimulatedPhone
from simulators.watch import WatchConfig, run_fleet

logger = logging.getLogger(__name__)

ALARMS_PER_HOUR = 20  # across the whole demo fleet: an alarm every three minutes or so


async def demo_devices(settings: Settings) -> list[tuple[str, DeviceKind, str, float, float]]:
    """(imei, kind, secret, home lon, home lat) of every active device."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(
                select(Device.imei, Device.kind, Device.secret, Elder.home_lon, Elder.home_lat)
                .join(Elder, Elder.id == Device.elder_id)
                .where(Device.status == DeviceStatus.active)
            )
            return [(imei, DeviceKind(kind), secret, lon, lat) for imei, kind, secret, lon, lat in rows]
    finally:
        await engine.dispose()


async def run_demo_devices(settings: Settings, *, http_url: str, watch_port: int) -> None:
    """Run the demo's watches (TCP) and phones (HTTP) until cancelled."""
    devices = await demo_devices(settings)
    watches = [
        WatchConfig(imei, lon, lat, heartbeat_s=60, position_s=300)
        for imei, kind, _, lon, lat in devices
        if kind is DeviceKind.watch
    ]
    logger.info("demo: %d simulated watches and %d phones", len(watches), len(devices) - len(watches))
    per_watch = ALARMS_PER_HOUR / max(1, len(watches))
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as client, asyncio.TaskGroup() as group:
        group.create_task(run_fleet(watches, "127.0.0.1", watch_port, alarm_rate_per_hour=per_watch))
        for imei, kind, secret, lon, lat in devices:
            if kind is not DeviceKind.watch:
                group.create_task(SimulatedPhone(client, imei, secret, (lon, lat)).run(period_s=300))
