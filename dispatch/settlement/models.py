"""A provider's monthly statement: computed as a draft from the ledger, approved, then paid."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, enum_type


class SettlementState(StrEnum):
    draft = "draft"  # recomputed whenever asked until approved
    approved = "approved"  # a supervisor signed it off: the deductions are in the ledger
    paid = "paid"  # the provider was paid: the net amount left the bank account


class Settlement(Base):
    __tablename__ = "settlement"
    __table_args__ = (UniqueConstraint("provider_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    provider_name: Mapped[str] = mapped_column(String(128))
    month: Mapped[str] = mapped_column(String(7), index=True)  # "2026-07", by the services' Shanghai days
    state: Mapped[SettlementState] = mapped_column(enum_type(SettlementState))
    services: Mapped[int]
    gross_fen: Mapped[int]
    subsidy_fen: Mapped[int]
    self_pay_fen: Mapped[int]
    refunds_fen: Mapped[int]
    quality_score: Mapped[int]
    quality_deduction_percent: Mapped[int]
    quality_deduction_fen: Mapped[int]
    complaints_upheld: Mapped[int]
    complaint_deduction_fen: Mapped[int]
    net_fen: Mapped[int]
    computed_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    paid_by: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None]
