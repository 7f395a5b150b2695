"""The device directory answers a reconnect storm with a handful of queries and caches unknown IMEIs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
from sqlalchemy import event

from devices.watch.directory import DeviceDirectory
from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from tests.conftest import REDIS_URL
from tests.factories import make_elder_with_device, operator_headers

REGISTERED = [f"8600000000001{n:02d}" for n in range(3)]
UNKNOWN = ["8699999999999901", "869999999999902"]
LATER = "860000000000199"  # unknown at first, registered later


async def test_a_storm_of_lookups_costs_one_query(app_services: AppServices) -> None:
    for imei in REGISTERED:
        await make_elder_with_device(app_services, imei)
    queries: list[str] = []

    def count(*args: Any) -> None:
        queries.append(args[2])

    event.listen(app_services.engine.sync_engine, "before_cursor_execute", count)
    try:
        directory = DeviceDirectory(app_services.sessions)
        answers = await asyncio.gather(*(directory.lookup(imei) for imei in (REGISTERED + UNKNOWN) * 40))
        again = [await directory.lookup(imei) for imei in REGISTERED + UNKNOWN]
    finally:
        event.remove(app_services.engine.sync_engine, "before_cursor_execute", count)
    found = {
        imei: (ref.imei if ref else None)
        for imei, ref in zip((REGISTERED + UNKNOWN) * 40, answers, strict=True)
    }
    assert found == {**{imei: imei for imei in REGISTERED}, **dict.fromkeys(UNKNOWN)}
    assert [ref.imei if ref else None for ref in again] == [*REGISTERED, None, None]
    # the lookups' own query (the app's background sweeps share the engine: "FROM device_event", ...)
    assert len([q for q in queries if "WHERE device.imei IN" in q]) == 1


async def test_a_rebound_or_disabled_device_is_seen_by_every_process_at_once(
    db_settings: Settings, clock: FakeClock
) -> None:
    settings = db_settings.model_copy(update={"redis_url": REDIS_URL})
    one, two = create_app(settings, clock=clock), create_app(settings, clock=clock)
    async with AsyncExitStack() as stack:
        for app in (one, two):
            await stack.enter_async_context(app.router.lifespan_context(app))
        first, second = one.state.services, two.state.services
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://testserver")
        )
        supervisor = await operator_headers(first, client, Role.supervisor)
        elder_a, device_id, _ = await make_elder_with_device(first, REGISTERED[0])
        elder_b, _, _ = await make_elder_with_device(first, REGISTERED[1])
        directory = second.watch.parts.directory  # the other process's cache, warm
        assert (await answer(directory, REGISTERED[0])) == (elder_a, True)
        assert await directory.lookup(LATER) is None

        rebind = await client.patch(
            f"/api/v1/devices/{device_id}", json={"elder_id": elder_b}, headers=supervisor
        )
        assert rebind.status_code == 200
        await eventually(lambda: answer(directory, REGISTERED[0]), (elder_b, True))

        disable = await client.patch(
            f"/api/v1/devices/{device_id}", json={"status": "disabled"}, headers=supervisor
        )
        assert disable.status_code == 200
        await eventually(lambda: answer(directory, REGISTERED[0]), (elder_b, False))

        registered = await client.post(
            "/api/v1/devices", json={"imei": LATER, "elder_id": elder_a}, headers=supervisor
        )
        assert registered.status_code == 201
        await eventually(lambda: answer(directory, LATER), (elder_a, True))


async def answer(directory: DeviceDirectory, imei: str) -> tuple[int, bool] | None:
    ref = await directory.lookup(imei)
    return None if ref is None else (ref.elder_id, ref.active)


async def eventually(check: Callable[[], Awaitable[object]], expected: object, within: float = 3.0) -> None:
    """`check()` comes to answer `expected` well before the cache's 30 s safety net would expire."""
    async with asyncio.timeout(within):
        while await check() != expected:  # noqa: ASYNC110 - waiting for another process's message
            await asyncio.sleep(0.02)
