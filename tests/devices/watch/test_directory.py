"""The device directory answers a reconnect storm with a handful of queries and caches unknown IMEIs."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from devices.watch.directory import DeviceDirectory
from dispatch.api.state import AppServices
from tests.factories import make_elder_with_device

REGISTERED = [f"8600000000001{n:02d}" for n in range(3)]
UNKNOWN = ["8699999999999901", "869999999999902"]


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
    assert len([q for q in queries if "FROM device" in q]) == 1
