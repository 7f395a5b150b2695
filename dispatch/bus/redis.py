"""The Redis bus: pub/sub channels for fan-out across processes, Streams with consumer groups for work."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError

from dispatch.bus.base import Delivery, Message

PREFIX = "dispatch:"
STREAM_MAX_LENGTH = 1_000_000  # approximate trimming keeps a stream from growing without bound


class RedisSubscription:
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[Message]:
        async for item in self._pubsub.listen():
            if item.get("type") == "message":
                message: Message = json.loads(item["data"])
                yield message

    async def close(self) -> None:
        await self._pubsub.unsubscribe()
        await self._pubsub.aclose()


def _deliveries(entries: Sequence[Any]) -> list[Delivery]:
    out = []
    for message_id, fields in entries:
        if fields:  # a message deleted by trimming comes back without fields
            out.append(Delivery(_text(message_id), json.loads(fields[b"m"])))
    return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# redis-py 8 caps a client's pool at 100 connections and refuses the 101st command outright. A stalled
# Redis holds every in-flight command's connection, and a busy process has more than 100 in flight (every
# request publishes), so the cap would turn a stall into refusals everywhere, readiness included.
MAX_CONNECTIONS = 10_000


def redis_client(url: str) -> Redis:
    """A client for `url` whose pool does not refuse commands under load."""
    return Redis.from_url(url, max_connections=MAX_CONNECTIONS)


class RedisBus:
    """Shared by every server process connected to the same Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._groups: set[tuple[str, str]] = set()

    @classmethod
    def from_url(cls, url: str) -> RedisBus:
        return cls(redis_client(url))

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(PREFIX + channel, json.dumps(message, default=str))

    async def subscribe(self, channel: str) -> RedisSubscription:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(PREFIX + channel)
        return RedisSubscription(pubsub)

    async def append(self, stream: str, message: Message) -> str:
        message_id = await self._redis.xadd(
            PREFIX + stream,
            {"m": json.dumps(message, default=str)},
            maxlen=STREAM_MAX_LENGTH,
            approximate=True,
        )
        return _text(message_id)

    async def append_many(self, stream: str, messages: Sequence[Message]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.xadd(
                    PREFIX + stream,
                    {"m": json.dumps(message, default=str)},
                    maxlen=STREAM_MAX_LENGTH,
                    approximate=True,
                )
            await pipe.execute()

    async def _ensure_group(self, stream: str, group: str) -> None:
        if (stream, group) in self._groups:
            return
        try:  # a new group starts at the beginning: nothing appended before it existed is skipped
            await self._redis.xgroup_create(PREFIX + stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((stream, group))

    def _forget_group_if_lost(self, stream: str, group: str, exc: ResponseError) -> None:
        """A Redis restarted without its data has lost the group: make it again on the next call."""
        if "NOGROUP" in str(exc):
            self._groups.discard((stream, group))

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        await self._ensure_group(stream, group)
        try:
            reply = cast(  # RESP2 (the client's default protocol) answers a list of [stream, entries]
                list[Any],
                await self._redis.xreadgroup(
                    group, consumer, {PREFIX + stream: ">"}, count=count, block=block_ms or None
                ),
            )
        except ResponseError as exc:
            self._forget_group_if_lost(stream, group, exc)
            raise
        return [d for _, entries in reply or [] for d in _deliveries(entries)]

    async def ack(self, stream: str, group: str, ids: Sequence[str]) -> None:
        if ids:
            await self._redis.xack(PREFIX + stream, group, *ids)

    async def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        await self._ensure_group(stream, group)
        try:
            reply: list[Any] = await self._redis.xautoclaim(
                PREFIX + stream, group, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
            )
        except ResponseError as exc:
            self._forget_group_if_lost(stream, group, exc)
            raise
        return _deliveries(reply[1])

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
