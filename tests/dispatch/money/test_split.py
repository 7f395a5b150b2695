"""The pure subsidy rules: the entitlement an elder's groups and level give, and the split of a price at
each of its limits (share, the service type's cap, the allowance left), in integer fen."""

from __future__ import annotations

from datetime import date

import pytest

from dispatch.catalog import ServiceType
from dispatch.subsidies.policy import in_force, parse, versions
from dispatch.subsidies.split import NONE, Entitlement, Limit, entitlement, split

JAN, JUL = versions()
MEAL = ServiceType.meal_assistance


def test_the_version_in_force_is_the_latest_started_by_the_day() -> None:
    assert in_force(date(2025, 12, 31)) is None
    assert in_force(date(2026, 1, 1)) == JAN
    assert in_force(date(2026, 7, 15)) == JAN
    assert in_force(date(2026, 7, 16)) == JUL
    assert in_force(date(2030, 1, 1)) == JUL


def test_the_most_generous_entry_wins_without_stacking() -> None:
    assert entitlement(JAN, ["aged_80_plus"], None) == Entitlement("category:aged_80_plus", 5000, 50)
    assert entitlement(JAN, ["aged_80_plus", "minimum_living"], None) == Entitlement(
        "category:minimum_living", 20000, 100
    )
    assert entitlement(JAN, ["aged_80_plus"], 3) == Entitlement("level:3", 20000, 80)
    assert entitlement(JUL, ["aged_80_plus"], None) == Entitlement("category:aged_80_plus", 10000, 60)
    assert entitlement(JAN, ["self_paying"], 1) == NONE  # level 1 has no entry
    assert entitlement(None, ["minimum_living"], 4) == NONE


def split_meal(
    price: int, entitled: Entitlement, *, left: int = 10**6, spent: int = 0
) -> tuple[int, int, Limit | None]:
    s = split(
        price_fen=price,
        policy=JAN,
        entitled=entitled,
        service_type=MEAL,
        allowance_left_fen=left,
        subsidised_this_month_fen=spent,
    )
    assert s.subsidy_fen + s.self_pay_fen == price
    return s.subsidy_fen, s.self_pay_fen, s.limited_by


FULL = Entitlement("category:minimum_living", 20000, 100)
HALF = Entitlement("category:aged_80_plus", 5000, 50)


def test_a_full_share_pays_everything_while_allowance_and_cap_last() -> None:
    assert split_meal(1500, FULL) == (1500, 0, None)


def test_the_share_rounds_the_subsidy_down() -> None:
    assert split_meal(1501, HALF) == (750, 751, Limit.share)


@pytest.mark.parametrize(
    ("spent", "expected"),
    [
        (13_500, (1500, 0, None)),
        (13_501, (1499, 1, Limit.cap)),
        (15_000, (0, 1500, Limit.cap)),
        (16_000, (0, 1500, Limit.cap)),
    ],
)
def test_the_service_type_s_monthly_cap_at_its_boundary(spent: int, expected: tuple[int, int, Limit]) -> None:
    assert split_meal(1500, FULL, spent=spent) == expected  # meals are capped at 15,000 fen a month


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (1500, (1500, 0, None)),
        (1499, (1499, 1, Limit.allowance)),
        (0, (0, 1500, Limit.allowance)),
        (-5, (0, 1500, Limit.allowance)),
    ],
)
def test_the_allowance_left_at_its_boundary(left: int, expected: tuple[int, int, Limit]) -> None:
    assert split_meal(1500, FULL, left=left) == expected


def test_a_service_the_policy_does_not_pay_for_is_all_self_pay() -> None:
    s = split(
        price_fen=3000,
        policy=JAN,
        entitled=FULL,
        service_type=ServiceType.repair,
        allowance_left_fen=20000,
        subsidised_this_month_fen=0,
    )
    assert (s.subsidy_fen, s.self_pay_fen, s.limited_by) == (0, 3000, Limit.not_eligible)


def test_no_entitlement_is_all_self_pay_and_a_free_service_is_nothing() -> None:
    assert split_meal(1500, NONE) == (0, 1500, Limit.not_entitled)
    assert split_meal(0, NONE) == (0, 0, None)


def test_a_policy_file_with_a_share_over_100_or_self_paying_is_refused() -> None:
    base = 'id = "x"\neffective_from = 2027-01-01\ncarry_over = false\n[levels]\n[services]\n'
    with pytest.raises(ValueError, match="share_percent"):
        parse(base + "[categories.aged_80_plus]\nmonthly_fen = 1\nshare_percent = 101\n")
    with pytest.raises(ValueError, match="self-paying"):
        parse(base + "[categories.self_paying]\nmonthly_fen = 1\nshare_percent = 10\n")


def test_every_covered_group_gets_at_least_the_20_yuan_floor_in_every_version() -> None:
    for policy in versions():
        assert all(entry.monthly_fen >= 2000 for entry in policy.categories.values()), policy.id
