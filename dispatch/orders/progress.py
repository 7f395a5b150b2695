"""What a dispatch step means for the order it serves: offered → scheduled, accepted → the provider
and its price, arrived → in progress, done → completed, nobody left → back to the agents with an alert.
Called by the dispatcher for every step of a job that has an order (it must not import the dispatcher)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import reasons
from dispatch.alerts import service as alerts
from dispatch.alerts.models import AlertAudience
from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.catalog import SERVICE_TYPE_LABELS_ZH
from dispatch.clock import Clock
from dispatch.elders.models import Elder
from dispatch.errors import NotFound
from dispatch.localtime import LOCAL_TZ, local_date
from dispatch.money import yuan
from dispatch.notify import service as sms
from dispatch.notify.models import SmsPurpose
from dispatch.notify.service import SmsOptions
from dispatch.notify.templates import render
from dispatch.orders.models import OPEN_ORDER_STATES, OrderState, PaymentMethod, ServiceOrder
from dispatch.providers.models import Provider
from dispatch.reasons import Reason
from dispatch.subsidies import service as subsidies


def order_json(order: ServiceOrder, overdue: bool) -> dict[str, Any]:
    """The order as the console's board shows it (every column but the history)."""
    values = {
        column.key: getattr(order, column.key)
        for column in ServiceOrder.__table__.columns
        if column.key != "history"
    }
    plain = {
        key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in values.items()
    }
    return {**plain, "overdue": overdue}


def is_overdue(order: ServiceOrder, now: Any) -> bool:
    """Still open when its window has ended, or not yet accepted when its window has begun."""
    if order.state not in OPEN_ORDER_STATES:
        return False
    return bool(now >= order.window_end or (order.accepted_at is None and now >= order.window_start))


def note(order: ServiceOrder, clock: Clock, actor: Actor, kind: str, text: str = "", **detail: Any) -> None:
    """Add a line to the order's history and tell the consoles (once per order and transaction)."""
    now = clock.now()
    line = {"at": now.isoformat(), "kind": kind, "by": actor.username, "text": text, "detail": detail}
    order.history = [*order.history, line]
    order.updated_at = now


def announce_order(session: AsyncSession, order: ServiceOrder, clock: Clock) -> None:
    message = {"type": "order", "order": order_json(order, is_overdue(order, clock.now()))}
    announce(session, CONSOLE_CHANNEL, message, key=("order", order.id))


async def job_step(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    order_id: int,
    kind: str,
    text: str,
    detail: dict[str, Any],
) -> None:
    """Apply one step of the order's job to the order."""
    order = await session.get(ServiceOrder, order_id)
    if order is None:
        raise NotFound(f"service order {order_id} not found")
    note(order, clock, actor, kind, text, **detail)
    now = clock.now()
    if kind == "dispatch":
        order.job_id = detail.get("job_id", order.job_id)
    elif kind == "offer" and order.state == OrderState.requested:
        order.state = OrderState.scheduled
    elif kind == "offer_accepted":
        await _assign(session, clock, order, int(detail["provider_id"]))
        order.state, order.accepted_at = OrderState.scheduled, now
    elif kind == "provider_arrived":
        order.state, order.arrived_at = OrderState.in_progress, now
    elif kind == "provider_done":
        order.state, order.completed_at = OrderState.completed, now
    elif kind == "dispatch_failed":
        order.state = OrderState.requested
        code = detail.get("reason_code")
        reason = Reason(code, text, detail.get("reason_params", {})) if code else reasons.NOBODY_ACCEPTED
        await escalate(session=session, clock=clock, order=order, reason=reason)
    await session.flush()
    announce_order(session, order, clock)


async def _assign(session: AsyncSession, clock: Clock, order: ServiceOrder, provider_id: int) -> None:
    """The accepting provider, its listed price for the service (明码标价), and that price split into subsidy
    and self-pay by the policy in force on the service's day (charged for real once evidenced)."""
    provider = await session.get(Provider, provider_id)
    if provider is None:
        return
    order.provider_id, order.provider_name = provider.id, provider.name
    item = next((i for i in provider.price_list if i.get("service_type") == order.service_type.value), None)
    if item is None:
        return
    order.price_item, order.price_cents = str(item["item"]), int(item["price_cents"])
    elder = await session.get(Elder, order.elder_id)
    if elder is None:
        return
    split = await subsidies.quote(
        session, clock, elder, order.service_type, order.price_cents, local_date(order.window_start)
    )
    order.subsidy_cents, order.self_pay_cents = split.subsidy_fen, split.self_pay_fen
    order.payment_method = payment_method_of(split.subsidy_fen, split.self_pay_fen)


def payment_method_of(subsidy_fen: int, self_pay_fen: int) -> PaymentMethod:
    if subsidy_fen and self_pay_fen:
        return PaymentMethod.mixed
    return PaymentMethod.subsidy if subsidy_fen else PaymentMethod.self_pay


def window_text(order: ServiceOrder) -> str:
    """The window as the texts say it, in local time: "11-24 09:00-11:00"."""
    start, end = order.window_start.astimezone(LOCAL_TZ), order.window_end.astimezone(LOCAL_TZ)
    return f"{start:%m-%d %H:%M}-{end:%H:%M}"


async def tell_elder_booked(
    *, session: AsyncSession, clock: Clock, order_id: int, options: SmsOptions
) -> None:
    """The elder learns who comes when, the price, and what the subsidy pays of it (明码标价)."""
    order = await session.get(ServiceOrder, order_id)
    elder = await session.get(Elder, order.elder_id) if order else None
    if order is None or elder is None or not elder.phone or order.price_cents is None:
        return
    zh = options.language == "zh"
    body = render(
        "order_confirmed",
        options.language,
        service=SERVICE_TYPE_LABELS_ZH[order.service_type]
        if zh
        else order.service_type.value.replace("_", " "),
        provider=order.provider_name or "-",
        window=window_text(order),
        price=yuan(order.price_cents),
        subsidy=yuan(order.subsidy_cents or 0),
        self_pay=yuan(order.self_pay_cents or 0),
    )
    await sms.send(
        session=session,
        clock=clock,
        options=options,
        to=elder.phone,
        body=body,
        purpose=SmsPurpose.order_confirmed,
    )


async def escalate(*, session: AsyncSession, clock: Clock, order: ServiceOrder, reason: Reason) -> None:
    """Hand an order nobody has taken back to the agents: marked on the board and alerted."""
    order.escalated_at, order.escalation_reason = clock.now(), reason.text
    order.escalation_code, order.escalation_params = reason.code, reason.params
    await alerts.raise_alert(
        session=session,
        clock=clock,
        kind="order_unaccepted",
        key=f"order:{order.id}",
        text=f"工单 {order.id}（{order.elder_name}，{SERVICE_TYPE_LABELS_ZH[order.service_type]}）无人接单，请人工处理",
        audience=AlertAudience.agents,
        detail={
            "order_id": order.id,
            "elder_name": order.elder_name,
            "service_type": order.service_type.value,
            "reason": reason.text,
            "reason_code": reason.code,
            **reason.params,
        },
    )
