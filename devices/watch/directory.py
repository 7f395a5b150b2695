"""A short-lived cache of registered devices, so thousands of frames a second cost no lookups each, and
a reconnect storm (every watch at once after a restart) costs a few hundred-IMEI queries, not one each."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.ingest import service
from dispatch.ingest.service import DeviceRef

logger = logging.getLogger(__name__)

LOOKUP_BATCH = 500


class DeviceDirectory:
    """IMEI → registered device (or None), each answer kept for `ttl` seconds.

    Unknown IMEIs are cached too, so a flood from an unregistered device does not reach the database.
    A device disabled through the API is refused within `ttl` seconds. Lookups that miss the cache at
    the same moment are answered together by one query.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._entries: dict[str, tuple[float, DeviceRef | None]] = {}
        self._waiting: dict[str, asyncio.Future[DeviceRef | None]] = {}
        self._fetcher: asyncio.Task[None] | None = None

    async def lookup(self, imei: str) -> DeviceRef | None:
        loop = asyncio.get_running_loop()
        cached = self._entries.get(imei)
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        waiting = self._waiting.get(imei)
        if waiting is None:
            waiting = self._waiting[imei] = loop.create_future()
            if self._fetcher is None or self._fetcher.done():
                self._fetcher = asyncio.create_task(self._fetch())
        return await asyncio.shield(waiting)

    async def _fetch(self) -> None:
        await asyncio.sleep(0)  # let the lookups of this moment gather
        while self._waiting:
            batch = list(self._waiting)[:LOOKUP_BATCH]
            try:
                async with self._sessions() as session:
                    found = await service.find_devices(session=session, imeis=batch)
            except Exception as exc:
                logger.exception("looking up %d devices failed", len(batch))
                for imei in batch:
                    self._waiting.pop(imei).set_exception(exc)
                continue
            expires = asyncio.get_running_loop().time() + self._ttl
            if len(self._entries) > 200_000:
                self._entries.clear()
            for imei in batch:
                self._entries[imei] = (expires, found.get(imei))
                self._waiting.pop(imei).set_result(found.get(imei))
