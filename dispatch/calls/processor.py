"""The background work of calls: device events through the alarm rules, and P1 escalation timers.

The database row is the truth, the bus only a wake-up. Stored events reach the rules three ways, and
whichever comes first claims them (`ingest.claim_events`), so each is processed once:
- the rules stream on the bus (the gateway appends what it stored), read by every process;
- this process's local queue, when the bus could not take the hand-off (`FallbackBus`);
- the sweeper: every process looks for stored events still unprocessed a few seconds after they arrived
  (a failed append, a crash between commit and append, a Redis that lost its streams), and at start-up
  for everything a crash left, in the background, oldest first, batch by batch, never delaying new alarms.
A batch that fails is retried event by event at once; an event that keeps failing is parked with an alert
for the supervisors instead of blocking its neighbours.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.alerts import service as alerts
from dispatch.alerts.models import AlertAudience
from dispatch.bus.base import EventBus, Message
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.calls import alarms, contacts, flows, service
from dispatch.calls.conditions import QuietHours
from dispatch.clock import Clock
from dispatch.elders.models import Contact
from dispatch.ingest import service as ingest
from dispatch.ingest.events import RULES_STREAM, EventType
from dispatch.ingest.models import DeviceEvent
from dispatch.notify.service import SmsOptions
from dispatch.orders import service as orders
from dispatch.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

RULES_GROUP = "alarm-rules"
OUTBOX_IN_CHINESE = SmsOptions(through_gateway=False, language="zh")
MAX_SLEEP_SECONDS = 1.0
BATCH = 200  # events per transaction
# A full sweep may have found events other processes hold (SKIP LOCKED): look again after a pause, never
# spin on them.
BETWEEN_FULL_SWEEPS_SECONDS = 0.05


class CallProcessor:
    """One per server process: applies the rules to stored events, and escalates."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        *,
        consumer: str,
        p1_ack_seconds: int,
        sms: SmsOptions = OUTBOX_IN_CHINESE,
        recovery_hours: int = 24,
        sweep_after_seconds: float = 3.0,
        sweep_every_seconds: float = 1.0,
        park_after_attempts: int = 5,
        consumers: int = 1,
        quiet: QuietHours | None = None,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._consumer = consumer
        self._p1_ack_seconds = p1_ack_seconds
        self._sms = sms
        self._recovery_hours = recovery_hours
        self._sweep_after = timedelta(seconds=sweep_after_seconds)
        self._sweep_every = sweep_every_seconds
        self._park_after = park_after_attempts
        self._consumers = consumers
        self._quiet = quiet
        self._local: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------ processing

    async def process(self, event_ids: Sequence[int]) -> int:
        """Apply the rules to these events; returns how many changed a call. A failed batch is retried
        event by event at once; an event that fails on its own counts an attempt (parked after several).
        A database that cannot be reached is no fault of the events: that raises, nothing is counted."""
        if not event_ids:
            return 0
        try:
            return await self._process_claimed(event_ids)
        except Exception as exc:
            if _unreachable(exc):
                raise
            if len(event_ids) == 1:
                await self._note_failure(event_ids[0], exc)
                return 0
            logger.warning("the rules failed on a batch of %d events; retrying one by one", len(event_ids))
        changed = 0
        for event_id in event_ids:
            changed += await self.process([event_id])
        return changed

    async def _process_claimed(self, event_ids: Sequence[int]) -> int:
        changed = 0
        async with self._sessions() as session:
            try:
                events = await ingest.claim_events(session=session, event_ids=event_ids)
                elder_ids = {e.elder_id for e in events}
                batch = await alarms.load_batch(session=session, elder_ids=elder_ids, quiet=self._quiet)
                known_contacts = await contacts.contacts_of(session=session, elder_ids=elder_ids)
                alarms.judge_events(batch, events)
                opened = await alarms.open_calls_in_bulk(
                    session=session,
                    clock=self._clock,
                    events=events,
                    p1_ack_seconds=self._p1_ack_seconds,
                    batch=batch,
                )
                for event in events:
                    changed += await self._apply(session, event, batch, opened.get(event.id), known_contacts)
                await alarms.save_conditions(session=session, clock=self._clock, batch=batch)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                raise
        return changed

    async def _apply(
        self,
        session: AsyncSession,
        event: DeviceEvent,
        batch: alarms.Batch,
        opened: alarms.AlarmApplied | None,
        known_contacts: dict[int, list[Contact]],
    ) -> bool:
        if event.type == EventType.service_request:
            await orders.take_app_request(
                session=session, clock=self._clock, elder_id=event.elder_id, request=event.data
            )
        applied = opened or await alarms.apply_device_event(
            session=session, clock=self._clock, event=event, p1_ack_seconds=self._p1_ack_seconds, batch=batch
        )
        if applied and applied.became_p1:
            await contacts.alert_contacts(
                session=session,
                clock=self._clock,
                call=applied.call,
                options=self._sms,
                contacts=known_contacts.get(applied.call.elder_id),
            )
        resolved = await self._resolve_if_cleared(session, event, batch)
        return applied is not None or resolved

    async def _resolve_if_cleared(
        self, session: AsyncSession, event: DeviceEvent, batch: alarms.Batch
    ) -> bool:
        """The conditions the event cleared, on the elder's call; a call that was only those resolves."""
        resolving = await alarms.note_cleared(session=session, clock=self._clock, event=event, batch=batch)
        if resolving is None:
            return False
        await flows.move_call(
            session=session,
            clock=self._clock,
            actor=service.SYSTEM,
            call_id=resolving.id,
            target=alarms.SELF_RESOLVABLE[resolving.state],
            options=self._sms,
            outcome=alarms.CLEARED_OUTCOME,
            note="the condition cleared by itself",
        )
        return True

    async def _note_failure(self, event_id: int, exc: Exception) -> None:
        logger.error("the rules failed on device event %d: %r", event_id, exc)
        async with self._sessions() as session:
            parked = await ingest.note_rule_failure(
                session=session,
                now=self._clock.now(),
                event_id=event_id,
                error=repr(exc),
                park_after=self._park_after,
            )
            if parked is not None:
                await alerts.raise_alert(
                    session=session,
                    clock=self._clock,
                    kind="event_parked",
                    key=f"device_event:{event_id}",
                    text=f"设备事件 {event_id}（{parked.type}，老人 {parked.elder_id}）多次处理失败，已搁置，请检查",
                    audience=AlertAudience.supervisors,
                    detail={
                        "event_id": event_id,
                        "event_type": str(parked.type),
                        "elder_id": parked.elder_id,
                        "error": parked.park_reason,
                    },
                )
                logger.error("device event %d parked after %d attempts", event_id, parked.rule_attempts)
            await commit_and_publish(session, self._bus)

    # ------------------------------------------------------------ the three ways in

    async def consume_once(self, *, block_ms: int = 1000, consumer: str | None = None) -> int:
        """Read the stream's new work, process it, acknowledge it (the sweeper covers what fails)."""
        name = consumer or self._consumer
        deliveries = await self._bus.read(RULES_STREAM, RULES_GROUP, name, count=BATCH, block_ms=block_ms)
        if not deliveries:
            return 0
        try:
            await self.process([int(d.message["event_id"]) for d in deliveries])
        finally:
            await self._bus.ack(RULES_STREAM, RULES_GROUP, [d.id for d in deliveries])
        return len(deliveries)

    def take_local(self, message: Message) -> None:
        """Work the bus could not take: processed by this process (`FallbackBus` hands it here)."""
        self._local.put_nowait(int(message["event_id"]))

    async def process_local_once(self) -> int:
        """Process what is in the local queue (waiting for some first); returns how many."""
        ids = [await self._local.get()]
        while not self._local.empty() and len(ids) < BATCH:
            ids.append(self._local.get_nowait())
        await self.process(ids)
        return len(ids)

    async def sweep_once(self, *, everything: bool = False) -> int:
        """Process stored events still unprocessed `sweep_after` seconds after they arrived (all of them when
        `everything`, as at start-up), one batch; returns how many were found."""
        now = self._clock.now()
        async with self._sessions() as session:
            ids = await ingest.unprocessed_event_ids(
                session=session,
                received_from=now - timedelta(hours=self._recovery_hours),
                received_until=now if everything else now - self._sweep_after,
                limit=BATCH,
            )
        if ids:
            logger.warning("sweeper: %d stored device events had not been through the rules", len(ids))
            await self.process(ids)
        return len(ids)

    async def recover(self) -> int:
        """Everything left unprocessed (after a crash), batch by batch; returns how many."""
        total = 0
        while found := await self.sweep_once(everything=True):
            total += found
            if found < BATCH:
                break
            await asyncio.sleep(BETWEEN_FULL_SWEEPS_SECONDS)
        return total

    # ------------------------------------------------------------ escalation

    async def escalate_once(self) -> float:
        """Escalate what is due, open the alarms held over the quiet hours that are due; returns how long to
        sleep before looking again."""
        async with self._sessions() as session:
            escalated = await service.escalate_due(
                session=session, clock=self._clock, p1_ack_seconds=self._p1_ack_seconds
            )
            held = await alarms.open_deferred_due(
                session=session, clock=self._clock, p1_ack_seconds=self._p1_ack_seconds
            )
            upcoming = await service.next_ack_deadline(session=session)
            await commit_and_publish(session, self._bus)
        if escalated:
            logger.warning("%d unacknowledged P1 call(s) escalated", len(escalated))
        if held:
            logger.info("%d alarm(s) held over the quiet hours are calls now", len(held))
        if upcoming is None:
            return MAX_SLEEP_SECONDS
        return min(MAX_SLEEP_SECONDS, max(0.0, (upcoming - self._clock.now()).total_seconds()))

    # ------------------------------------------------------------ tasks

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(
                self._forever(
                    functools.partial(self.consume_once, consumer=f"{self._consumer}-{n}"), idle=0.05
                ),
                name=f"call-rules-{n}",
            )
            for n in range(self._consumers)
        ]
        self._tasks += [
            asyncio.create_task(self._forever(self.process_local_once, idle=0.0), name="call-rules-local"),
            asyncio.create_task(self._sweep(), name="call-rules-sweeper"),
            asyncio.create_task(self._escalate(), name="call-escalation"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _forever(self, step: Callable[[], Awaitable[int]], *, idle: float) -> None:
        while True:
            if not await self._guarded(step) and idle:
                await asyncio.sleep(idle)

    async def _sweep(self) -> None:
        await self._guarded(self.recover)
        while True:
            found = await self._guarded(self.sweep_once)
            await asyncio.sleep(BETWEEN_FULL_SWEEPS_SECONDS if found >= BATCH else self._sweep_every)

    async def _escalate(self) -> None:
        while True:
            delay = await self._guarded(self.escalate_once)
            await asyncio.sleep(delay if delay else MAX_SLEEP_SECONDS)

    async def _guarded(self, step: Callable[[], Awaitable[float]]) -> float:
        try:
            return float(await step())
        except Exception:
            logger.exception("call processing step failed; retrying")
            await asyncio.sleep(1)
            return 0.0


def _unreachable(exc: BaseException) -> bool:
    """The database (not the event) is the problem: a lost or refused connection, a lock not granted."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, OSError | TimeoutError)
