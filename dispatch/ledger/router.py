"""The ledger's check on demand (GET /ledger/check), for supervisors; the desk runs it daily too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from dispatch.api.deps import ManagerActor, SessionDep
from dispatch.ledger import check

router = APIRouter(prefix="/api/v1", tags=["ledger"])


class LedgerCheckRead(BaseModel):
    balanced: bool
    transactions: int
    entries: int
    accounts: int
    unbalanced_txn_ids: list[int]
    mismatched_accounts: list[dict[str, Any]]
    below_floor: list[str]


@router.get("/ledger/check", response_model=LedgerCheckRead)
async def ledger_check(session: SessionDep, actor: ManagerActor) -> LedgerCheckRead:
    """Every transaction sums to zero, every balance equals its entries, no allowance below zero."""
    result = await check.run(session)
    return LedgerCheckRead(
        balanced=result.balanced,
        transactions=result.transactions,
        entries=result.entries,
        accounts=result.accounts,
        unbalanced_txn_ids=result.unbalanced_txn_ids,
        mismatched_accounts=result.mismatched_accounts,
        below_floor=result.below_floor,
    )
