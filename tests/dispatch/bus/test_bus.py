"""The event bus, run against the in-process implementation and against the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from dispatch.bus.base import EventBus, Subscription
from dispatch.bus.fallback import FallbackBus
from dispatch.bus.memory import MemoryBus
from dispatch.bus.redis import PREFIX, RedisBus
from simulators.load.common import free_port
from tests.conftest import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    the_bus: EventBus = MemoryBus() if request.param == "memory" else RedisBus.from_url(REDIS_URL)
    yield the_bus
    await the_bus.close()


def name(kind: str) -> str:
    """A fresh channel or stream name, so runs sharing one Redis never see each other's messages."""
    return f"test-{kind}-{uuid.uuid4().hex[:8]}"


async def take(subscription: Subscription, count: int) -> list[dict[str, object]]:
    received: list[dict[str, object]] = []
    async with asyncio.timeout(5):
        async for message in subscription:
            received.append(message)
            if len(received) == count:
                break
    return received


async def test_every_subscriber_gets_every_message_in_order(bus: EventBus) -> None:
    channel = name("channel")
    first, second = await bus.subscribe(channel), await bus.subscribe(channel)
    for n in range(3):
        await bus.publish(channel, {"n": n, "text": "紧急呼叫"})
    assert (
        await take(first, 3)
        == await take(second, 3)
        == [{"n": 0, "text": "紧急呼叫"}, {"n": 1, "text": "紧急呼叫"}, {"n": 2, "text": "紧急呼叫"}]
    )
    await first.close()
    await bus.publish(channel, {"n": 3})
    assert await take(second, 1) == [{"n": 3}]
    await second.close()


async def test_a_message_published_in_one_process_reaches_a_subscriber_in_another() -> None:
    one, other = (
        RedisBus.from_url(REDIS_URL),
        RedisBus.from_url(REDIS_URL),
    )  # two connections, as two processes
    channel = name("channel")
    try:
        subscription = await other.subscribe(channel)
        await one.publish(channel, {"call": 7, "state": "acknowledged"})
        assert await take(subscription, 1) == [{"call": 7, "state": "acknowledged"}]
        await subscription.close()
    finally:
        await one.close()
        await other.close()


async def test_each_stream_message_goes_to_one_consumer_and_stays_until_acked(bus: EventBus) -> None:
    stream = name("stream")
    ids = [await bus.append(stream, {"event": n}) for n in range(3)]
    first = await bus.read(stream, "rules", "process-1", count=2)
    assert [d.message for d in first] == [{"event": 0}, {"event": 1}]
    assert [d.id for d in first] == ids[:2]
    await bus.ack(stream, "rules", [first[0].id])
    second = await bus.read(stream, "rules", "process-2")
    assert [d.message for d in second] == [{"event": 2}]
    assert await bus.read(stream, "rules", "process-2") == []
    # process-1 died holding event 1: after the idle time another consumer takes it over
    reclaimed = await bus.reclaim(stream, "rules", "process-2", min_idle_ms=0)
    assert sorted(d.message["event"] for d in reclaimed) == [1, 2]
    await bus.ack(stream, "rules", [d.id for d in reclaimed])
    assert await bus.reclaim(stream, "rules", "process-2", min_idle_ms=0) == []


async def test_a_new_group_starts_from_the_beginning(bus: EventBus) -> None:
    stream = name("stream")
    await bus.append(stream, {"event": "before the consumer existed"})
    assert [d.message for d in await bus.read(stream, "late", "c")] == [
        {"event": "before the consumer existed"}
    ]


async def test_reclaim_leaves_recent_deliveries_alone(bus: EventBus) -> None:
    stream = name("stream")
    await bus.append(stream, {"event": 1})
    await bus.read(stream, "rules", "busy")
    assert await bus.reclaim(stream, "rules", "other", min_idle_ms=60_000) == []


async def test_blocking_read_returns_when_work_arrives(bus: EventBus) -> None:
    stream = name("stream")
    await bus.read(stream, "rules", "c", block_ms=1)  # the group exists before the work is added
    waiting = asyncio.create_task(bus.read(stream, "rules", "c", block_ms=5000))
    await asyncio.sleep(0)
    await bus.append(stream, {"event": "sos"})
    async with asyncio.timeout(5):
        delivered = await waiting
    assert [d.message for d in delivered] == [{"event": "sos"}]


async def test_ping(bus: EventBus) -> None:
    assert await bus.ping() is True


async def test_the_memory_bus_forgets_work_every_group_has_acknowledged() -> None:
    bus = MemoryBus()
    for n in range(5):
        await bus.append("work", {"n": n})
    taken = await bus.read("work", "rules", "c", count=3)
    await bus.ack("work", "rules", [taken[0].id, taken[2].id])  # the second is still pending
    assert bus._streams["work"].offset == 1  # only the first is gone
    await bus.ack("work", "rules", [taken[1].id])
    assert bus._streams["work"].offset == 3
    rest = await bus.read("work", "rules", "c")
    assert [d.message["n"] for d in rest] == [3, 4]
    await bus.ack("work", "rules", [d.id for d in rest])
    assert bus._streams["work"].messages == []


async def test_a_stream_lost_with_its_group_is_read_again_once_made_anew() -> None:
    """Redis restarted without its data: the consumer group is gone; reading fails once, then works."""
    bus, stream = RedisBus.from_url(REDIS_URL), name("stream")
    try:
        await bus.append(stream, {"n": 1})
        assert [d.message for d in await bus.read(stream, "g", "c1")] == [{"n": 1}]
        raw = Redis.from_url(REDIS_URL)
        await raw.delete(PREFIX + stream)
        await raw.aclose()
        with pytest.raises(ResponseError, match="NOGROUP"):
            await bus.read(stream, "g", "c1")
        await bus.append(stream, {"n": 2})
        assert [d.message for d in await bus.read(stream, "g", "c1")] == [{"n": 2}]
    finally:
        await bus.close()


async def test_an_unreachable_bus_hands_messages_to_this_process() -> None:
    unreachable = RedisBus.from_url(f"redis://127.0.0.1:{free_port()}/0")
    bus = FallbackBus(unreachable)
    published: list[dict[str, object]] = []
    appended: list[dict[str, object]] = []
    bus.when_publish_fails("console", published.append)
    bus.when_append_fails("work", appended.append)
    try:
        await bus.publish("console", {"call": 1})
        assert await bus.append("work", {"event_id": 7}) == "local"
        with pytest.raises(RedisConnectionError):
            await bus.append("other", {"event_id": 8})  # nobody to hand it to: the caller must know
    finally:
        await bus.close()
    assert (published, appended) == ([{"call": 1}], [{"event_id": 7}])


async def test_many_messages_appended_at_once_are_read_in_order(bus: EventBus) -> None:
    stream = name("stream")
    await bus.append_many(stream, [{"n": n} for n in range(5)])
    assert [d.message for d in await bus.read(stream, "g", "c")] == [{"n": n} for n in range(5)]


async def test_150_commands_waiting_at_once_on_one_bus_all_complete(bus: EventBus) -> None:
    """A stalled Redis holds every in-flight command's connection; a process with many tasks must not
    start refusing commands (redis-py 8 caps a pool at 100 connections unless told otherwise)."""
    stream = name("stream")
    await bus.read(stream, "rules", "c", block_ms=1)
    readers = [asyncio.create_task(bus.read(stream, "rules", f"c{i}", block_ms=300)) for i in range(150)]
    async with asyncio.timeout(10):
        results = await asyncio.gather(*readers, return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
