"""Background work stops for certain: redis-py can lose a task's cancellation that lands mid-read
(redis/redis-py#2028), and a process whose shutdown waits on such a task never ends (it hung CI twice)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.bus.base import Delivery
from dispatch.bus.memory import MemoryBus
from dispatch.calls.processor import CallProcessor
from dispatch.clock import FakeClock
from dispatch.db.session import create_session_factory
from dispatch.tasks import cancel_and_wait, set_within


class CancellationSwallowingBus(MemoryBus):
    """A bus whose blocking read loses the first cancellation it receives, as redis-py's can."""

    def __init__(self) -> None:
        super().__init__()
        self.swallowed = 0

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        try:
            return await super().read(stream, group, consumer, count=count, block_ms=block_ms)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
            await asyncio.Event().wait()  # back to waiting, as if nothing had happened
            raise AssertionError("unreachable") from None


async def swallow_one_cancellation(started: asyncio.Event, swallowed: list[int]) -> None:
    started.set()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        swallowed.append(1)
    await asyncio.Event().wait()


async def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends() -> None:
    started, swallowed = asyncio.Event(), list[int]()
    task = asyncio.create_task(swallow_one_cancellation(started, swallowed))
    await started.wait()
    async with asyncio.timeout(5):
        await cancel_and_wait([task, None], recancel_every=0.05)
    assert task.cancelled()
    assert swallowed == [1]


async def test_a_finished_task_s_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def fail() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fail())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait([task])
    assert "boom" in caplog.text


async def test_the_rules_processor_stops_although_the_bus_lost_its_cancellation(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    bus = CancellationSwallowingBus()
    sessions = create_session_factory(engine, claiming=True)
    processor = CallProcessor(sessions, bus, clock, consumer="stopping", p1_ack_seconds=30)
    processor.start()
    await asyncio.sleep(0.1)  # every consumer is in its blocking read
    stopping = asyncio.create_task(processor.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)
    assert stopping in done
    assert bus.swallowed == 1
    assert [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("call-")] == []


async def test_a_cancellation_that_lands_as_the_awaited_event_is_set_still_stops_the_waiter() -> None:
    event = asyncio.Event()

    async def wake_up_forever() -> None:
        while True:
            await set_within(event, 10)
            event.clear()

    waiter = asyncio.create_task(wake_up_forever())
    await asyncio.sleep(0)  # waiting on the event
    event.set()
    await asyncio.sleep(0)  # the wait inside has finished; the waiter has not run on yet
    waiter.cancel()
    done, _ = await asyncio.wait({waiter}, timeout=1)
    assert done == {waiter}
    assert waiter.cancelled()
