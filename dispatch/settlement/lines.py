"""The services behind a statement or a claim, one row per charge, pivoted from its ledger entries in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.catalog import ServiceType
from dispatch.elders.models import Elder
from dispatch.ledger.models import LedgerEntry, LedgerTxn, TxnKind
from dispatch.orders.models import ServiceOrder
from dispatch.settlement.service import month_bounds


@dataclass(frozen=True)
class ServiceLine:
    order_id: int
    day: date
    elder_id: int
    elder_name: str
    id_number: str
    district: str
    provider_id: int
    service_type: ServiceType
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int


def _leg(prefix: str, sign: int) -> ColumnElement[int]:
    return func.coalesce(
        func.sum(case((LedgerEntry.account.startswith(prefix), sign * LedgerEntry.amount_fen), else_=0)), 0
    )


async def charged(
    session: AsyncSession, month: str, *, provider_id: int | None = None, district: str | None = None
) -> list[ServiceLine]:
    """The month's charged services (a reversed charge is left out), of one provider or one district."""
    first, following = month_bounds(month)
    reversed_ids = select(LedgerTxn.reverses_id).where(LedgerTxn.reverses_id.is_not(None))
    query = (
        select(
            LedgerTxn.order_id,
            LedgerTxn.occurred_on,
            Elder.id,
            Elder.name,
            Elder.id_number,
            Elder.district,
            LedgerTxn.provider_id,
            ServiceOrder.service_type,
            _leg("payable:", -1),
            _leg("receivable:", 1),
            _leg("prepaid:", 1),
        )
        .join(LedgerTxn, LedgerTxn.id == LedgerEntry.txn_id)
        .join(Elder, Elder.id == LedgerTxn.elder_id)
        .join(ServiceOrder, ServiceOrder.id == LedgerTxn.order_id)
        .where(
            LedgerTxn.kind == TxnKind.charge,
            LedgerTxn.occurred_on >= first,
            LedgerTxn.occurred_on < following,
            LedgerTxn.id.not_in(reversed_ids),
        )
        .group_by(LedgerTxn.id, Elder.id, ServiceOrder.service_type)
        .order_by(LedgerTxn.occurred_on, LedgerTxn.order_id)
    )
    if provider_id is not None:
        query = query.where(LedgerTxn.provider_id == provider_id)
    if district is not None:
        query = query.where(Elder.district == district)
    rows = await session.execute(query)
    return [
        ServiceLine(
            int(order or 0),
            day,
            elder,
            name,
            id_no,
            place,
            int(by or 0),
            service,
            int(fen),
            int(sub),
            int(own),
        )
        for order, day, elder, name, id_no, place, by, service, fen, sub, own in rows
    ]
