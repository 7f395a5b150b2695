"""An elder's money this month as the API shows it (integer fen)."""

from __future__ import annotations

from pydantic import BaseModel


class AllowanceRead(BaseModel):
    elder_id: int
    month: str  # "2026-12", Shanghai
    policy: str | None  # the policy version in force today
    entitled_by: str  # "category:aged_80_plus", "level:3", or "" (no allowance)
    monthly_fen: int
    share_percent: int  # the government's part of an eligible service's price
    carry_over: bool
    spent_fen: int  # subsidy charged this month
    left_fen: int  # what is left of this month's allowance
    prepaid_fen: int  # money held for the elder (negative: self-pay the elder owes)
    prepaid_cap_fen: int  # a top-up may not take the prepaid money over this
