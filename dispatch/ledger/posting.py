"""Posting transactions: balanced, once per key, floors held by one conditional UPDATE per account."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.errors import Conflict, ValidationFailed
from dispatch.ledger.accounts import FLOORED, kind_of
from dispatch.ledger.models import LedgerBalance, LedgerEntry, LedgerTxn, TxnKind

Leg = tuple[str, int]  # account, signed fen (debit positive)


class InsufficientFunds(Conflict):
    """A posting would take a floored account (an allowance) below zero."""


@dataclass(frozen=True)
class Posting:
    kind: TxnKind
    key: str
    occurred_on: date
    legs: Sequence[Leg]
    memo: str = ""
    refs: dict[str, int] = field(
        default_factory=dict
    )  # elder_id, provider_id, order_id, payment_id, refund_id


def net_legs(legs: Iterable[Leg]) -> list[Leg]:
    """One leg per account, zero legs dropped, in account order (so locks are always taken in one order)."""
    sums: dict[str, int] = defaultdict(int)
    for account, amount in legs:
        sums[account] += amount
    return sorted((a, n) for a, n in sums.items() if n != 0)


def check_balanced(legs: Sequence[Leg]) -> None:
    if sum(amount for _, amount in legs) != 0:
        raise ValidationFailed("a transaction's entries must sum to zero", reason="ledger_unbalanced")
    for account, _ in legs:
        kind_of(account)  # an unknown account kind raises ValueError before anything is written


async def find(session: AsyncSession, key: str) -> LedgerTxn | None:
    return await session.scalar(select(LedgerTxn).where(LedgerTxn.key == key))


async def post(session: AsyncSession, clock: Clock, actor: Actor, posting: Posting) -> LedgerTxn | None:
    """Write the transaction unless one with its key exists (then None: it happened already).
    Raises InsufficientFunds, leaving the caller to roll back, if a floored account would go below zero."""
    legs = net_legs(posting.legs)
    check_balanced(legs)
    if not legs or await find(session, posting.key) is not None:
        return None
    txn = LedgerTxn(
        kind=posting.kind,
        key=posting.key,
        occurred_on=posting.occurred_on,
        memo=posting.memo,
        actor=actor.username,
        created_at=clock.now(),
        **posting.refs,
    )
    session.add(txn)
    await session.flush()
    session.add_all(LedgerEntry(txn_id=txn.id, account=a, amount_fen=n) for a, n in legs)
    for account, amount in legs:
        await _move_balance(session, clock, account, amount)
    return txn


async def reverse(
    session: AsyncSession, clock: Clock, actor: Actor, txn: LedgerTxn, *, memo: str, occurred_on: date
) -> LedgerTxn | None:
    """Cancel a transaction with its mirror image (once: a reversal's key names what it reverses)."""
    entries = (await session.scalars(select(LedgerEntry).where(LedgerEntry.txn_id == txn.id))).all()
    reversal = await post(
        session,
        clock,
        actor,
        Posting(
            kind=TxnKind.reversal,
            key=f"reversal:{txn.id}",
            occurred_on=occurred_on,
            legs=[(e.account, -e.amount_fen) for e in entries],
            memo=memo,
            refs=_refs_of(txn),
        ),
    )
    if reversal is not None:
        reversal.reverses_id = txn.id
    return reversal


def _refs_of(txn: LedgerTxn) -> dict[str, int]:
    refs = {
        "elder_id": txn.elder_id,
        "provider_id": txn.provider_id,
        "order_id": txn.order_id,
        "payment_id": txn.payment_id,
        "refund_id": txn.refund_id,
    }
    return {k: v for k, v in refs.items() if v is not None}


async def _move_balance(session: AsyncSession, clock: Clock, account: str, amount: int) -> None:
    """Add to the account's balance row; taking from a floored account only while it stays at or above zero
    (one conditional UPDATE: of two processes spending the last of an allowance, one is refused)."""
    now = clock.now()
    if amount < 0 and kind_of(account) in FLOORED:
        moved = await session.execute(
            update(LedgerBalance)
            .where(LedgerBalance.account == account, LedgerBalance.balance_fen + amount >= 0)
            .values(balance_fen=LedgerBalance.balance_fen + amount, updated_at=now)
            .returning(LedgerBalance.account)
        )
        if moved.scalar() is None:
            raise InsufficientFunds(
                f"{account} would go below zero", reason="ledger_insufficient", params={"account": account}
            )
        return
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LedgerBalance).values(account=account, balance_fen=amount, updated_at=now)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["account"],
            set_={"balance_fen": LedgerBalance.balance_fen + amount, "updated_at": now},
        )
    )


async def balance(session: AsyncSession, account: str) -> int:
    """The account's balance (debit positive), from its running balance row."""
    value = await session.scalar(select(LedgerBalance.balance_fen).where(LedgerBalance.account == account))
    return int(value or 0)


async def balance_from_entries(session: AsyncSession, account: str) -> int:
    value = await session.scalar(
        select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.account == account)
    )
    return int(value or 0)
