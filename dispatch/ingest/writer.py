"""Group commit: device messages arriving within a few milliseconds share one transaction, and each
sender learns only after the commit that its message is durable (then, and only then, it acks)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.ingest import service
from dispatch.ingest.service import StoreResult, Submission

logger = logging.getLogger(__name__)

_Item = tuple[Submission, asyncio.Future[StoreResult]]  # a None in the queue means stop


class EventWriter:
    """Collects submissions for up to `max_delay` seconds or `max_size` items, stores them in one
    transaction, then resolves every submitter's future (or fails them all, so nothing is acked)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_delay: float,
        max_size: int,
        silent_after: int,
    ) -> None:
        self._sessions = sessions
        self._max_delay = max_delay
        self._max_size = max_size
        self._silent_after = silent_after
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.stored_events = 0

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="event-writer")

    async def stop(self) -> None:
        """Store everything submitted so far, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def submit(self, submission: Submission) -> StoreResult:
        """Resolves once the submission's events are committed; raises if they could not be."""
        if self._task is None:
            raise RuntimeError("the event writer is not running")
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        await self._queue.put((submission, future))
        return await future

    def _take(self, item: _Item | None, batch: list[_Item]) -> None:
        if item is None:
            self._stopping = True
        else:
            batch.append(item)

    async def _collect(self) -> list[_Item]:
        batch: list[_Item] = []
        self._take(await self._queue.get(), batch)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_delay
        while len(batch) < self._max_size and not self._stopping:
            if not self._queue.empty():
                self._take(self._queue.get_nowait(), batch)
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                self._take(await asyncio.wait_for(self._queue.get(), remaining), batch)
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        while not self._stopping:
            batch = await self._collect()
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[_Item]) -> None:
        live = [(submission, future) for submission, future in batch if not future.done()]
        if not live:
            return
        try:
            results = await self._store([submission for submission, _ in live])
        except Exception:
            if len(live) == 1:
                logger.exception(
                    "storing a message of device %s failed; not acknowledged", live[0][0].device.imei
                )
                live[0][1].set_exception(RuntimeError("the message could not be stored"))
                return
            # One bad message must not fail its neighbours: store them one by one.
            logger.warning("storing a batch of %d messages failed; retrying them one by one", len(live))
            for item in live:
                await self._write([item])
            return
        self.batches += 1
        for (_, future), result in zip(live, results, strict=True):
            self.stored_events += len(result.new_event_ids)
            if not future.done():
                future.set_result(result)

    async def _store(self, submissions: list[Submission]) -> list[StoreResult]:
        async with self._sessions() as session:
            results = await service.store(
                session=session, submissions=submissions, silent_after=self._silent_after
            )
            await session.commit()
        return results
