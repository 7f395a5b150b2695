"""The chart of accounts: names built from what an account belongs to, and the side it normally sits on.

Amounts are signed: a debit is positive, a credit negative, and every transaction sums to zero. An
account's balance is the sum of its entries; `shown` turns it the way a person reads it (an elder's
prepaid money as a positive amount held for them, a provider's payable as a positive amount owed)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    allowance = "allowance"  # an elder's subsidy allowance left (debit-normal; never below zero)
    prepaid = "prepaid"  # money held for an elder (credit-normal; below zero = the elder owes self-pay)
    payable = "payable"  # owed to a provider (credit-normal)
    receivable = "receivable"  # subsidy to claim from a district's civil-affairs bureau (debit-normal)
    budget = "budget"  # the counterpart of allowances granted (credit-normal)
    clearing = "clearing"  # money at a payment platform (debit-normal)
    cash = "cash"  # cash and bank transfers taken by the desk (debit-normal)
    bank = "bank"  # the platform's bank account, which pays providers (debit-normal)
    deductions = "deductions"  # withheld from providers for quality and upheld complaints (credit-normal)


CREDIT_NORMAL = frozenset({Kind.prepaid, Kind.payable, Kind.budget, Kind.deductions})
# Accounts that may never go below zero on their normal side; a posting that would is refused.
FLOORED = frozenset({Kind.allowance})

BUDGET = "budget"
BANK = "bank"
DEDUCTIONS = "deductions"
CASH = "cash"


def allowance(elder_id: int) -> str:
    return f"allowance:{elder_id}"


def prepaid(elder_id: int) -> str:
    return f"prepaid:{elder_id}"


def payable(provider_id: int) -> str:
    return f"payable:{provider_id}"


def receivable(district: str) -> str:
    return f"receivable:{district}"


def clearing(platform: str) -> str:
    return f"clearing:{platform}"


def kind_of(account: str) -> Kind:
    return Kind(account.split(":", 1)[0])


def shown(account: str, balance_fen: int) -> int:
    """The balance the way a person reads it: positive on the account's normal side."""
    return -balance_fen if kind_of(account) in CREDIT_NORMAL else balance_fen


def owner_id(account: str) -> int | None:
    """The elder's or provider's id in an account's name, if it has one."""
    _, _, tail = account.partition(":")
    return int(tail) if tail.isdigit() else None
