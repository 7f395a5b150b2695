"""Text messages, outgoing and incoming: the SMS outbox of the embedded default and the log of Twilio's."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, enum_type


class SmsDirection(StrEnum):
    outbound = "outbound"
    inbound = "inbound"


class SmsStatus(StrEnum):
    outbox = "outbox"  # kept for the console: no SMS gateway is configured
    pending = "pending"  # waiting for the sender
    sending = "sending"  # a sender has claimed it
    queued = "queued"  # Twilio took it; the statuses below come from its callbacks
    sent = "sent"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"
    received = "received"  # inbound


FINAL_STATUSES = frozenset({SmsStatus.delivered, SmsStatus.undelivered, SmsStatus.failed})
FAILED_STATUSES = frozenset({SmsStatus.undelivered, SmsStatus.failed})


class SmsPurpose(StrEnum):
    offer = "offer"  # a job offered to a provider
    confirm = "confirm"  # details for the provider who accepted
    withdraw = "withdraw"  # the job went to someone else
    contact_alert = "contact_alert"  # a relative or community worker told about an alarm
    contact_notice = "contact_notice"  # a contact an agent chose to tell about a call (no chain step)
    handoff = "handoff"  # the location summary of a hand-off to 120
    care_visit = "care_visit"  # a community worker asked to visit an elder the agents could not reach
    help = "help"  # the answer to a reply we did not understand
    reply = "reply"  # a provider's (or anyone's) inbound message
    complaint_reply = "complaint_reply"  # the outcome of a complaint, told to the complainant
    order_confirmed = "order_confirmed"  # the elder told who comes when, and the price split
    payment_link = "payment_link"  # the family sent the link to pay an order's self-pay online
    service_code = "service_code"  # the one-time code an elder reads out to confirm a home service


class SmsMessage(Base):
    """One text message and what became of it."""

    __tablename__ = "sms_message"
    __table_args__ = (
        Index("ix_sms_message_status_id", "status", "id"),
        Index("ix_sms_message_report_due_at", "report_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[SmsDirection] = mapped_column(enum_type(SmsDirection))
    to_number: Mapped[str] = mapped_column(String(20))
    from_number: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[SmsPurpose] = mapped_column(enum_type(SmsPurpose))
    status: Mapped[SmsStatus] = mapped_column(enum_type(SmsStatus))
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(String(255))  # why it failed, in the gateway's words
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]  # a pending message is not sent before then (a retry's backoff)
    # When the domain that sent it stops waiting for a final status (a contact alert's step), if it waits.
    report_due_at: Mapped[datetime | None]
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"), index=True)
    offer_id: Mapped[int | None] = mapped_column(index=True)
    contact_id: Mapped[int | None]
    entered_by: Mapped[str | None] = mapped_column(String(64))  # an agent typing in a reply from the outbox
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
