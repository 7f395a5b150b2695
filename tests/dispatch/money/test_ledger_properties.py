"""Ledger invariants under random sequences of what happens to money, on both databases: services charged
(some over the allowance or its caps), desk payments, refunds, reversals of charges and month ends. After
every sequence every transaction balances, no allowance is below zero, and replaying the entries gives
exactly the stored balances."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.ledger import check, posting
from dispatch.ledger.models import LedgerTxn, TxnKind
from dispatch.localtime import local_date
from dispatch.payments import charges, service
from dispatch.payments.models import Channel, Payment, PaymentState
from dispatch.settings import Settings
from tests.dispatch.money.worlds import (
    new_elder,
    new_provider,
    priced_order,
    replayed_balances,
    stored_balances,
)

SUPERVISOR = Actor(operator_id=None, username="supervisor", role=Role.supervisor)
SERVICES = [ServiceType.meal_assistance, ServiceType.cleaning, ServiceType.repair]

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("charge"),
            st.integers(0, 2),
            st.integers(0, 1),
            st.integers(0, 20_000),
            st.sampled_from(SERVICES),
        ),
        st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 30_000)),
        st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 30_000)),
        st.tuples(st.just("reverse"), st.integers(0, 50)),
        st.tuples(st.just("month_end")),
    ),
    min_size=1,
    max_size=12,
)


async def test_every_sequence_keeps_the_ledger_balanced_and_replayable(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    db_settings: Settings,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    elders = [
        (await new_elder(client, agent, subsidy_categories=groups))["id"]
        for groups in (["minimum_living"], ["aged_80_plus"], [])
    ]
    providers = [(await new_provider(client, supervisor))["id"] for _ in range(2)]

    for sequence in sequences():
        for step in sequence:
            async with app_services.sessions() as session:
                await apply(session, clock, db_settings, step, elders, providers)
                await session.commit()
        async with app_services.sessions() as session:
            result = await check.run(session)
            assert result.balanced, (sequence, result)
            assert await replayed_balances(session) == await stored_balances(session), sequence


def sequences() -> list[list[tuple[Any, ...]]]:
    """Hypothesis draws the sequences (it cannot drive an async test itself); they run one after another on
    the same database, so later ones start from what earlier ones left."""
    drawn: list[list[tuple[Any, ...]]] = []

    @settings(max_examples=25, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(sequence=steps)
    def draw(sequence: list[tuple[Any, ...]]) -> None:
        drawn.append(sequence)

    draw()
    return drawn


async def apply(
    session: Any,
    clock: FakeClock,
    config: Settings,
    step: tuple[Any, ...],
    elders: list[int],
    providers: list[int],
) -> None:
    kind = step[0]
    if kind == "charge":
        _, who, by, price, service_type = step
        order = await priced_order(
            session,
            clock,
            elder_id=elders[who],
            provider_id=providers[by],
            price_fen=price,
            day=local_date(clock.now()),
            service_type=service_type,
        )
        await charges.on_evidenced(session=session, clock=clock, order_id=order.id, actor=SUPERVISOR)
    elif kind == "pay":
        _, who, amount = step
        await service.open_payment(
            session,
            clock,
            SUPERVISOR,
            elder_id=elders[who],
            order_id=None,
            channel=Channel.cash,
            amount_fen=amount,
            settings=config,
        )
    elif kind == "refund":
        await _refund(session, clock, config, pick=step[1], amount=step[2])
    elif kind == "reverse":
        charged = (await session.scalars(_unreversed_charges())).all()
        if charged:
            txn = charged[step[1] % len(charged)]
            await posting.reverse(
                session, clock, SUPERVISOR, txn, memo="entered in error", occurred_on=local_date(clock.now())
            )
    else:
        clock.advance(timedelta(days=31).total_seconds())


async def _refund(session: Any, clock: FakeClock, config: Settings, *, pick: int, amount: int) -> None:
    paid = (
        await session.scalars(select(Payment).where(Payment.state == PaymentState.paid).order_by(Payment.id))
    ).all()
    refundable = [p for p in paid if p.amount_fen > p.refunded_fen]
    if refundable:
        payment = refundable[pick % len(refundable)]
        await service.request_refund(
            session,
            clock,
            SUPERVISOR,
            payment_id=payment.id,
            amount_fen=min(amount, payment.amount_fen - payment.refunded_fen),
            reason="退款",
            settings=config,
        )


def _unreversed_charges() -> Any:
    reversed_ids = select(LedgerTxn.reverses_id).where(LedgerTxn.reverses_id.is_not(None))
    return (
        select(LedgerTxn)
        .where(LedgerTxn.kind == TxnKind.charge, LedgerTxn.id.not_in(reversed_ids))
        .order_by(LedgerTxn.id)
    )
