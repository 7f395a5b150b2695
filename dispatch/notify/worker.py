"""The sender worker: sends pending messages after their transaction commits, once across processes,
retrying what the gateway could not take, and telling the domains about messages that failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish
from dispatch.clock import Clock
from dispatch.notify import service
from dispatch.notify.models import SmsMessage, SmsStatus
from dispatch.notify.sender import SendFailed, SmsSender

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SENDING_STALE_AFTER = timedelta(seconds=60)  # a claim older than this belonged to a sender that died
CONCURRENT_SENDS = 8
POLL_SECONDS = 2.0  # a safety net: new messages normally wake the worker through the bus

# What the domains do when a message could not be delivered (an offer nobody got, a contact not reached).
FailureHandler = Callable[[AsyncSession, SmsMessage], Awaitable[None]]


class SmsWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        sender: SmsSender,
        *,
        status_callback_url: str | None,
        on_failed: FailureHandler,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._sender = sender
        self._status_callback_url = status_callback_url
        self._on_failed = on_failed
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="sms-wake"),
            asyncio.create_task(self._run(), name="sms-send"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def send_pending(self) -> int:
        """Send everything waiting; returns how many were handed to the gateway."""
        async with self._sessions() as session:
            ids = await service.pending_ids(
                session=session, stale_before=self._clock.now() - SENDING_STALE_AFTER
            )
            await service.release_stale(
                session=session, clock=self._clock, stale_before=self._clock.now() - SENDING_STALE_AFTER
            )
            await session.commit()
        # Several at a time: each send waits on the gateway's HTTP round trip, not on this process.
        slots = asyncio.Semaphore(CONCURRENT_SENDS)

        async def send(sms_id: int) -> bool:
            async with slots:
                return await self._send_one(sms_id)

        return sum(await asyncio.gather(*(send(sms_id) for sms_id in ids)))

    async def _send_one(self, sms_id: int) -> bool:
        async with self._sessions() as session:
            message = await service.claim(session=session, clock=self._clock, sms_id=sms_id)
            await session.commit()
        if message is None:
            return False
        try:
            # Our id rides along in the callback URL: a report can arrive before the sid below is stored.
            callback = (
                f"{self._status_callback_url}?sms_id={message.id}" if self._status_callback_url else None
            )
            result = await self._sender.send(
                to=message.to_number, body=message.body, status_callback=callback
            )
        except SendFailed as exc:
            await self._failed(message, exc)
            return False
        async with self._sessions() as session:
            await service.note_sent(session=session, clock=self._clock, sms_id=message.id, sid=result.sid)
            await session.commit()
        return True

    async def _failed(self, message: SmsMessage, exc: SendFailed) -> None:
        final = exc.permanent or message.attempts >= MAX_ATTEMPTS
        logger.warning(
            "SMS %d to %s not sent (%s, code %s)%s",
            message.id,
            message.to_number[:-4] + "****",
            exc,
            exc.code,
            "" if final else "; will retry",
        )
        async with self._sessions() as session:
            stored = await session.get(SmsMessage, message.id)
            if stored is None:
                return
            stored.status = SmsStatus.failed if final else SmsStatus.pending
            stored.error_code, stored.updated_at = exc.code, self._clock.now()
            if final:
                await self._on_failed(session, stored)
            await commit_and_publish(session, self._bus)

    async def _listen(self) -> None:
        while True:
            try:
                subscription = await self._bus.subscribe(service.SMS_CHANNEL)
                async for _ in subscription:
                    self._wake.set()
            except Exception:
                logger.exception("SMS worker: bus subscription broke; polling until it is back")
                await asyncio.sleep(1.0)

    async def _run(self) -> None:
        while True:
            try:
                await self.send_pending()
            except Exception:
                logger.exception("SMS worker: sending failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
