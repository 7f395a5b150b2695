"""Group commit: device messages arriving together share one database round trip, and each sender
learns only after the commit that its message is durable (then, and only then, it acknowledges).

Several writers run at once on PostgreSQL, each taking whatever has queued up while it was busy: at low
load a message is written alone at once, at high load batches grow by themselves. SQLite has one writer.
The events are written in autocommit mode (one round trip per batch, each event idempotent by its key);
the devices' last-seen state is not on this path: `DeviceStateFlusher` writes it a moment later.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.bus.base import EventBus
from dispatch.ingest import service
from dispatch.ingest.events import RULES_STREAM
from dispatch.ingest.service import StoreResult, Submission
from dispatch.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

_Item = tuple[Submission, asyncio.Future[StoreResult]]  # a None in the queue tells one writer to stop


class DeviceStateFlusher:
    """Keeps the newest sighting of each device and writes them all every `interval` seconds."""

    def __init__(self, engine: AsyncEngine, *, silent_after: int, interval: float) -> None:
        self._engine = engine
        self._silent_after = silent_after
        self._interval = interval
        self._pending: dict[int, Submission] = {}
        self._task: asyncio.Task[None] | None = None

    def note(self, submissions: list[Submission]) -> None:
        for submission in submissions:
            self._pending[submission.device.id] = submission

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self._engine.begin() as connection:
                await service.touch_devices(
                    connection=connection, submissions=list(pending.values()), silent_after=self._silent_after
                )
        except Exception:
            logger.exception("updating the last-seen state of %d devices failed; will retry", len(pending))
            self._pending = {**pending, **self._pending}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="device-state-flusher")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()


class EventWriter:
    """Stores submissions in batches and resolves every submitter's future after the commit (or fails
    it, so nothing is acknowledged that is not stored)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_delay: float,
        max_size: int,
        silent_after: int,
        concurrency: int = 1,
        device_state_interval: float = 1.0,
        bus: EventBus | None = None,
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._max_delay = max_delay
        self._max_size = max_size
        self._concurrency = concurrency
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.devices = DeviceStateFlusher(engine, silent_after=silent_after, interval=device_state_interval)
        self.batches = 0
        self.stored_events = 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name=f"event-writer-{n}") for n in range(self._concurrency)
        ]
        self.devices.start()

    async def stop(self) -> None:
        """Store everything submitted so far, then stop."""
        if not self._tasks:
            return
        for _ in self._tasks:
            await self._queue.put(None)
        await asyncio.gather(*self._tasks)
        self._tasks = []
        await self.devices.stop()

    def enqueue(self, submission: Submission) -> asyncio.Future[StoreResult]:
        """A future resolved once the submission's events are committed (or failed if they could not be)."""
        if not self._tasks:
            raise RuntimeError("the event writer is not running")
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((submission, future))
        return future

    async def submit(self, submission: Submission) -> StoreResult:
        """Store one submission with the next batch and return once it is committed."""
        return await self.enqueue(submission)

    async def _collect(self) -> tuple[list[_Item], bool]:
        """A batch, and whether this writer was told to stop."""
        first = await self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_delay
        while len(batch) < self._max_size:
            if self._queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item = await self._queue.get()
                except TimeoutError:
                    break
            else:
                item = self._queue.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await self._collect()
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
        self.devices.note([submission for submission, _ in live])
        for (_, future), result in zip(live, results, strict=True):
            self.stored_events += len(result.new_event_ids)
            if not future.done():
                future.set_result(result)
        await self._hand_to_rules(results)

    async def _hand_to_rules(self, results: list[StoreResult]) -> None:
        """After the acknowledgements: wake the alarm rules for the new events (one round trip). Whatever
        happens to this hand-off, the sweeper finds them: they stay unprocessed in the database."""
        if self._bus is None:
            return
        work = service.rule_work(results)
        if not work:
            return
        try:
            await self._bus.append_many(RULES_STREAM, work)
        except Exception:
            logger.exception("queueing device events for the alarm rules failed; recovery will pick them up")

    async def _store(self, submissions: list[Submission]) -> list[StoreResult]:
        async with self._engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return await service.insert_events(connection=autocommit, submissions=submissions)
