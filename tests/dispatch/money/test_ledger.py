"""The ledger on both databases: a transaction is balanced and happens once per key, an allowance never
goes below zero, a reversal mirrors what it reverses, and the check finds a tampered balance."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.clock import FakeClock
from dispatch.errors import ValidationFailed
from dispatch.ledger import accounts, check, posting
from dispatch.ledger.models import LedgerBalance, TxnKind
from dispatch.ledger.posting import InsufficientFunds, Posting

SYSTEM = Actor.system()
DAY = date(2026, 3, 2)


def grant(elder_id: int, fen: int, key: str = "g") -> Posting:
    return Posting(
        kind=TxnKind.grant,
        key=key,
        occurred_on=DAY,
        legs=[(accounts.allowance(elder_id), fen), (accounts.BUDGET, -fen)],
    )


async def test_a_transaction_happens_once_per_key(session: AsyncSession, clock: FakeClock) -> None:
    first = await posting.post(session, clock, SYSTEM, grant(1, 500))
    again = await posting.post(session, clock, SYSTEM, grant(1, 500))
    assert first is not None
    assert again is None
    assert await posting.balance(session, accounts.allowance(1)) == 500
    assert await posting.balance(session, accounts.BUDGET) == -500


async def test_an_unbalanced_transaction_is_refused_before_anything_is_written(
    session: AsyncSession, clock: FakeClock
) -> None:
    lopsided = Posting(kind=TxnKind.grant, key="x", occurred_on=DAY, legs=[(accounts.allowance(1), 5)])
    with pytest.raises(ValidationFailed):
        await posting.post(session, clock, SYSTEM, lopsided)
    assert (await check.run(session)).transactions == 0


async def test_an_allowance_is_never_taken_below_zero(session: AsyncSession, clock: FakeClock) -> None:
    await posting.post(session, clock, SYSTEM, grant(1, 500))
    spend = Posting(
        kind=TxnKind.charge,
        key="c",
        occurred_on=DAY,
        legs=[(accounts.allowance(1), -501), (accounts.payable(9), 501)],
    )
    with pytest.raises(InsufficientFunds):
        await posting.post(session, clock, SYSTEM, spend)
    await session.rollback()
    assert await posting.balance(session, accounts.allowance(1)) == 0  # the grant rolled back with it


async def test_a_reversal_mirrors_the_transaction_once(session: AsyncSession, clock: FakeClock) -> None:
    txn = await posting.post(session, clock, SYSTEM, grant(1, 700))
    assert txn is not None
    reversal = await posting.reverse(session, clock, SYSTEM, txn, memo="entered twice", occurred_on=DAY)
    assert reversal is not None
    assert reversal.reverses_id == txn.id
    assert await posting.reverse(session, clock, SYSTEM, txn, memo="again", occurred_on=DAY) is None
    assert await posting.balance(session, accounts.allowance(1)) == 0
    assert (await check.run(session)).balanced


async def test_the_check_finds_a_balance_that_differs_from_its_entries(
    session: AsyncSession, clock: FakeClock
) -> None:
    await posting.post(session, clock, SYSTEM, grant(1, 700))
    assert (await check.run(session)).balanced
    await session.execute(
        update(LedgerBalance).where(LedgerBalance.account == accounts.allowance(1)).values(balance_fen=900)
    )
    result = await check.run(session)
    assert not result.balanced
    assert result.mismatched_accounts == [{"account": "allowance:1", "entries_fen": 700, "balance_fen": 900}]
