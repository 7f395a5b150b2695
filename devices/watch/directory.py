"""A short-lived cache of registered devices, so thousands of frames a second cost no lookups each."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.ingest import service
from dispatch.ingest.service import DeviceRef


class DeviceDirectory:
    """IMEI → registered device (or None), each answer kept for `ttl` seconds.

    Unknown IMEIs are cached too, so a flood from an unregistered device does not reach the database.
    A device disabled through the API is refused within `ttl` seconds.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, ttl: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._entries: dict[str, tuple[float, DeviceRef | None]] = {}

    async def lookup(self, imei: str) -> DeviceRef | None:
        now = asyncio.get_running_loop().time()
        cached = self._entries.get(imei)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._sessions() as session:
            device = await service.find_device(session=session, imei=imei)
        if len(self._entries) > 200_000:
            self._entries.clear()
        self._entries[imei] = (now + self._ttl, device)
        return device

    def forget(self, imei: str) -> None:
        """Drop a cached answer (after the device was registered, changed or disabled here)."""
        self._entries.pop(imei, None)
