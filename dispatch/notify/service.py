"""Queueing text messages, recording what Twilio says became of them, and the outbox for the console.

A message is a row written in the caller's transaction: `pending` when Twilio is configured (the sender
worker sends it after the commit, so a rollback sends nothing and a crash loses nothing), `outbox` when
it is not (an agent reads it on the console). Effects of delivery reports and inbound messages on offers
and contacts are handled by their own domains, from the rows recorded here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.errors import NotFound
from dispatch.notify.models import SmsDirection, SmsMessage, SmsPurpose, SmsStatus
from dispatch.settings import Settings

SMS_CHANNEL = "sms"  # a nudge to the sender workers: there is something to send


@dataclass(frozen=True, slots=True)
class SmsOptions:
    """How this deployment sends: through the gateway (Twilio) or into the outbox, and in which language."""

    through_gateway: bool
    language: str
    contact_step: timedelta = timedelta(seconds=60)  # how long a contact's alert may go without a report
    # The job page's links in offers: signed with this key (empty: offers carry no link), at this address,
    # living this long past the job.
    link_key: str = ""
    public_base_url: str = ""
    link_grace: timedelta = timedelta(hours=12)


def options_for(settings: Settings) -> SmsOptions:
    return SmsOptions(
        through_gateway=settings.twilio_enabled,
        language=settings.sms_language,
        contact_step=timedelta(seconds=settings.contact_step_seconds),
        link_key=settings.secret_key,
        public_base_url=settings.public_base_url,
        link_grace=timedelta(hours=settings.job_link_grace_hours),
    )


async def send(
    *,
    session: AsyncSession,
    clock: Clock,
    options: SmsOptions,
    to: str,
    body: str,
    purpose: SmsPurpose,
    call_id: int | None = None,
    offer_id: int | None = None,
    contact_id: int | None = None,
    report_within: timedelta | None = None,
) -> SmsMessage:
    """`queue` as this deployment sends; `report_within`: when sent through the gateway, the sender
    waits that long for a final status, then the overdue-report handler acts (see `settle_report`)."""
    return await queue(
        session=session,
        clock=clock,
        to=to,
        body=body,
        purpose=purpose,
        through_gateway=options.through_gateway,
        call_id=call_id,
        offer_id=offer_id,
        contact_id=contact_id,
        report_within=report_within if options.through_gateway else None,
    )


async def queue(
    *,
    session: AsyncSession,
    clock: Clock,
    to: str,
    body: str,
    purpose: SmsPurpose,
    through_gateway: bool,
    call_id: int | None = None,
    offer_id: int | None = None,
    contact_id: int | None = None,
    report_within: timedelta | None = None,
) -> SmsMessage:
    """Write an outgoing message; it is sent (or shown in the outbox) once the transaction commits."""
    now = clock.now()
    message = SmsMessage(
        direction=SmsDirection.outbound,
        to_number=to,
        body=body,
        purpose=purpose,
        status=SmsStatus.pending if through_gateway else SmsStatus.outbox,
        call_id=call_id,
        offer_id=offer_id,
        contact_id=contact_id,
        report_due_at=now + report_within if report_within is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(message)  # written with the transaction's next flush (a batch's texts in one statement)
    if through_gateway:
        announce(session, SMS_CHANNEL, {"wake": True}, key="wake")  # one nudge a transaction is enough
    return message


async def record_inbound(
    *,
    session: AsyncSession,
    clock: Clock,
    from_number: str,
    to_number: str,
    body: str,
    sid: str | None = None,
    entered_by: str | None = None,
) -> SmsMessage:
    """Store a received message."""
    now = clock.now()
    message = SmsMessage(
        direction=SmsDirection.inbound,
        to_number=to_number,
        from_number=from_number,
        body=body,
        purpose=SmsPurpose.reply,
        status=SmsStatus.received,
        sid=sid,
        entered_by=entered_by,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def already_received(*, session: AsyncSession, sid: str) -> bool:
    """Whether this Twilio message was recorded before (Twilio retries a webhook it got no answer to)."""
    return await session.scalar(select(SmsMessage.id).where(SmsMessage.sid == sid)) is not None


async def record_status(
    *,
    session: AsyncSession,
    clock: Clock,
    sid: str,
    status: SmsStatus,
    error_code: str | None,
    sms_id: int | None = None,
) -> SmsMessage | None:
    """Apply a delivery report; returns the message if its status changed. Reports may repeat or cross,
    so a message only moves forward (queued, sent, then a final status) and a final status is never
    replaced, by one conditional UPDATE that holds across processes."""
    message_id = await session.scalar(select(SmsMessage.id).where(SmsMessage.sid == sid))
    if message_id is None and sms_id is not None:  # the report overtook the sender's note of the sid
        message_id = sms_id
    earlier = [known for known, rank in _RANK.items() if rank < _RANK.get(status, 0)]
    if message_id is None or not earlier:
        return None
    changed = await session.execute(
        update(SmsMessage)
        .where(
            SmsMessage.id == message_id,
            SmsMessage.status.in_(earlier),
            (SmsMessage.sid == sid) | SmsMessage.sid.is_(None),
        )
        .values(sid=sid, status=status, error_code=error_code, updated_at=clock.now())
        .returning(SmsMessage.id)
    )
    if changed.scalar() is None:
        return None
    return await session.get(SmsMessage, message_id, populate_existing=True)


# How far along its life an outgoing message is: a report never takes it back.
_RANK: dict[SmsStatus, int] = {
    SmsStatus.outbox: 0,
    SmsStatus.pending: 0,
    SmsStatus.sending: 0,
    SmsStatus.queued: 1,
    SmsStatus.sent: 2,
    SmsStatus.delivered: 3,
    SmsStatus.undelivered: 3,
    SmsStatus.failed: 3,
}


def _due(now: datetime) -> ColumnElement[bool]:
    """A pending message whose backoff (if any) is over."""
    return (SmsMessage.status == SmsStatus.pending) & (
        SmsMessage.next_attempt_at.is_(None) | (SmsMessage.next_attempt_at <= now)
    )


async def note_sent(*, session: AsyncSession, clock: Clock, sms_id: int, sid: str) -> None:
    """The gateway took the message: keep its sid; it is queued unless a delivery report came first."""
    now = clock.now()
    await session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == sms_id)
        .values(sid=sid, updated_at=now, next_attempt_at=None)
    )
    # an earlier try's error is cleared, but not the error a report that came first brought
    await session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == sms_id, SmsMessage.status == SmsStatus.sending)
        .values(status=SmsStatus.queued, error_code=None, error_message=None)
    )


async def retry_later(
    *, session: AsyncSession, clock: Clock, sms_id: int, at: datetime, code: str | None, reason: str
) -> None:
    """The gateway could not take the message now: back in the queue, not to be sent before `at`."""
    await session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == sms_id, SmsMessage.status == SmsStatus.sending)
        .values(
            status=SmsStatus.pending,
            next_attempt_at=at,
            error_code=code,
            error_message=reason[:255],
            updated_at=clock.now(),
        )
    )


async def fail(
    *, session: AsyncSession, clock: Clock, sms_id: int, code: str | None, reason: str
) -> SmsMessage | None:
    """The message will not be sent (refused, or out of time): failed, with why; None if it was not ours."""
    failed = await session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == sms_id, SmsMessage.status == SmsStatus.sending)
        .values(
            status=SmsStatus.failed,
            next_attempt_at=None,
            error_code=code,
            error_message=reason[:255],
            updated_at=clock.now(),
        )
        .returning(SmsMessage.id)
    )
    if failed.scalar() is None:
        return None
    return await session.get(SmsMessage, sms_id, populate_existing=True)


async def overdue_reports(*, session: AsyncSession, now: datetime) -> list[int]:
    """Messages whose sender stopped waiting for a final status by now (see `settle_report`)."""
    rows = await session.scalars(
        select(SmsMessage.id)
        .where(SmsMessage.report_due_at.is_not(None), SmsMessage.report_due_at <= now)
        .order_by(SmsMessage.report_due_at)
        .limit(500)
    )
    return list(rows)


async def settle_report(*, session: AsyncSession, sms_id: int) -> bool:
    """Stop waiting for the message's report; True for the one caller (across processes) that did, which
    then acts on it: a final status and the deadline race for this."""
    settled = await session.execute(
        update(SmsMessage)
        .where(SmsMessage.id == sms_id, SmsMessage.report_due_at.is_not(None))
        .values(report_due_at=None)
        .returning(SmsMessage.id)
    )
    return settled.scalar() is not None


async def next_due(*, session: AsyncSession) -> datetime | None:
    """The earliest moment a pending retry or a report deadline falls due."""
    retry = await session.scalar(
        select(func.min(SmsMessage.next_attempt_at)).where(SmsMessage.status == SmsStatus.pending)
    )
    report = await session.scalar(select(func.min(SmsMessage.report_due_at)))
    return min((at for at in (retry, report) if at is not None), default=None)


# What goes out first when messages queue up: offers and alerts before confirmations and help texts.
_URGENCY = case(
    {
        SmsPurpose.offer: 0,
        SmsPurpose.contact_alert: 0,
        SmsPurpose.contact_notice: 0,
        SmsPurpose.handoff: 0,
        SmsPurpose.withdraw: 1,
        SmsPurpose.confirm: 1,
    },
    value=SmsMessage.purpose,
    else_=2,
)


async def claim_due(
    *, session: AsyncSession, clock: Clock, stale_before: datetime, limit: int
) -> list[SmsMessage]:
    """Put back what dead senders left, then take up to `limit` due messages, most urgent first, for this
    sender alone: rows another sender is taking are skipped (SKIP LOCKED on PostgreSQL; SQLite's write lock
    lets one sender at a time in), so several processes share the queue instead of queueing on each row."""
    await release_stale(session=session, clock=clock, stale_before=stale_before)
    now = clock.now()
    due = (
        select(SmsMessage.id)
        .where(_due(now))
        .order_by(_URGENCY, SmsMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(SmsMessage)
        .where(SmsMessage.id.in_(due.scalar_subquery()))
        .values(status=SmsStatus.sending, attempts=SmsMessage.attempts + 1, updated_at=now)
        .returning(SmsMessage.id)
    )
    ids = list(claimed)
    if not ids:
        return []
    rows = await session.scalars(
        select(SmsMessage)
        .where(SmsMessage.id.in_(ids))
        .order_by(_URGENCY, SmsMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def release_stale(*, session: AsyncSession, clock: Clock, stale_before: datetime) -> None:
    """Put messages whose sender died mid-send back in the queue."""
    await session.execute(
        update(SmsMessage)
        .where(SmsMessage.status == SmsStatus.sending, SmsMessage.updated_at < stale_before)
        .values(status=SmsStatus.pending, updated_at=clock.now())
    )


async def list_messages(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    direction: SmsDirection | None = None,
    status: SmsStatus | None = None,
    call_id: int | None = None,
) -> tuple[list[SmsMessage], int]:
    """Messages, newest first."""
    query = select(SmsMessage)
    if direction:
        query = query.where(SmsMessage.direction == direction)
    if status:
        query = query.where(SmsMessage.status == status)
    if call_id:
        query = query.where(SmsMessage.call_id == call_id)
    return await fetch_page(session, query, SmsMessage.id.desc(), limit=limit, offset=offset)


async def read(*, session: AsyncSession, clock: Clock, actor: Actor, sms_id: int) -> SmsMessage:
    """One message, its whole text included; the read is audited."""
    message = await session.get(SmsMessage, sms_id)
    if message is None:
        raise NotFound(f"text message {sms_id} not found")
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="sms.read",
        entity_type="sms_message",
        entity_id=sms_id,
        detail={"purpose": message.purpose.value},
    )
    return message


async def unreported(
    *, session: AsyncSession, now: datetime, quiet_for: timedelta, limit: int = 50
) -> list[int]:
    """Messages the gateway took that have had no final status and no change for `quiet_for`: their
    delivery reports were lost (Twilio does not retry a callback our server failed to take)."""
    rows = await session.scalars(
        select(SmsMessage.id)
        .where(
            SmsMessage.sid.is_not(None),
            SmsMessage.status.in_((SmsStatus.queued, SmsStatus.sent)),
            SmsMessage.updated_at <= now - quiet_for,
        )
        .order_by(SmsMessage.updated_at)
        .limit(limit)
    )
    return list(rows)


async def claim_status_check(
    *, session: AsyncSession, now: datetime, sms_id: int, quiet_for: timedelta
) -> str | None:
    """Take the next check of a message's status (once across processes, not again for `quiet_for`);
    returns its sid, or None if another process took it or a report came meanwhile."""
    claimed = await session.execute(
        update(SmsMessage)
        .where(
            SmsMessage.id == sms_id,
            SmsMessage.status.in_((SmsStatus.queued, SmsStatus.sent)),
            SmsMessage.updated_at <= now - quiet_for,
        )
        .values(updated_at=now)
        .returning(SmsMessage.sid)
    )
    return claimed.scalar()
