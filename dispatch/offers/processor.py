"""The offers' timer: expires unanswered offers at their stored deadlines and moves each job on. Every
process runs one; the conditional UPDATE in `expire_due` makes each expiry happen once."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.clock import Clock
from dispatch.notify.service import SmsOptions
from dispatch.offers import service
from dispatch.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 1.0


class OfferProcessor:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], bus: EventBus, clock: Clock, *, options: SmsOptions
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._options = options
        self._task: asyncio.Task[None] | None = None

    async def expire_once(self) -> float:
        """Expire what is due; returns how long to sleep before looking again."""
        async with self._sessions() as session:
            try:
                expired = await service.expire_due(session=session, clock=self._clock, options=self._options)
                upcoming = await service.next_deadline(session=session)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                raise
        if expired:
            logger.info("%d unanswered offer(s) expired", expired)
        if upcoming is None:
            return MAX_SLEEP_SECONDS
        return min(MAX_SLEEP_SECONDS, max(0.0, (upcoming - self._clock.now()).total_seconds()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="offer-expiry")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.expire_once()
            except Exception:
                logger.exception("offer expiry failed; retrying")
                delay = 1.0
            await asyncio.sleep(delay)
