"""The watch and phone simulators against the real server: acknowledged alarms, retries, signed events."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from dispatch.api.state import AppServices
from dispatch.ingest.models import DeviceEvent
from simulators.phone import SimulatedPhone
from simulators.watch import SimulatedWatch, WatchConfig
from tests.factories import make_elder_with_device


async def event_types(services: AppServices) -> list[str]:
    async with services.sessions() as session:
        return list(await session.scalars(select(DeviceEvent.type).order_by(DeviceEvent.id)))


async def test_simulated_watch_reports_and_gets_its_alarm_acknowledged(app_services: AppServices) -> None:
    await make_elder_with_device(app_services, "860000000000007")
    watch = SimulatedWatch(WatchConfig("860000000000007", 119.30, 26.08), port=app_services.watch_port)
    try:
        await watch.heartbeat()
        await watch.report_position(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
        reply = await watch.alarm("fall", "low_battery", when=datetime(2026, 3, 2, 1, 1, tzinfo=UTC))
    finally:
        await watch.close()
    assert reply is not None
    assert reply.raw == b"[3G*860000000000007*0002*AL]"
    assert await event_types(app_services) == ["heartbeat", "position", "fall", "low_battery"]


async def test_simulated_watch_retries_then_gives_up_without_an_ack(app_services: AppServices) -> None:
    watch = SimulatedWatch(
        WatchConfig("860000000000404", 119.30, 26.08, ack_timeout_s=0.2, retries=2),
        port=app_services.watch_port,
    )  # not registered: the server never acknowledges
    try:
        with pytest.raises(TimeoutError, match="no AL acknowledgement after 2 tries"):
            await watch.alarm("sos")
    finally:
        await watch.close()
    assert await event_types(app_services) == []


async def test_simulated_watch_reconnects_after_the_server_closes(app_services: AppServices) -> None:
    await make_elder_with_device(app_services, "860000000000008")
    watch = SimulatedWatch(WatchConfig("860000000000008", 119.30, 26.08), port=app_services.watch_port)
    try:
        await watch.heartbeat()
        for connection in list(app_services.watch.parts.connections.values()):
            connection.close("test")
        await watch.close()
        await watch.heartbeat()  # opens a new connection
    finally:
        await watch.close()
    assert await event_types(app_services) == ["heartbeat", "heartbeat"]


async def test_simulated_phone_sends_signed_events(app: object, app_services: AppServices) -> None:
    _, _, secret = await make_elder_with_device(app_services, "phone-000042", kind="phone")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        phone = SimulatedPhone(
            client,
            "phone-000042",
            secret,
            (119.30, 26.08),
            clock=lambda: app_services.clock.now().timestamp(),
        )
        sos = await phone.send(phone.event("sos"))
        vitals = await phone.send(phone.event("vitals", vitals={"heart_rate": 77}))
    assert (sos.status_code, vitals.status_code) == (202, 202)
    assert await event_types(app_services) == ["sos", "vitals"]
