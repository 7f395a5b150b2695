"""Building blocks of the money tests: elders and providers through the API, orders as rows (a charge
needs only an order a provider has priced), and the ledger read back independently of the balance rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.catalog import ServiceType
from dispatch.clock import Clock
from dispatch.ledger.models import LedgerBalance, LedgerEntry
from dispatch.localtime import at_local
from dispatch.orders.models import OrderSource, OrderState, PaymentMethod, ServiceOrder
from tests.factories import elder_payload, provider_payload


async def new_elder(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/elders", json=elder_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_provider(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/providers", json=provider_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    provider = dict(response.json())
    activated = await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "active", "reason": "准入"},
        headers=headers,
    )
    assert activated.status_code == 200, activated.text
    return provider


async def priced_order(
    session: AsyncSession,
    clock: Clock,
    *,
    elder_id: int,
    provider_id: int,
    price_fen: int,
    day: date,
    service_type: ServiceType = ServiceType.meal_assistance,
) -> ServiceOrder:
    """A completed order at a provider's price, as the desk leaves it before the evidence is in."""
    now = clock.now()
    order = ServiceOrder(
        elder_id=elder_id,
        elder_name="老人",
        service_type=service_type,
        source=OrderSource.phone,
        state=OrderState.completed,
        window_start=at_local(day, "11:00"),
        window_end=at_local(day, "12:00"),
        address="福州市鼓楼区测试路1号",
        lon=119.2985,
        lat=26.083,
        provider_id=provider_id,
        provider_name="测试",
        price_item="服务",
        price_cents=price_fen,
        payment_method=PaymentMethod.mixed,
        created_by="agent1",
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    return order


async def replayed_balances(session: AsyncSession) -> dict[str, int]:
    """Every account's balance computed from the entries alone, one by one in Python."""
    sums: dict[str, int] = defaultdict(int)
    for account, amount in (await session.execute(select(LedgerEntry.account, LedgerEntry.amount_fen))).all():
        sums[account] += amount
    return dict(sums)


async def stored_balances(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(select(LedgerBalance.account, LedgerBalance.balance_fen))).all()
    return {account: balance for account, balance in rows}


def next_month_start(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
