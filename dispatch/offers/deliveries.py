"""What a message's fate means for the domains: an undeliverable offer counts as no answer; a contact's
alert, delivered or not (or without a report in time), moves on to the next contact; an agent's notice to a
contact is noted on the call's timeline."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls import contacts
from dispatch.clock import Clock
from dispatch.notify.models import FAILED_STATUSES, FINAL_STATUSES, SmsMessage, SmsPurpose
from dispatch.notify.service import SmsOptions
from dispatch.offers import service as offers


async def message_settled(
    *, session: AsyncSession, clock: Clock, message: SmsMessage, options: SmsOptions
) -> None:
    """Act on a message that reached a final status (delivered, undelivered or failed)."""
    if message.status not in FINAL_STATUSES:
        return
    if message.purpose == SmsPurpose.offer and message.status in FAILED_STATUSES:
        await offers.offer_sms_failed(session=session, clock=clock, message=message, options=options)
    elif message.purpose in contacts.CONTACT_PURPOSES:
        await contacts.contact_sms_final(session=session, clock=clock, message=message, options=options)


async def message_report_overdue(
    *, session: AsyncSession, clock: Clock, message: SmsMessage, options: SmsOptions
) -> None:
    """Act on a message whose final status did not come in time (only contact alerts wait for one)."""
    if message.purpose == SmsPurpose.contact_alert:
        await contacts.contact_report_overdue(session=session, clock=clock, message=message, options=options)
