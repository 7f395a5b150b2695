"""Ledger rows: a transaction, its entries, and each account's running balance.

Transactions and entries are only ever inserted (a correction is a reversing transaction). The balance
row is kept in the same transaction as the entries, so a floor (an allowance never below zero) is one
conditional UPDATE that two processes cannot both pass; the nightly check proves it equals the sum."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db.base import Base, enum_type


class TxnKind(StrEnum):
    grant = "grant"  # a month's allowance given to an elder
    expiry = "expiry"  # what was left of it at the month's end (when the policy does not carry it over)
    charge = "charge"  # an evidenced service: subsidy and self-pay to the provider
    payment = "payment"  # money in: online, cash or bank transfer
    refund = "refund"  # money back to the payer
    settlement = "settlement"  # a provider paid
    deduction = "deduction"  # withheld from a provider (quality, upheld complaint)
    claim_paid = "claim_paid"  # the bureau paid a subsidy claim
    reversal = "reversal"  # cancels another transaction entry by entry


class LedgerTxn(Base):
    __tablename__ = "ledger_txn"
    __table_args__ = (
        Index("ix_ledger_txn_order", "order_id"),
        Index("ix_ledger_txn_kind_day", "kind", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TxnKind] = mapped_column(enum_type(TxnKind))
    key: Mapped[str] = mapped_column(String(96), unique=True)  # what makes it happen once
    occurred_on: Mapped[date] = mapped_column(Date)  # the Shanghai day it belongs to (a service's day)
    elder_id: Mapped[int | None]
    provider_id: Mapped[int | None]
    order_id: Mapped[int | None]
    payment_id: Mapped[int | None]
    refund_id: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_txn.id"), unique=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    txn_id: Mapped[int] = mapped_column(ForeignKey("ledger_txn.id"), index=True)
    account: Mapped[str] = mapped_column(String(48), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # debit positive, credit negative


class LedgerBalance(Base):
    __tablename__ = "ledger_balance"

    account: Mapped[str] = mapped_column(String(48), primary_key=True)
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
