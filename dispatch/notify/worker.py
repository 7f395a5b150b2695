"""The sender worker: sends pending messages after their transaction commits, once across processes;
retries what the gateway could not take, with backoff within each purpose's time budget (the next attempt
is stored on the message, so a restart loses no retry and no process sleeps on one); tells the domains
about messages that failed for good, and about messages whose delivery report is overdue."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.clock import Clock
from dispatch.notify import service
from dispatch.notify.models import SmsMessage, SmsStatus
from dispatch.notify.retry import RetryPolicy
from dispatch.notify.sender import SendFailed, SmsSender
from dispatch.tasks import cancel_and_wait, set_within

logger = logging.getLogger(__name__)

# A message the gateway took with no report for this long: its report was lost; ask the gateway.
REPORT_LOST_AFTER = timedelta(seconds=120)
SENDING_STALE_AFTER = timedelta(seconds=60)  # a claim older than this belonged to a sender that died
CONCURRENT_SENDS = 8
POLL_SECONDS = 2.0  # a safety net: new messages normally wake the worker through the bus
REPORTS_EVERY_SECONDS = 1.0

# What the domains do with a message: one that could not be delivered (an offer nobody got, a contact not
# reached), or one whose delivery report did not come in time (the contact chain moves on).
MessageHandler = Callable[[AsyncSession, SmsMessage], Awaitable[None]]


async def _nothing(_session: AsyncSession, _message: SmsMessage) -> None:
    return None


class SmsWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        sender: SmsSender,
        *,
        status_callback_url: str | None,
        on_settled: MessageHandler,
        on_report_overdue: MessageHandler = _nothing,
        policy: RetryPolicy | None = None,
        jitter: Callable[[], float] = random.random,
        report_lost_after: timedelta = REPORT_LOST_AFTER,
        sending_stale_after: timedelta = SENDING_STALE_AFTER,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._sender = sender
        self._status_callback_url = status_callback_url
        self._on_settled = on_settled
        self._on_report_overdue = on_report_overdue
        self._policy = policy or RetryPolicy()
        self._jitter = jitter
        self._report_lost_after = report_lost_after
        self._sending_stale_after = sending_stale_after
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="sms-wake"),
            asyncio.create_task(self._run(), name="sms-send"),
            asyncio.create_task(self._chase_reports(), name="sms-reports"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def send_pending(self) -> int:
        """Send everything due, a claimed batch at a time; returns how many were handed to the gateway."""
        sent = 0
        while batch := await self._claim_batch():
            # All of a batch at once: each send waits on the gateway's HTTP round trip, not on this process,
            # and a claimed message is in flight at once (a claim older than SENDING_STALE_AFTER is retaken).
            sent += sum(await asyncio.gather(*(self._send_one(message) for message in batch)))
            if len(batch) < CONCURRENT_SENDS:
                break
        return sent

    async def _claim_batch(self) -> list[SmsMessage]:
        now = self._clock.now()
        async with self._sessions() as session:
            batch = await service.claim_due(
                session=session,
                clock=self._clock,
                stale_before=now - self._sending_stale_after,
                limit=CONCURRENT_SENDS,
            )
            await session.commit()
        return batch

    async def settle_overdue_reports(self) -> int:
        """Hand each message whose report deadline has passed to the domains, once across processes."""
        async with self._sessions() as session:
            ids = await service.overdue_reports(session=session, now=self._clock.now())
        settled = 0
        for sms_id in ids:
            try:
                settled += await self._settle_overdue(sms_id)
            except Exception:
                logger.exception("SMS %d: acting on its overdue delivery report failed", sms_id)
        return settled

    async def run_once(self) -> None:
        """One pass of both timers (tests): act on overdue reports (which may queue messages), send what is
        due, ask the gateway about messages whose reports were lost."""
        await self.settle_overdue_reports()
        await self.send_pending()
        await self.ask_for_lost_reports()

    async def ask_for_lost_reports(self) -> int:
        """Fetch the status of messages quiet for `report_lost_after` (several at a time) and apply it as a
        report; returns how many changed."""
        async with self._sessions() as session:
            ids = await service.unreported(
                session=session, now=self._clock.now(), quiet_for=self._report_lost_after
            )
        slots = asyncio.Semaphore(CONCURRENT_SENDS)

        async def ask(sms_id: int) -> bool:
            async with slots:
                try:
                    return await self._ask_for_report(sms_id)
                except Exception:
                    logger.exception("SMS %d: asking the gateway for its status failed", sms_id)
                    return False

        return sum(await asyncio.gather(*(ask(sms_id) for sms_id in ids)))

    async def _ask_for_report(self, sms_id: int) -> bool:
        async with self._sessions() as session:
            now = self._clock.now()
            sid = await service.claim_status_check(
                session=session, now=now, sms_id=sms_id, quiet_for=self._report_lost_after
            )
            await session.commit()
        if sid is None:
            return False
        found = await self._sender.fetch(sid)
        try:
            status = SmsStatus(found.status)
        except ValueError:
            return False  # a state we do not track (accepted, scheduled ...)
        async with self._sessions() as session:
            try:
                message = await service.record_status(
                    session=session, clock=self._clock, sid=sid, status=status, error_code=found.error_code
                )
                if message is not None:
                    await self._on_settled(session, message)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                raise
        return message is not None

    async def _settle_overdue(self, sms_id: int) -> bool:
        async with self._sessions() as session:
            try:
                if not await service.settle_report(session=session, sms_id=sms_id):
                    return False
                message = await session.get(SmsMessage, sms_id)
                if message is not None:
                    await self._on_report_overdue(session, message)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                raise
        return True

    async def _send_one(self, message: SmsMessage) -> bool:
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
        retry_at = None
        if not exc.permanent:
            retry_at = self._policy.next_attempt(
                purpose=message.purpose,
                queued_at=message.created_at,
                attempts=message.attempts,
                now=self._clock.now(),
                retry_after=exc.retry_after,
                jitter=self._jitter(),
            )
        logger.warning(
            "SMS %d to %s not sent (attempt %d: %s, code %s); %s",
            message.id,
            message.to_number[:-4] + "****",
            message.attempts,
            exc,
            exc.code,
            f"next attempt at {retry_at.isoformat()}" if retry_at else "failed for good",
        )
        async with self._sessions() as session:
            if retry_at is not None:
                await service.retry_later(
                    session=session,
                    clock=self._clock,
                    sms_id=message.id,
                    at=retry_at,
                    code=exc.code,
                    reason=str(exc),
                )
                await session.commit()
                return
            reason = str(exc) if exc.permanent else f"gave up after {message.attempts} attempt(s): {exc}"
            try:
                failed = await service.fail(
                    session=session, clock=self._clock, sms_id=message.id, code=exc.code, reason=reason
                )
                if failed is not None:
                    await self._on_settled(session, failed)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                raise

    async def _listen(self) -> None:
        while True:
            try:
                subscription = await self._bus.subscribe(service.SMS_CHANNEL)
                async for _ in subscription:
                    self._wake.set()
            except Exception:
                logger.exception("SMS worker: bus subscription broke; polling until it is back")
                await asyncio.sleep(1.0)

    async def _pause(self) -> float:
        """Seconds until the next retry or report deadline falls due, at most the poll interval."""
        async with self._sessions() as session:
            due = await service.next_due(session=session)
        if due is None:
            return POLL_SECONDS
        return min(POLL_SECONDS, max(0.5, (due - self._clock.now()).total_seconds()))

    async def _run(self) -> None:
        """Sending, woken by new messages; never held up by the slower chase for reports."""
        while True:
            pause = POLL_SECONDS
            try:
                await self.send_pending()
                pause = await self._pause()
            except Exception:
                logger.exception("SMS worker: sending failed; retrying")
            await set_within(self._wake, pause)
            self._wake.clear()

    async def _chase_reports(self) -> None:
        """Overdue delivery reports handed to the domains (which may queue messages: the sender is woken),
        lost ones asked of the gateway."""
        while True:
            try:
                if await self.settle_overdue_reports():
                    self._wake.set()
                await self.ask_for_lost_reports()
            except Exception:
                logger.exception("SMS worker: chasing delivery reports failed; retrying")
            await asyncio.sleep(REPORTS_EVERY_SECONDS)
