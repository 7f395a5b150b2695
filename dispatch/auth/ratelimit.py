"""Login throttling.

Failed logins are counted per (username, client address): after `free_failures` failures that pair waits,
twice as long after each further failure, up to a ceiling; a success starts it afresh and an hour without
failures forgets it. Someone guessing elsewhere therefore never locks an agent out, and the account itself
is never locked. A broad cap on failures per address (`limits`) slows one address spraying many usernames.

The counts live in Redis when it is configured (shared by every server process), else in this process.
Waits are measured on the injected clock.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Protocol

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from dispatch.clock import Clock
from dispatch.errors import RateLimited

MEMORY_KEYS_MAX = 100_000  # past this, the memory store drops counts older than `forget_after`


@dataclass(frozen=True, slots=True)
class Failures:
    """How often a key failed, and when last (Unix seconds on the app's clock)."""

    count: int
    last_at: float


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Pure: how long a key waits after its failures."""

    free_failures: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 900.0
    forget_after_seconds: float = 3600.0

    def wait_after(self, failures: int) -> float:
        """Seconds to wait after this many failures in a row."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_seconds, self.base_seconds * 2.0 ** (failures - self.free_failures))

    def seconds_left(self, failures: Failures | None, now: float) -> float:
        """How much longer the key must wait now (0: it may try)."""
        if failures is None or self.forgotten(failures, now):
            return 0.0
        return max(0.0, failures.last_at + self.wait_after(failures.count) - now)

    def forgotten(self, failures: Failures, now: float) -> bool:
        return now - failures.last_at >= self.forget_after_seconds


class FailureStore(Protocol):
    """Where failure counts are kept."""

    async def get(self, key: str) -> Failures | None: ...

    async def add(self, key: str, at: float, keep_seconds: int) -> None: ...

    async def clear(self, key: str) -> None: ...


class MemoryFailureStore:
    """Counts of this process only (the embedded default: one process)."""

    def __init__(self) -> None:
        self._failures: dict[str, Failures] = {}

    async def get(self, key: str) -> Failures | None:
        return self._failures.get(key)

    async def add(self, key: str, at: float, keep_seconds: int) -> None:
        if len(self._failures) >= MEMORY_KEYS_MAX:
            self._failures = {k: f for k, f in self._failures.items() if at - f.last_at < keep_seconds}
        previous = self._failures.get(key)
        self._failures[key] = Failures((previous.count if previous else 0) + 1, at)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class RedisFailureStore:
    """Counts shared by every server process through Redis (one hash per key, expiring when forgotten)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @staticmethod
    def _name(key: str) -> str:
        return f"dispatch:login-failures:{key}"

    async def get(self, key: str) -> Failures | None:
        count, last_at = await self._redis.hmget(self._name(key), ["count", "last_at"])
        if count is None or last_at is None:
            return None
        return Failures(int(count), float(last_at))

    async def add(self, key: str, at: float, keep_seconds: int) -> None:
        name = self._name(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(name, "count", 1)
            pipe.hset(name, "last_at", repr(at))
            pipe.expire(name, keep_seconds)
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self._redis.delete(self._name(key))

    async def close(self) -> None:
        await self._redis.aclose()


class LoginThrottle:
    """Refuses a login while its (username, address) waits, or while the address is over its cap."""

    def __init__(
        self,
        *,
        store: FailureStore,
        policy: BackoffPolicy,
        clock: Clock,
        address_limiter: MovingWindowRateLimiter,
        address_limit: str,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._address_limiter = address_limiter
        self._address_limit = parse(address_limit)

    @staticmethod
    def _key(username: str, ip: str | None) -> str:
        pair = f"{username.strip().lower()}\n{ip or 'unknown'}"
        return hashlib.sha256(pair.encode()).hexdigest()

    async def check(self, username: str, ip: str | None) -> None:
        """RateLimited (with the seconds to wait) unless this login may be tried now."""
        if not await self._address_limiter.test(self._address_limit, "login", f"ip:{ip or 'unknown'}"):
            raise RateLimited("too many failed logins from this address; try again later")
        failures = await self._store.get(self._key(username, ip))
        wait = self._policy.seconds_left(failures, self._now())
        if wait > 0:
            seconds = math.ceil(wait)
            raise RateLimited(
                f"too many failed logins; try again in {seconds} s", detail={"retry_after": seconds}
            )

    async def record_failure(self, username: str, ip: str | None) -> None:
        key, now = self._key(username, ip), self._now()
        failures = await self._store.get(key)
        if failures is not None and self._policy.forgotten(failures, now):
            await self._store.clear(key)
        await self._store.add(key, now, int(self._policy.forget_after_seconds))
        await self._address_limiter.hit(self._address_limit, "login", f"ip:{ip or 'unknown'}")

    async def record_success(self, username: str, ip: str | None) -> None:
        await self._store.clear(self._key(username, ip))

    def _now(self) -> float:
        return self._clock.now().timestamp()
