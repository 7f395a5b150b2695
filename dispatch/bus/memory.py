"""The in-process bus of the embedded default: everything lives in this process's memory."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from dispatch.bus.base import Delivery, Message


class MemorySubscription:
    def __init__(self, bus: MemoryBus, channel: str) -> None:
        self._bus = bus
        self._channel = channel
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[Message]:
        while (message := await self.queue.get()) is not None:
            yield message

    async def close(self) -> None:
        self._bus.unsubscribe(self._channel, self)
        self.queue.put_nowait(None)


@dataclass
class _Group:
    cursor: int = 0  # index of the next never-delivered message
    pending: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (consumer, delivered at)


@dataclass
class _Stream:
    messages: list[tuple[str, Message]] = field(default_factory=list)
    groups: dict[str, _Group] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class MemoryBus:
    """Channels and streams in memory; stream messages survive only as long as the process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[MemorySubscription]] = defaultdict(list)
        self._streams: dict[str, _Stream] = defaultdict(_Stream)
        self._ids = itertools.count(1)

    async def publish(self, channel: str, message: Message) -> None:
        for subscription in list(self._subscribers[channel]):
            subscription.queue.put_nowait(message)

    async def subscribe(self, channel: str) -> MemorySubscription:
        subscription = MemorySubscription(self, channel)
        self._subscribers[channel].append(subscription)
        return subscription

    def unsubscribe(self, channel: str, subscription: MemorySubscription) -> None:
        if subscription in self._subscribers[channel]:
            self._subscribers[channel].remove(subscription)

    async def append(self, stream: str, message: Message) -> str:
        target = self._streams[stream]
        message_id = f"{next(self._ids)}-0"
        async with target.changed:
            target.messages.append((message_id, message))
            target.changed.notify_all()
        return message_id

    def _deliver(self, target: _Stream, group: _Group, consumer: str, count: int) -> list[Delivery]:
        batch = target.messages[group.cursor : group.cursor + count]
        group.cursor += len(batch)
        now = asyncio.get_running_loop().time()
        for message_id, _ in batch:
            group.pending[message_id] = (consumer, now)
        return [Delivery(message_id, message) for message_id, message in batch]

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        target = self._streams[stream]
        state = target.groups.setdefault(group, _Group())
        if block_ms and state.cursor >= len(target.messages):
            async with target.changed:
                try:
                    await asyncio.wait_for(
                        target.changed.wait_for(lambda: state.cursor < len(target.messages)), block_ms / 1000
                    )
                except TimeoutError:
                    return []
        return self._deliver(target, state, consumer, count)

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> None:
        state = self._streams[stream].groups.setdefault(group, _Group())
        for message_id in ids:
            state.pending.pop(message_id, None)

    async def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        target = self._streams[stream]
        state = target.groups.setdefault(group, _Group())
        now = asyncio.get_running_loop().time()
        stale = [i for i, (_, at) in state.pending.items() if now - at >= min_idle_ms / 1000][:count]
        by_id = dict(target.messages)
        for message_id in stale:
            state.pending[message_id] = (consumer, now)
        return [Delivery(message_id, by_id[message_id]) for message_id in stale]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                await subscription.close()
