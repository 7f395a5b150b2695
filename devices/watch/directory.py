"""A short-lived cache of registered devices, so thousands of frames a second cost no lookups each, and
a reconnect storm (every watch at once after a restart) costs a few hundred-IMEI queries, not one each.

A device registered, rebound or disabled in any process is announced on the bus (`DEVICE_CHANGES_CHANNEL`)
and every process's cache forgets it at once; the time-to-live is the safety net for announcements missed
while the bus was away (the cache is also emptied whenever its subscription is (re)established)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.ingest import service
from dispatch.ingest.events import DEVICE_CHANGES_CHANNEL
from dispatch.ingest.service import DeviceRef
from dispatch.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

LOOKUP_BATCH = 500
RESUBSCRIBE_AFTER_SECONDS = 1.0


class DeviceDirectory:
    """IMEI → registered device (or None), each answer kept for `ttl` seconds or until the device changes.

    Unknown IMEIs are cached too, so a flood from an unregistered device does not reach the database.
    Lookups that miss the cache at the same moment are answered together by one query.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, bus: EventBus | None = None, ttl: float = 30.0
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._ttl = ttl
        self._entries: dict[str, tuple[float, DeviceRef | None]] = {}
        self._waiting: dict[str, asyncio.Future[DeviceRef | None]] = {}
        self._fetcher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._changes = 0  # counts forgets: a fetch that overlapped one does not cache what it read

    def start(self) -> None:
        """Follow device changes announced on the bus (without a bus, only the time-to-live applies)."""
        if self._bus is not None:
            self._listener = asyncio.create_task(self._listen(), name="device-directory")

    async def stop(self) -> None:
        await cancel_and_wait([self._listener])
        self._listener = None

    def forget(self, imei: str | None = None) -> None:
        """Drop one device's cached answer (every answer when `imei` is None)."""
        self._changes += 1
        if imei is None:
            self._entries.clear()
        else:
            self._entries.pop(imei, None)

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
            changes = self._changes
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
                if changes == self._changes:  # else the row may have changed after it was read
                    self._entries[imei] = (expires, found.get(imei))
                self._waiting.pop(imei).set_result(found.get(imei))

    async def _listen(self) -> None:
        assert self._bus is not None  # noqa: S101 - started only with a bus
        while True:
            try:
                subscription = await self._bus.subscribe(DEVICE_CHANGES_CHANNEL)
            except Exception:
                logger.warning("device directory: cannot subscribe to device changes; retrying")
                await asyncio.sleep(RESUBSCRIBE_AFTER_SECONDS)
                continue
            self.forget()  # changes announced while nobody listened are lost: start afresh
            try:
                async for message in subscription:
                    imei = message.get("imei")
                    self.forget(imei if isinstance(imei, str) else None)
            except Exception:
                logger.warning("device directory: the subscription to device changes broke; resubscribing")
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()
            self.forget()
            await asyncio.sleep(RESUBSCRIBE_AFTER_SECONDS)
