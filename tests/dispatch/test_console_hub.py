"""The console hub: one bus subscription per process, fanned out to every console; consoles that fall
behind, or all of them when the subscription breaks, are told to resync."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from dispatch.bus.base import EventBus
from dispatch.bus.memory import MemoryBus
from dispatch.bus.redis import RedisBus
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.console.hub import ConsoleHub, ConsoleListener
from tests.conftest import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    the_bus: EventBus = MemoryBus() if request.param == "memory" else RedisBus.from_url(REDIS_URL)
    yield the_bus
    await the_bus.close()


async def next_text(listener: ConsoleListener) -> str | None:
    async with asyncio.timeout(5):
        return await listener.queue.get()


async def test_every_console_gets_every_message_in_order_serialised_once(bus: EventBus) -> None:
    hub = ConsoleHub(bus)
    await hub.start()
    try:
        with hub.listen() as first, hub.listen() as second:
            for n in range(3):
                await bus.publish(CONSOLE_CHANNEL, {"type": "call", "n": n, "name": "林玉兰"})
            for listener in (first, second):
                texts = [await next_text(listener) for _ in range(3)]
                assert [json.loads(t or "")["n"] for t in texts] == [0, 1, 2]
                assert "林玉兰" in (texts[0] or "")  # readable UTF-8, not \\u escapes
            assert first.queue.empty()
            assert second.queue.empty()
    finally:
        await hub.stop()


async def test_a_console_that_falls_behind_is_told_to_resync() -> None:
    bus = MemoryBus()
    hub = ConsoleHub(bus, max_backlog=2)
    await hub.start()
    try:
        with hub.listen() as slow, hub.listen() as keeping_up:
            for n in range(3):
                await bus.publish(CONSOLE_CHANNEL, {"n": n})
                assert json.loads(await next_text(keeping_up) or "") == {"n": n}
            await asyncio.sleep(0)
            assert slow.queue.qsize() == 1
            assert await next_text(slow) is None
    finally:
        await hub.stop()


async def test_a_broken_redis_subscription_makes_consoles_resync_and_is_restored() -> None:
    bus = RedisBus.from_url(REDIS_URL)
    admin = Redis.from_url(REDIS_URL)
    hub = ConsoleHub(bus)
    await hub.start()
    try:
        with hub.listen() as console:
            killed = await admin.client_kill_filter(_type="pubsub")
            assert killed >= 1
            assert await next_text(console) is None
        with hub.listen() as reconnected:
            received: list[str | None] = []
            async with asyncio.timeout(10):
                while not any(received):  # the hub resubscribes within about a second
                    await bus.publish(CONSOLE_CHANNEL, {"type": "ping"})
                    await asyncio.sleep(0.1)
                    while not reconnected.queue.empty():
                        received.append(reconnected.queue.get_nowait())
            # Resubscribed: first a resync (others' messages meanwhile were missed), then live messages.
            assert received[0] is None
            assert json.loads(received[1] or "") == {"type": "ping"}
    finally:
        await hub.stop()
        await admin.aclose()
        await bus.close()


async def test_a_message_for_one_operator_reaches_only_their_consoles(bus: EventBus) -> None:
    hub = ConsoleHub(bus)
    await hub.start()
    try:
        with hub.listen(operator_id=7) as seven, hub.listen(operator_id=8) as eight, hub.listen() as anyone:
            await bus.publish(CONSOLE_CHANNEL, {"type": "phone", "change": "offered", "for_operator_id": 7})
            await bus.publish(CONSOLE_CHANNEL, {"type": "agent", "operator_id": 7, "state": "ringing"})
            assert [json.loads(await next_text(seven) or "")["type"] for _ in range(2)] == ["phone", "agent"]
            assert json.loads(await next_text(eight) or "")["type"] == "agent"
            assert json.loads(await next_text(anyone) or "")["type"] == "agent"
            assert eight.queue.empty()
            assert anyone.queue.empty()
    finally:
        await hub.stop()
