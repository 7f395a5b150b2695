"""The bus as the server uses it: the shared bus (Redis) with a way around it while it is unreachable.

The database row is the truth and the bus only a wake-up, so an unreachable bus must never undo or delay
what was stored: what this process publishes still reaches this process's own subscribers (its consoles
see the call), and what it appends to a stream goes to a local handler (it runs the alarm rules on what it
stored itself). Other processes catch up by the rules sweeper and by their consoles' resync once the bus
is back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from dispatch.bus.base import Delivery, EventBus, Message, Subscription

logger = logging.getLogger(__name__)

LOCAL_ID = "local"
Handler = Callable[[Message], None]


class FallbackBus:
    """An `EventBus` that hands messages to local handlers when the inner bus fails."""

    def __init__(self, inner: EventBus) -> None:
        self._inner = inner
        self._on_publish_failure: dict[str, list[Handler]] = defaultdict(list)
        self._on_append_failure: dict[str, Handler] = {}
        self._down = False

    def when_publish_fails(self, channel: str, handler: Handler) -> None:
        """Give `handler` what could not be published on `channel` (it must not block)."""
        self._on_publish_failure[channel].append(handler)

    def when_append_fails(self, stream: str, handler: Handler) -> None:
        """Give `handler` what could not be appended to `stream` (it must not block)."""
        self._on_append_failure[stream] = handler

    async def publish(self, channel: str, message: Message) -> None:
        try:
            await self._inner.publish(channel, message)
        except Exception as exc:
            handlers = self._on_publish_failure.get(channel)
            if not handlers:
                raise
            self._went_down(exc)
            for handler in handlers:
                handler(message)
        else:
            self._came_back()

    async def append(self, stream: str, message: Message) -> str:
        try:
            message_id = await self._inner.append(stream, message)
        except Exception as exc:
            handler = self._on_append_failure.get(stream)
            if handler is None:
                raise
            self._went_down(exc)
            handler(message)
            return LOCAL_ID
        self._came_back()
        return message_id

    async def append_many(self, stream: str, messages: Sequence[Message]) -> None:
        try:
            await self._inner.append_many(stream, messages)
        except Exception as exc:
            handler = self._on_append_failure.get(stream)
            if handler is None:
                raise
            self._went_down(exc)
            for message in messages:
                handler(message)
        else:
            self._came_back()

    def _went_down(self, exc: Exception) -> None:
        if not self._down:
            logger.error("the bus is unreachable (%s); this process carries on locally", exc)
        self._down = True

    def _came_back(self) -> None:
        if self._down:
            logger.warning("the bus is reachable again")
        self._down = False

    async def subscribe(self, channel: str) -> Subscription:
        return await self._inner.subscribe(channel)

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        return await self._inner.read(stream, group, consumer, count=count, block_ms=block_ms)

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> None:
        await self._inner.ack(stream, group, ids)

    async def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        return await self._inner.reclaim(stream, group, consumer, min_idle_ms=min_idle_ms, count=count)

    async def ping(self) -> bool:
        return await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()
