"""Charging an evidenced service: the provider is owed its price, the subsidy comes out of the elder's
allowance (and is claimed from the district's bureau), the self-pay out of the money held for the elder
(below zero: the elder owes it). Called once per order, when its evidence is complete, inside that
transaction; the ledger key makes a second call a no-op."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.errors import NotFound
from dispatch.ledger import accounts, posting
from dispatch.ledger.models import LedgerTxn, TxnKind
from dispatch.localtime import local_date
from dispatch.orders.models import ServiceOrder
from dispatch.subsidies import service as subsidies
from dispatch.subsidies.split import Split


def charge_legs(split: Split, *, elder_id: int, provider_id: int, district: str) -> list[posting.Leg]:
    return [
        (accounts.allowance(elder_id), -split.subsidy_fen),
        (accounts.BUDGET, split.subsidy_fen),
        (accounts.receivable(district), split.subsidy_fen),
        (accounts.payable(provider_id), -split.price_fen),
        (accounts.prepaid(elder_id), split.self_pay_fen),
    ]


async def on_evidenced(
    *, session: AsyncSession, clock: Clock, order_id: int, actor: Actor, price_fen: int | None = None
) -> LedgerTxn | None:
    """Charge the order (at `price_fen` when the provider listed the items done, else its listed price)."""
    order = await session.get(ServiceOrder, order_id, with_for_update=True)
    if order is None:
        raise NotFound(f"service order {order_id} not found")
    if order.provider_id is None:
        return None
    elder = await subsidies.lock_elder(session, order.elder_id)
    await subsidies.ensure_month(session, clock, actor, elder)
    price = price_fen if price_fen is not None else order.price_cents or 0
    split = await subsidies.quote(
        session, clock, elder, order.service_type, price, local_date(order.window_start)
    )
    txn = await posting.post(
        session,
        clock,
        actor,
        posting.Posting(
            kind=TxnKind.charge,
            key=f"charge:order:{order.id}",
            occurred_on=local_date(order.window_start),
            legs=charge_legs(
                split, elder_id=elder.id, provider_id=order.provider_id, district=elder.district
            ),
            memo=split.limited_by.value if split.limited_by else "",
            refs={"elder_id": elder.id, "provider_id": order.provider_id, "order_id": order.id},
        ),
    )
    if txn is not None:
        order.price_cents, order.subsidy_cents, order.self_pay_cents = (
            price,
            split.subsidy_fen,
            split.self_pay_fen,
        )
    return txn
