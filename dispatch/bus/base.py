"""The bus interface.

Two kinds of traffic:
- **channels** (`publish` / `subscribe`): fan-out to every subscriber in every server process, for live
  consoles. A subscriber that is not listening misses messages; consoles resync on reconnect.
- **streams** (`append` / `read` / `ack` / `reclaim`): durable work that must not be lost. Each message
  goes to one consumer of a group; it stays pending until acknowledged, and a consumer that died with
  it pending has it reclaimed by another after `min_idle_ms`. Delivery is at least once, so handlers
  must be idempotent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A stream message handed to a consumer; acknowledge it by `id` once handled."""

    id: str
    message: Message


class Subscription(Protocol):
    """Messages published on a channel after subscribing, in order."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    """What the server needs from a bus."""

    async def publish(self, channel: str, message: Message) -> None:
        """Deliver to every current subscriber of the channel, in every process."""

    async def subscribe(self, channel: str) -> Subscription:
        """Start receiving what is published on the channel from now on."""

    async def append(self, stream: str, message: Message) -> str:
        """Add durable work to a stream; returns its id."""

    async def append_many(self, stream: str, messages: Sequence[Message]) -> None:
        """Add many messages to a stream in one round trip."""

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        """New messages for this consumer of the group (waiting up to `block_ms` for some)."""

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> None:
        """Mark messages handled: they will not be delivered again."""

    async def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        """Take over messages another consumer received but has not acknowledged for `min_idle_ms`."""

    async def ping(self) -> bool:
        """Whether the bus is reachable."""

    async def close(self) -> None:
        """Release connections."""
