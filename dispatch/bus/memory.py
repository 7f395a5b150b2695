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
    cursor: int = 0  # position of the next never-delivered message
    pending: dict[str, tuple[str, float, int]] = field(default_factory=dict)  # id -> (consumer, at, position)


@dataclass
class _Stream:
    messages: list[tuple[str, Message]] = field(default_factory=list)
    offset: int = 0  # position of messages[0]: what every group has acknowledged is dropped
    groups: dict[str, _Group] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def end(self) -> int:
        return self.offset + len(self.messages)

    def trim(self) -> None:
        """Forget the messages every group has received and acknowledged."""
        if not self.groups:
            return
        keep = min(
            min([group.cursor, *(position for _, _, position in group.pending.values())])
            for group in self.groups.values()
        )
        if keep > self.offset:
            del self.messages[: keep - self.offset]
            self.offset = keep


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

    async def append_many(self, stream: str, messages: Sequence[Message]) -> None:
        for message in messages:
            await self.append(stream, message)

    def _deliver(self, target: _Stream, group: _Group, consumer: str, count: int) -> list[Delivery]:
        start = group.cursor - target.offset
        batch = target.messages[start : start + count]
        now = asyncio.get_running_loop().time()
        for position, (message_id, _) in enumerate(batch, start=group.cursor):
            group.pending[message_id] = (consumer, now, position)
        group.cursor += len(batch)
        return [Delivery(message_id, message) for message_id, message in batch]

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        target = self._streams[stream]
        state = target.groups.setdefault(group, _Group(cursor=target.offset))
        if block_ms and state.cursor >= target.end:
            async with target.changed:
                try:
                    async with asyncio.timeout(block_ms / 1000):
                        await target.changed.wait_for(lambda: state.cursor < target.end)
                except TimeoutError:
                    return []
        return self._deliver(target, state, consumer, count)

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> None:
        target = self._streams[stream]
        state = target.groups.setdefault(group, _Group(cursor=target.offset))
        for message_id in ids:
            state.pending.pop(message_id, None)
        target.trim()

    async def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        target = self._streams[stream]
        state = target.groups.setdefault(group, _Group(cursor=target.offset))
        now = asyncio.get_running_loop().time()
        stale = [i for i, (_, at, _) in state.pending.items() if now - at >= min_idle_ms / 1000][:count]
        by_id = dict(target.messages)
        for message_id in stale:
            _, _, position = state.pending[message_id]
            state.pending[message_id] = (consumer, now, position)
        return [Delivery(message_id, by_id[message_id]) for message_id in stale]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                await subscription.close()
