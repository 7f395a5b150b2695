"""Two processes doing money at the same moment, on PostgreSQL (SQLite lets one writer in at a time): two
charges of one order make one charge; two charges of one elder's last allowance never take it below zero
(the second waits for the elder's row and gets what is left); two supervisors approving one statement
approve it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.auth.actor import Actor
from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders import service as elders_service
from dispatch.elders.schemas import ElderCreate
from dispatch.errors import InvalidTransition
from dispatch.ledger import accounts, posting
from dispatch.ledger.models import LedgerEntry, LedgerTxn, TxnKind
from dispatch.payments import charges
from dispatch.providers.models import Provider
from dispatch.settings import Settings
from dispatch.settlement import service as settlement
from tests.dispatch.money.worlds import priced_order
from tests.dispatch.notify.test_webhooks import waiting_for_a_lock
from tests.factories import elder_payload

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
SYSTEM = Actor.system("test")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(pg_db_settings: Settings) -> AsyncIterator[Sessions]:
    engine = create_engine(pg_db_settings)
    yield create_session_factory(engine)
    await engine.dispose()


async def a_world(sessions: Sessions, clock: FakeClock, prices: list[int]) -> tuple[int, int, list[int]]:
    """An 80+ elder (5,000 fen a month, half of each price), a provider, and orders at these prices."""
    async with sessions() as session:
        elder = await elders_service.create(
            session=session,
            clock=clock,
            actor=SYSTEM,
            data=ElderCreate.model_validate(elder_payload(subsidy_categories=["aged_80_plus"])),
        )
        provider = Provider(
            name="测试", registration_number="91350102RACE0001", phone="13900000000", service_types=["cleaning"],
            base_lon=119.3, base_lat=26.08, service_area={}, status="active", created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        session.add(provider)
        await session.flush()
        orders = [
            (
                await priced_order(
                    session, clock, elder_id=elder.id, provider_id=provider.id, price_fen=fen, day=DAY,
                    service_type=ServiceType.cleaning,
                )
            ).id
            for fen in prices
        ]  # fmt: skip
        await session.commit()
        return elder.id, provider.id, orders


async def charge(session: AsyncSession, clock: FakeClock, order_id: int) -> LedgerTxn | None:
    return await charges.on_evidenced(session=session, clock=clock, order_id=order_id, actor=SYSTEM)


async def test_two_charges_of_one_order_at_once_make_one(
    sessions: Sessions, pg_db_settings: Settings
) -> None:
    clock = FakeClock(NOW)
    _, _, [order] = await a_world(sessions, clock, [8000])
    engine = create_engine(pg_db_settings)
    try:
        async with sessions() as one, sessions() as two:
            assert await charge(one, clock, order) is not None
            late = asyncio.create_task(charge(two, clock, order))
            await waiting_for_a_lock(engine)  # the second waits for the order's row
            await one.commit()
            assert await late is None  # it found the charge made
            await two.commit()
    finally:
        await engine.dispose()
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(LedgerTxn).where(LedgerTxn.kind == TxnKind.charge)
        )
    assert count == 1


async def test_two_charges_of_one_elder_at_once_never_overdraw_the_allowance(
    sessions: Sessions, pg_db_settings: Settings
) -> None:
    clock = FakeClock(NOW)
    elder, _, orders = await a_world(sessions, clock, [8000, 8000])  # 4,000 each of 5,000
    engine = create_engine(pg_db_settings)
    try:
        async with sessions() as one, sessions() as two:
            await charge(one, clock, orders[0])
            late = asyncio.create_task(charge(two, clock, orders[1]))
            await waiting_for_a_lock(engine)  # the second waits for the elder's row
            await one.commit()
            await late
            await two.commit()
    finally:
        await engine.dispose()
    async with sessions() as session:
        assert await posting.balance(session, accounts.allowance(elder)) == 0
        subsidy = await session.scalars(
            select(-func.sum(LedgerEntry.amount_fen))
            .join(LedgerTxn, LedgerTxn.id == LedgerEntry.txn_id)
            .where(LedgerTxn.kind == TxnKind.charge, LedgerEntry.account == accounts.allowance(elder))
            .group_by(LedgerTxn.id)
            .order_by(LedgerTxn.id)
        )
        assert list(subsidy) == [4000, 1000]  # the second got what was left


async def test_two_supervisors_approving_one_statement_approve_it_once(
    sessions: Sessions, pg_db_settings: Settings
) -> None:
    clock = FakeClock(NOW)
    _, provider_id, [order] = await a_world(sessions, clock, [8000])
    async with sessions() as session:
        await charge(session, clock, order)
        provider = await session.get(Provider, provider_id)
        assert provider is not None
        provider.rating, provider.rating_count = 3.0, 10  # score 60: 10 % withheld
        [statement] = await settlement.compute(session, clock, month="2026-03", settings=pg_db_settings)
        await session.commit()
    engine = create_engine(pg_db_settings)
    try:
        async with sessions() as one, sessions() as two:
            await settlement.approve(one, clock, SYSTEM, statement.id)
            late = asyncio.create_task(settlement.approve(two, clock, SYSTEM, statement.id))
            await waiting_for_a_lock(engine)
            await one.commit()
            with pytest.raises(InvalidTransition):
                await late
    finally:
        await engine.dispose()
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(LedgerTxn).where(LedgerTxn.kind == TxnKind.deduction)
        )
    assert count == 1  # the 800 fen withheld, once
