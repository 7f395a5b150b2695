"""Login throttling: failed attempts are counted per username and per client address."""

from __future__ import annotations

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from dispatch.errors import RateLimited


class LoginThrottle:
    """Refuses logins for a key that has failed too often within the window."""

    def __init__(self, limiter: MovingWindowRateLimiter, limit: str) -> None:
        self._limiter = limiter
        self._limit = parse(limit)

    @staticmethod
    def _keys(username: str, ip: str | None) -> list[str]:
        return [f"user:{username.lower()}", f"ip:{ip or 'unknown'}"]

    async def check(self, username: str, ip: str | None) -> None:
        """RateLimited if either key is over the limit."""
        for key in self._keys(username, ip):
            if not await self._limiter.test(self._limit, "login", key):
                raise RateLimited("too many failed logins; try again later")

    async def record_failure(self, username: str, ip: str | None) -> None:
        for key in self._keys(username, ip):
            await self._limiter.hit(self._limit, "login", key)
