"""The ledger's own proof (run nightly, and on demand at `GET /ledger/check`): every transaction sums to
zero, every account's running balance equals the sum of its entries, and no floored account is below zero.
Each is one aggregate query, so it stays cheap as the ledger grows."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts import service as alerts
from dispatch.clock import Clock
from dispatch.ledger.accounts import FLOORED
from dispatch.ledger.models import LedgerBalance, LedgerEntry, LedgerTxn

SAMPLE = 20  # offending ids shown at most, per kind


@dataclass(frozen=True)
class LedgerCheck:
    transactions: int
    entries: int
    accounts: int
    unbalanced_txn_ids: list[int] = field(default_factory=list)
    mismatched_accounts: list[dict[str, object]] = field(default_factory=list)
    below_floor: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not (self.unbalanced_txn_ids or self.mismatched_accounts or self.below_floor)


async def run(session: AsyncSession) -> LedgerCheck:
    txns = int(await session.scalar(select(func.count()).select_from(LedgerTxn)) or 0)
    entries = int(await session.scalar(select(func.count()).select_from(LedgerEntry)) or 0)
    accounts = int(await session.scalar(select(func.count()).select_from(LedgerBalance)) or 0)
    return LedgerCheck(
        transactions=txns,
        entries=entries,
        accounts=accounts,
        unbalanced_txn_ids=await _unbalanced(session),
        mismatched_accounts=await _mismatched(session),
        below_floor=await _below_floor(session),
    )


async def _unbalanced(session: AsyncSession) -> list[int]:
    rows = await session.scalars(
        select(LedgerEntry.txn_id)
        .group_by(LedgerEntry.txn_id)
        .having(func.sum(LedgerEntry.amount_fen) != 0)
        .limit(SAMPLE)
    )
    return list(rows)


async def _mismatched(session: AsyncSession) -> list[dict[str, object]]:
    """Accounts whose balance row differs from their entries (or that have one side only)."""
    sides = union_all(
        select(
            LedgerEntry.account.label("account"),
            LedgerEntry.amount_fen.label("entries"),
            literal(0).label("row"),
        ),
        select(LedgerBalance.account, literal(0), LedgerBalance.balance_fen),
    ).subquery()
    total_entries, total_row = func.sum(sides.c.entries), func.sum(sides.c.row)
    rows = await session.execute(
        select(sides.c.account, total_entries, total_row)
        .group_by(sides.c.account)
        .having(total_entries != total_row)
        .limit(SAMPLE)
    )
    return [{"account": a, "entries_fen": int(e or 0), "balance_fen": int(b or 0)} for a, e, b in rows]


async def _below_floor(session: AsyncSession) -> list[str]:
    floored = [LedgerBalance.account.startswith(f"{kind.value}:") for kind in FLOORED]
    rows = await session.scalars(
        select(LedgerBalance.account).where(LedgerBalance.balance_fen < 0, or_(*floored)).limit(SAMPLE)
    )
    return list(rows)


async def check_and_alert(*, session: AsyncSession, clock: Clock) -> int:
    """The nightly step: 1 if the ledger failed its check (the supervisors are alerted once), else 0."""
    result = await run(session)
    if result.balanced:
        return 0
    await alerts.raise_alert(
        session=session,
        clock=clock,
        kind="ledger_unbalanced",
        key="ledger:check",
        text="账本核对未通过：存在不平衡的交易或余额不符，请立即核查",
        detail={
            "unbalanced_txn_ids": result.unbalanced_txn_ids,
            "mismatched_accounts": [m["account"] for m in result.mismatched_accounts],
            "below_floor": result.below_floor,
        },
    )
    return 1
