"""Pure rules: which entry of a policy an elder is entitled to, and how a price splits into subsidy and
self-pay. Everything is integer fen; the government's share is rounded down (the elder never pays less
than their part)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from dispatch.catalog import ServiceType
from dispatch.subsidies.policy import Entry, Policy


@dataclass(frozen=True)
class Entitlement:
    source: str  # "category:aged_80_plus", "level:3", or "" when the elder has none
    monthly_fen: int
    share_percent: int


NONE = Entitlement(source="", monthly_fen=0, share_percent=0)


class Limit(StrEnum):
    not_entitled = "not_entitled"  # the elder has no allowance under this policy
    not_eligible = "not_eligible"  # the service is not paid from the allowance
    share = "share"  # the government pays its share, the rest is self-pay
    cap = "cap"  # the service type's monthly cap is reached
    allowance = "allowance"  # the month's allowance is used up


@dataclass(frozen=True)
class Split:
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int
    limited_by: Limit | None  # why the subsidy is less than the price (None: all subsidised)


def entitlement(policy: Policy | None, categories: Iterable[str], level: int | None) -> Entitlement:
    """The single most generous entry among the elder's groups and final assessed level (no stacking)."""
    if policy is None:
        return NONE
    candidates: list[tuple[str, Entry]] = [
        (f"category:{c.value}", entry) for c, entry in policy.categories.items() if c.value in set(categories)
    ]
    if level is not None and level in policy.levels:
        candidates.append((f"level:{level}", policy.levels[level]))
    if not candidates:
        return NONE
    source, best = max(candidates, key=lambda c: (c[1].monthly_fen, c[1].share_percent, c[0]))
    return Entitlement(source=source, monthly_fen=best.monthly_fen, share_percent=best.share_percent)


def split(
    *,
    price_fen: int,
    policy: Policy | None,
    entitled: Entitlement,
    service_type: ServiceType,
    allowance_left_fen: int,
    subsidised_this_month_fen: int,
) -> Split:
    """The subsidy is the government's share of the price, at most what is left of the service type's
    monthly cap and of the month's allowance; the rest is self-pay."""
    if price_fen < 0:
        raise ValueError("a price is never negative")
    rule = policy.services.get(service_type) if policy is not None else None
    if not entitled.monthly_fen:
        return _of(price_fen, 0, Limit.not_entitled if price_fen else None)
    if rule is None:
        return _of(price_fen, 0, Limit.not_eligible if price_fen else None)
    limits = [
        (price_fen * entitled.share_percent // 100, Limit.share),
        (max(rule.cap_fen - subsidised_this_month_fen, 0), Limit.cap),
        (max(allowance_left_fen, 0), Limit.allowance),
    ]
    subsidy, limit = min(limits, key=lambda pair: pair[0])
    return _of(price_fen, subsidy, limit if subsidy < price_fen else None)


def _of(price: int, subsidy: int, limit: Limit | None) -> Split:
    return Split(price_fen=price, subsidy_fen=subsidy, self_pay_fen=price - subsidy, limited_by=limit)
