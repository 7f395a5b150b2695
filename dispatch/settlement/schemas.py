"""Statements as the API shows them (integer fen)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dispatch.settlement.models import SettlementState

Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-07"])]


class ComputeRequest(BaseModel):
    month: Month


class SettlementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    provider_name: str
    month: str
    state: SettlementState
    services: int
    gross_fen: int
    subsidy_fen: int
    self_pay_fen: int
    refunds_fen: int
    quality_score: int
    quality_deduction_percent: int
    quality_deduction_fen: int
    complaints_upheld: int
    complaint_deduction_fen: int
    net_fen: int
    computed_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    paid_by: str | None
    paid_at: datetime | None
