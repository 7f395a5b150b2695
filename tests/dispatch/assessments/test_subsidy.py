"""The allowance an assessment supports, by level and economic situation."""

from __future__ import annotations

import pytest

from dispatch.assessments.needs import Economic
from dispatch.assessments.subsidy import Allowance, allowance


@pytest.mark.parametrize(
    ("level", "economic", "expected"),
    [
        (1, Economic.subsistence_allowance, Allowance(False, 0)),  # mildly impaired: none
        (2, Economic.subsistence_allowance, Allowance(True, 10_000)),
        (3, Economic.extreme_poverty, Allowance(True, 20_000)),
        (4, Economic.low_income, Allowance(True, 15_000)),  # half of 300 yuan
        (4, Economic.ordinary, Allowance(False, 0)),
        (4, None, Allowance(False, 0)),  # economic situation not recorded
        (None, Economic.subsistence_allowance, Allowance(False, 0)),  # not assessed yet
    ],
)
def test_the_allowance_by_level_and_economic_situation(
    level: int | None, economic: Economic | None, expected: Allowance
) -> None:
    assert allowance(level, economic) == expected
