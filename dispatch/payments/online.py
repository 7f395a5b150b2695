"""Online payment through a platform (WeChat Pay Native): a QR code for what is due, the platform's
notifications acted on once (stored by their id in the transaction that acts on them, so a replay changes
nothing), refunds sent to the platform, and unpaid payments closed after their deadline."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts import service as alerts
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.elders import service as elders
from dispatch.elders.models import ContactKind, Elder
from dispatch.errors import Conflict, UpstreamFailed
from dispatch.money import yuan
from dispatch.notify import service as sms
from dispatch.notify.models import SmsMessage, SmsPurpose
from dispatch.notify.templates import render
from dispatch.payments import service
from dispatch.payments.models import Channel, Payment, PaymentState, PlatformNotification, Refund, RefundState
from dispatch.payments.platform import (
    Notification,
    NotificationKind,
    PaymentPlatform,
    PaymentPlatformError,
    RefundStatus,
    TradeStatus,
)
from dispatch.settings import Settings

logger = logging.getLogger(__name__)
PLATFORM = Actor.system("wechatpay")
NOTIFY_PATH = "/webhooks/wechatpay/notify"
DESCRIPTION = "12349居家养老服务费"
TOP_UP_DESCRIPTION = "12349居家养老服务预付费"


def require(platform: PaymentPlatform | None) -> PaymentPlatform:
    if platform is None:
        raise Conflict("online payment is not configured here", reason="payment_platform_off")
    return platform


def notify_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + NOTIFY_PATH


@contextmanager
def platform_errors() -> Iterator[None]:
    """A platform refusal or outage is the caller's 502 (the request's transaction rolls back with it)."""
    try:
        yield
    except PaymentPlatformError as error:
        logger.warning("payment platform refused: %s (%s)", error.code, error.status)
        raise UpstreamFailed(
            "the payment platform refused or could not be reached; try again",
            reason="payment_platform_failed",
            params={"code": error.code},
        ) from error


async def open_trade(
    session: AsyncSession, payment: Payment, platform: PaymentPlatform, settings: Settings
) -> None:
    """Ask the platform for an online payment's QR code (its content is the code_url)."""
    if payment.channel != Channel.wechat or payment.expires_at is None:
        return
    with platform_errors():
        payment.code_url = await platform.create_native(
            out_trade_no=payment.out_trade_no,
            amount_fen=payment.amount_fen,
            description=DESCRIPTION if payment.order_id else TOP_UP_DESCRIPTION,
            expire_at=payment.expires_at,
            notify_url=notify_url(settings),
        )
    await session.flush()


async def send_refund(
    session: AsyncSession, refund: Refund, platform: PaymentPlatform, settings: Settings
) -> None:
    """An online payment's refund is asked of the platform, which says later whether it went through."""
    payment = await service.get(session, refund.payment_id)
    if payment.channel != Channel.wechat or refund.state != RefundState.pending:
        return
    with platform_errors():
        state = await platform.refund(
            out_trade_no=payment.out_trade_no,
            out_refund_no=refund.out_refund_no,
            refund_fen=refund.amount_fen,
            total_fen=payment.amount_fen,
            reason=refund.reason[:80],
            notify_url=notify_url(settings),
        )
    if state.state in (RefundStatus.CLOSED, RefundStatus.ABNORMAL):
        await service.refund_failed(session, refund.id)


async def take_notification(session: AsyncSession, clock: Clock, notification: Notification) -> str:
    """Act on a verified notification once; what it did, for the log."""
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stored = await session.scalar(
        insert(PlatformNotification)
        .values(
            notification_id=notification.notification_id,
            kind=notification.kind.value,
            out_trade_no=notification.out_trade_no,
            received_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["notification_id"])
        .returning(PlatformNotification.id)
    )
    if stored is None:
        return "replayed: already acted on"
    if notification.kind == NotificationKind.payment:
        return await _paid(session, clock, notification)
    return await _refunded(session, clock, notification)


async def _paid(session: AsyncSession, clock: Clock, notification: Notification) -> str:
    if notification.state != TradeStatus.SUCCESS:
        return f"trade {notification.state}: nothing to do"
    payment = await session.scalar(select(Payment).where(Payment.out_trade_no == notification.out_trade_no))
    if payment is None or payment.amount_fen != notification.amount_fen:
        await _alert_mismatch(session, clock, notification, payment)
        return "no payment of that number and amount: supervisors alerted"
    if await service.mark_paid(
        session, clock, PLATFORM, payment.id, transaction_id=notification.transaction_id
    ):
        return f"payment {payment.id} paid"
    return f"payment {payment.id} was already {payment.state.value}"


async def _refunded(session: AsyncSession, clock: Clock, notification: Notification) -> str:
    refund = await session.scalar(select(Refund).where(Refund.out_refund_no == notification.out_refund_no))
    if refund is None:
        await _alert_mismatch(session, clock, notification, None)
        return "no refund of that number: supervisors alerted"
    if notification.state == RefundStatus.SUCCESS:
        done = await service.refund_succeeded(session, clock, PLATFORM, refund.id)
    else:
        done = await service.refund_failed(session, refund.id)
    return f"refund {refund.id} {notification.state}" if done else f"refund {refund.id} already final"


async def _alert_mismatch(
    session: AsyncSession, clock: Clock, notification: Notification, payment: Payment | None
) -> None:
    await alerts.raise_alert(
        session=session,
        clock=clock,
        kind="payment_mismatch",
        key=f"payment-mismatch:{notification.notification_id}",
        text=f"支付平台通知与平台记录不符：单号 {notification.out_trade_no}，请核查",
        detail={
            "out_trade_no": notification.out_trade_no,
            "platform_amount_fen": notification.amount_fen,
            "our_amount_fen": payment.amount_fen if payment else None,
        },
    )


async def close_expired(*, session: AsyncSession, clock: Clock, platform: PaymentPlatform | None) -> int:
    """Unpaid online payments past their deadline: paid after all (the notification was lost) or closed."""
    if platform is None:
        return 0
    due = (
        await session.scalars(
            select(Payment)
            .where(
                Payment.state == PaymentState.pending,
                Payment.channel == Channel.wechat,
                Payment.expires_at < clock.now(),
            )
            .limit(50)
        )
    ).all()
    for payment in due:
        with platform_errors():
            trade = await platform.query(payment.out_trade_no)
        if trade.state == TradeStatus.SUCCESS and trade.amount_fen == payment.amount_fen:
            await service.mark_paid(session, clock, PLATFORM, payment.id, transaction_id=trade.transaction_id)
            continue
        if trade.state in (TradeStatus.NOTPAY, TradeStatus.USERPAYING, TradeStatus.PAYERROR):
            with platform_errors():
                await platform.close(payment.out_trade_no)
        await service.close_unpaid(session, payment.id)
    return len(due)


async def payer_phone(session: AsyncSession, elder_id: int) -> str | None:
    """Who is texted a payment link: the first relative (who usually pays), else the elder, else anyone."""
    contacts = await elders.list_contacts(session=session, elder_id=elder_id)
    relatives = [c.phone for c in contacts if c.kind == ContactKind.relative]
    elder = await session.get(Elder, elder_id)
    candidates = [*relatives, elder.phone if elder else None, *(c.phone for c in contacts)]
    return next((phone for phone in candidates if phone), None)


async def text_link(
    session: AsyncSession, clock: Clock, actor: Actor, *, payment_id: int, settings: Settings
) -> SmsMessage:
    """Text the family a waiting online payment's link (the QR code's content), once per ask (audited)."""
    payment = await service.get(session, payment_id)
    if payment.state != PaymentState.pending or not payment.code_url:
        raise Conflict("only a waiting online payment has a link to send", reason="payment_no_link")
    to = await payer_phone(session, payment.elder_id)
    if to is None:
        raise Conflict("neither the elder nor a contact has a phone", reason="payment_no_phone")
    options = sms.options_for(settings)
    body = render(
        "payment_link",
        options.language,
        amount=yuan(payment.amount_fen),
        link=payment.code_url,
        minutes=settings.payment_expire_minutes,
    )
    message = await sms.send(
        session=session, clock=clock, options=options, to=to, body=body, purpose=SmsPurpose.payment_link
    )
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="payment.link_sent",
        entity_type="payment",
        entity_id=payment.id,
        detail={"sms_id": message.id},
    )
    return message
