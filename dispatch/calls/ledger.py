"""What became of each text to an elder's contacts about a call: the ledger on the call's contact rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.schemas import ContactMessage
from dispatch.notify.models import SmsDirection, SmsMessage, SmsStatus

# What a contact's message became, as the agent needs it: waiting to go, gone, arrived, or not.
LEDGER_STATE = {
    SmsStatus.outbox: "queued",
    SmsStatus.pending: "queued",
    SmsStatus.sending: "queued",
    SmsStatus.queued: "sent",
    SmsStatus.sent: "sent",
    SmsStatus.delivered: "delivered",
    SmsStatus.undelivered: "failed",
    SmsStatus.failed: "failed",
    SmsStatus.received: "replied",
}


async def contact_messages(*, session: AsyncSession, call_id: int) -> list[ContactMessage]:
    """What was sent to the elder's contacts about this call, oldest first, each with its latest state
    (`replied` once the contact texted back after it)."""
    sent = list(
        await session.scalars(
            select(SmsMessage)
            .where(
                SmsMessage.call_id == call_id,
                SmsMessage.contact_id.is_not(None),
                SmsMessage.direction == SmsDirection.outbound,
            )
            .order_by(SmsMessage.id)
        )
    )
    if not sent:
        return []
    replies = await session.execute(
        select(SmsMessage.from_number, func.max(SmsMessage.created_at))
        .where(
            SmsMessage.direction == SmsDirection.inbound,
            SmsMessage.from_number.in_({m.to_number for m in sent}),
            SmsMessage.created_at >= sent[0].created_at,
        )
        .group_by(SmsMessage.from_number)
    )
    last_reply = {number: at for number, at in replies}
    return [_ledger_row(message, last_reply.get(message.to_number)) for message in sent]


def _ledger_row(message: SmsMessage, last_reply: datetime | None) -> ContactMessage:
    replied = last_reply is not None and last_reply >= message.created_at
    return ContactMessage(
        contact_id=message.contact_id or 0,
        sms_id=message.id,
        purpose=message.purpose.value,
        state="replied" if replied else LEDGER_STATE[message.status],
        status=message.status.value,
        error_code=message.error_code,
        sent_at=message.created_at,
        updated_at=message.updated_at,
    )
