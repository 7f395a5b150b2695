"""The background work of calls: device events through the alarm rules (at least once, idempotent),
the recovery pass at start, and P1 escalation timers (deadlines stored in the database)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.calls import contacts, service
from dispatch.clock import Clock
from dispatch.ingest.events import RULE_EVENT_TYPES, RULES_STREAM, EventType
from dispatch.ingest.models import DeviceEvent
from dispatch.notify.service import SmsOptions
from dispatch.orders import service as orders

logger = logging.getLogger(__name__)

RULES_GROUP = "alarm-rules"
OUTBOX_IN_CHINESE = SmsOptions(through_gateway=False, language="zh")
MAX_SLEEP_SECONDS = 1.0


class CallProcessor:
    """One per server process: consumes the device-event stream, recovers what a crash left, escalates."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        *,
        consumer: str,
        p1_ack_seconds: int,
        sms: SmsOptions = OUTBOX_IN_CHINESE,
        reclaim_after_ms: int = 30_000,
        recovery_hours: int = 24,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._consumer = consumer
        self._p1_ack_seconds = p1_ack_seconds
        self._sms = sms
        self._reclaim_after_ms = reclaim_after_ms
        self._recovery_hours = recovery_hours
        self._tasks: list[asyncio.Task[None]] = []

    async def process(self, event_ids: Sequence[int]) -> int:
        """Apply the rules to these events in one transaction; returns how many changed a call."""
        changed = 0
        async with self._sessions() as session:
            try:
                events = list(await session.scalars(select(DeviceEvent).where(DeviceEvent.id.in_(event_ids))))
                await service.load_elders(session=session, elder_ids={e.elder_id for e in events})
                for event in sorted(events, key=lambda e: e.id):
                    new_request = event.processed_at is None and event.type == EventType.service_request
                    applied = await service.apply_device_event(
                        session=session, clock=self._clock, event=event, p1_ack_seconds=self._p1_ack_seconds
                    )
                    if new_request:
                        await orders.take_app_request(
                            session=session, clock=self._clock, elder_id=event.elder_id, request=event.data
                        )
                    changed += applied is not None
                    if applied and applied.became_p1:
                        await contacts.alert_contacts(
                            session=session, clock=self._clock, call=applied.call, options=self._sms
                        )
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                raise
        return changed

    async def consume_once(self, *, block_ms: int = 1000) -> int:
        """Take over stale work of dead consumers, read new work, process it, acknowledge it."""
        deliveries = await self._bus.reclaim(
            RULES_STREAM, RULES_GROUP, self._consumer, min_idle_ms=self._reclaim_after_ms
        )
        if not deliveries:
            deliveries = await self._bus.read(RULES_STREAM, RULES_GROUP, self._consumer, block_ms=block_ms)
        if not deliveries:
            return 0
        await self.process([int(d.message["event_id"]) for d in deliveries])
        await self._bus.ack(RULES_STREAM, RULES_GROUP, [d.id for d in deliveries])
        return len(deliveries)

    async def recover(self) -> int:
        """Process the recent events that were stored but never went through the rules (a crash between
        the commit and the processing); returns how many."""
        since = self._clock.now() - timedelta(hours=self._recovery_hours)
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(DeviceEvent.id)
                    .where(
                        DeviceEvent.processed_at.is_(None),
                        DeviceEvent.received_at >= since,
                        DeviceEvent.type.in_(RULE_EVENT_TYPES),
                    )
                    .order_by(DeviceEvent.id)
                )
            )
        for start in range(0, len(ids), 200):
            await self.process(ids[start : start + 200])
        if ids:
            logger.info("recovery: %d device events went through the alarm rules after a restart", len(ids))
        return len(ids)

    async def escalate_once(self) -> float:
        """Escalate what is due; returns how long to sleep before looking again."""
        async with self._sessions() as session:
            escalated = await service.escalate_due(
                session=session, clock=self._clock, p1_ack_seconds=self._p1_ack_seconds
            )
            upcoming = await service.next_ack_deadline(session=session)
            await commit_and_publish(session, self._bus)
        if escalated:
            logger.warning("%d unacknowledged P1 call(s) escalated", len(escalated))
        if upcoming is None:
            return MAX_SLEEP_SECONDS
        return min(MAX_SLEEP_SECONDS, max(0.0, (upcoming - self._clock.now()).total_seconds()))

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._consume(), name="call-rules"),
            asyncio.create_task(self._escalate(), name="call-escalation"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _consume(self) -> None:
        await self._guarded(self.recover)
        while True:
            if not await self._guarded(self.consume_once):
                await asyncio.sleep(0.05)

    async def _escalate(self) -> None:
        while True:
            delay = await self._guarded(self.escalate_once)
            await asyncio.sleep(delay if delay else MAX_SLEEP_SECONDS)

    async def _guarded(self, step: object) -> float:
        try:
            return float(await step())  # type: ignore[operator]
        except Exception:
            logger.exception("call processing step failed; retrying")
            await asyncio.sleep(1)
            return 0.0
