"""Taking and refunding self-pay. A payment is either for one order's self-pay or a prepaid top-up; either
way the money is held for the elder (`prepaid:<elder>`) and an evidenced service's self-pay is charged
from there. Desk payments (cash, bank transfer) are paid at once; online ones wait for the platform."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from dispatch.ledger import accounts, posting
from dispatch.ledger.models import TxnKind
from dispatch.localtime import local_date
from dispatch.orders.models import OrderState, PlanFrequency, RecurringPlan, ServiceOrder
from dispatch.payments.models import Channel, Payment, PaymentState, Refund, RefundState
from dispatch.providers.models import Provider, ProviderStatus
from dispatch.settings import Settings

DESK_CHANNELS = frozenset({Channel.cash, Channel.bank_transfer})
WEEKS_PER_MONTH_X100 = 435  # 52 weeks / 12 months, in hundredths


def source_account(channel: Channel) -> str:
    return accounts.CASH if channel in DESK_CHANNELS else accounts.clearing(channel.value)


def new_trade_no(prefix: str) -> str:
    """Unique, at most 32 characters of [0-9A-Za-z], as WeChat Pay wants an out_trade_no."""
    return f"{prefix}{secrets.token_hex(12)}"


async def get(session: AsyncSession, payment_id: int, *, lock: bool = False) -> Payment:
    payment = await session.get(Payment, payment_id, with_for_update=lock)
    if payment is None:
        raise NotFound(f"payment {payment_id} not found", reason="payment_not_found")
    return payment


async def _paid_or_pending_for(session: AsyncSession, order_id: int) -> int:
    value = await session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
            Payment.order_id == order_id, Payment.state.in_([PaymentState.pending, PaymentState.paid])
        )
    )
    return int(value or 0)


async def due_for_order(session: AsyncSession, order: ServiceOrder) -> int:
    """The order's self-pay not yet paid or waiting to be paid. A refund never makes it due again: money
    given back (a complaint upheld, a service cut short) is not asked for a second time."""
    return max((order.self_pay_cents or 0) - await _paid_or_pending_for(session, order.id), 0)


async def open_payment(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    *,
    elder_id: int,
    order_id: int | None,
    channel: Channel,
    amount_fen: int,
    settings: Settings,
    note: str = "",
) -> Payment:
    """A payment row: paid at once at the desk, pending (for the platform) online."""
    now = clock.now()
    payment = Payment(
        elder_id=elder_id,
        order_id=order_id,
        channel=channel,
        state=PaymentState.pending,
        amount_fen=amount_fen,
        out_trade_no=new_trade_no("EP"),
        expires_at=None
        if channel in DESK_CHANNELS
        else now + timedelta(minutes=settings.payment_expire_minutes),
        note=note,
        created_by=actor.username,
        created_at=now,
    )
    session.add(payment)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="payment.create",
        entity_type="payment",
        entity_id=payment.id,
        detail={
            "order_id": order_id,
            "elder_id": elder_id,
            "channel": channel.value,
            "amount_fen": amount_fen,
        },
    )
    if channel in DESK_CHANNELS:
        await mark_paid(session, clock, actor, payment.id, transaction_id=None)
    return payment


async def for_order(
    session: AsyncSession, clock: Clock, actor: Actor, *, order_id: int, channel: Channel, settings: Settings
) -> Payment:
    """A payment of what is still due on an order (its self-pay, once a provider has priced it)."""
    order = await session.get(ServiceOrder, order_id, with_for_update=True)
    if order is None:
        raise NotFound(f"service order {order_id} not found", reason="order_not_found")
    if order.state in (OrderState.cancelled, OrderState.failed):
        raise Conflict("the order was not carried out", reason="payment_order_not_done")
    if order.price_cents is None:
        raise Conflict("the order has no price yet: no provider has taken it", reason="payment_no_price")
    due = await due_for_order(session, order)
    if due <= 0:
        raise Conflict("nothing is due on this order", reason="payment_nothing_due")
    return await open_payment(
        session,
        clock,
        actor,
        elder_id=order.elder_id,
        order_id=order.id,
        channel=channel,
        amount_fen=due,
        settings=settings,
    )


async def top_up(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    *,
    elder_id: int,
    channel: Channel,
    amount_fen: int,
    settings: Settings,
) -> Payment:
    """Money paid in advance, at most the cap (months of the elder's plans) less what is already held."""
    held = accounts.shown(
        accounts.prepaid(elder_id), await posting.balance(session, accounts.prepaid(elder_id))
    )
    cap = await prepaid_cap(session, elder_id, settings.prepaid_cap_months)
    if amount_fen + max(held, 0) > cap:
        raise ValidationFailed(
            "a top-up may not take the prepaid balance over its cap",
            reason="prepaid_over_cap",
            params={"cap_fen": cap, "held_fen": held},
        )
    return await open_payment(
        session,
        clock,
        actor,
        elder_id=elder_id,
        order_id=None,
        channel=channel,
        amount_fen=amount_fen,
        settings=settings,
    )


async def mark_paid(
    session: AsyncSession, clock: Clock, actor: Actor, payment_id: int, *, transaction_id: str | None
) -> bool:
    """pending -> paid, once (one conditional UPDATE), with its ledger entry; False if it was not pending."""
    now = clock.now()
    moved = await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.state == PaymentState.pending)
        .values(state=PaymentState.paid, paid_at=now, transaction_id=transaction_id)
        .returning(Payment.id)
    )
    if moved.scalar() is None:
        return False
    payment = await session.get(Payment, payment_id, populate_existing=True)
    if payment is None:
        return False
    await posting.post(
        session,
        clock,
        actor,
        posting.Posting(
            kind=TxnKind.payment,
            key=f"payment:{payment.id}",
            occurred_on=local_date(now),
            legs=[
                (source_account(payment.channel), payment.amount_fen),
                (accounts.prepaid(payment.elder_id), -payment.amount_fen),
            ],
            memo=payment.channel.value,
            refs=_refs(payment),
        ),
    )
    return True


def _refs(payment: Payment) -> dict[str, int]:
    refs = {"elder_id": payment.elder_id, "payment_id": payment.id}
    return refs | ({"order_id": payment.order_id} if payment.order_id is not None else {})


async def request_refund(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    *,
    payment_id: int,
    amount_fen: int,
    reason: str,
    settings: Settings,
) -> Refund:
    """A refund of part or all of a paid payment. Above the approval limit only a supervisor may."""
    if amount_fen > settings.refund_approval_fen and not actor.is_manager:
        raise PermissionDenied(
            "a refund this large needs a supervisor",
            reason="refund_needs_supervisor",
            params={"limit_fen": settings.refund_approval_fen},
        )
    payment = await get(session, payment_id, lock=True)
    if payment.state != PaymentState.paid:
        raise Conflict("only a paid payment can be refunded", reason="refund_not_paid")
    refundable = payment.amount_fen - payment.refunded_fen
    if amount_fen > refundable:
        raise ValidationFailed(
            "more than is left to refund", reason="refund_too_much", params={"refundable_fen": refundable}
        )
    payment.refunded_fen += amount_fen  # reserved now, given back if the platform refuses
    refund = Refund(
        payment_id=payment.id,
        out_refund_no=new_trade_no("RF"),
        amount_fen=amount_fen,
        reason=reason,
        state=RefundState.pending,
        from_provider=await _service_charged(session, payment.order_id),
        created_by=actor.username,
        created_at=clock.now(),
    )
    session.add(refund)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="refund.create",
        entity_type="payment",
        entity_id=payment.id,
        detail={"refund_id": refund.id, "amount_fen": amount_fen, "reason": reason},
    )
    if payment.channel in DESK_CHANNELS:
        await refund_succeeded(session, clock, actor, refund.id)
    return refund


async def _service_charged(session: AsyncSession, order_id: int | None) -> bool:
    return order_id is not None and await posting.find(session, f"charge:order:{order_id}") is not None


async def refund_succeeded(session: AsyncSession, clock: Clock, actor: Actor, refund_id: int) -> bool:
    """pending -> succeeded, once, with its ledger entry: the money leaves the way it came in, taken from
    the provider's payable when the service was already charged (an upheld complaint), else from what is
    held for the elder."""
    now = clock.now()
    moved = await session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.state == RefundState.pending)
        .values(state=RefundState.succeeded, succeeded_at=now)
        .returning(Refund.id)
    )
    if moved.scalar() is None:
        return False
    refund = await _refund(session, refund_id)
    payment = await get(session, refund.payment_id)
    bearer, provider_id = await _refund_bearer(session, refund, payment)
    provider = {"provider_id": provider_id} if provider_id is not None else {}
    await posting.post(
        session,
        clock,
        actor,
        posting.Posting(
            kind=TxnKind.refund,
            key=f"refund:{refund.id}",
            occurred_on=local_date(now),
            legs=[(bearer, refund.amount_fen), (source_account(payment.channel), -refund.amount_fen)],
            memo=refund.reason,
            refs=_refs(payment) | {"refund_id": refund.id} | provider,
        ),
    )
    return True


async def _refund_bearer(session: AsyncSession, refund: Refund, payment: Payment) -> tuple[str, int | None]:
    """The account the refund is taken from, and the provider when it is the provider's payable."""
    if refund.from_provider and payment.order_id is not None:
        order = await session.get(ServiceOrder, payment.order_id)
        if order is not None and order.provider_id is not None:
            return accounts.payable(order.provider_id), order.provider_id
    return accounts.prepaid(payment.elder_id), None


async def close_unpaid(session: AsyncSession, payment_id: int) -> bool:
    """pending -> closed (never paid), once."""
    moved = await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.state == PaymentState.pending)
        .values(state=PaymentState.closed)
        .returning(Payment.id)
    )
    return moved.scalar() is not None


async def _refund(session: AsyncSession, refund_id: int) -> Refund:
    """The refund as the database has it now (after a conditional UPDATE moved it)."""
    refund = await session.get(Refund, refund_id, populate_existing=True)
    if refund is None:
        raise NotFound(f"refund {refund_id} not found", reason="refund_not_found")
    return refund


async def refund_failed(session: AsyncSession, refund_id: int) -> bool:
    """The platform refused: the reserved amount is refundable again."""
    moved = await session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.state == RefundState.pending)
        .values(state=RefundState.failed)
        .returning(Refund.id)
    )
    if moved.scalar() is None:
        return False
    refund = await _refund(session, refund_id)
    payment = await get(session, refund.payment_id, lock=True)
    payment.refunded_fen -= refund.amount_fen
    return True


async def prepaid_cap(session: AsyncSession, elder_id: int, months: int) -> int:
    """`months` months of the elder's active recurring plans, each at the dearest listed price for its
    service (so the cap never stops a family paying for what the plans will cost)."""
    plans = (
        await session.scalars(
            select(RecurringPlan).where(RecurringPlan.elder_id == elder_id, RecurringPlan.active)
        )
    ).all()
    if not plans:
        return 0
    prices = await _dearest_prices(session)
    monthly = 0
    for plan in plans:
        per_month_x100 = (
            len(plan.weekdays) * WEEKS_PER_MONTH_X100
            if plan.frequency == PlanFrequency.weekly
            else len(plan.month_days) * 100
        )
        monthly += per_month_x100 * prices.get(plan.service_type.value, 0) // 100
    return monthly * months


async def _dearest_prices(session: AsyncSession) -> dict[str, int]:
    price_lists = await session.scalars(
        select(Provider.price_list).where(Provider.status == ProviderStatus.active)
    )
    dearest: dict[str, int] = {}
    for price_list in price_lists:
        for item in price_list:
            kind, fen = str(item.get("service_type")), int(item.get("price_cents", 0))
            dearest[kind] = max(dearest.get(kind, 0), fen)
    return dearest


async def list_payments(
    session: AsyncSession,
    *,
    elder_id: int | None,
    order_id: int | None,
    state: PaymentState | None,
    limit: int,
    offset: int,
) -> tuple[list[Payment], int]:
    """Newest first."""
    query = select(Payment)
    if elder_id is not None:
        query = query.where(Payment.elder_id == elder_id)
    if order_id is not None:
        query = query.where(Payment.order_id == order_id)
    if state is not None:
        query = query.where(Payment.state == state)
    return await fetch_page(session, query, Payment.id.desc(), limit=limit, offset=offset)
