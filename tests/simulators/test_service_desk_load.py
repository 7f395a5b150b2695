"""The service-desk load run at a tiny size: its rows add up, and the two coverage methods agree."""

from __future__ import annotations

import re

import pytest

from dispatch.catalog import ServiceType
from dispatch.settings import Settings
from simulators.load.service_desk import (
    CoverageDisagreement,
    Row,
    compare_coverage,
    district_of,
    make_city,
    measure,
    table_lines,
)

ELDERS, PROVIDERS, AGENTS, PLANS = 120, 12, 3, 8
ORDERS = PLANS * 3  # weekday lunch from Monday 09:00, horizon two days: Monday, Tuesday, Wednesday


async def test_a_tiny_run_counts_what_each_step_did_and_both_coverage_methods_agree(
    db_settings: Settings,
) -> None:
    city = make_city(elders=ELDERS, providers=PROVIDERS, agents=AGENTS, seed=7)
    rows = await measure(db_settings, city, database="db", plans=PLANS, check_coverage=True)
    assert_steps_counted(rows)
    assert_coverage_agrees(rows[0], rows[1])


def assert_steps_counted(rows: list[Row]) -> None:
    found = {row.what: row for row in rows}
    assert [(row.what, row.n) for row in rows] == [
        ("coverage: report(), STRtree (elders)", ELDERS),
        ("coverage: brute-force baseline (elders)", ELDERS),
        ("care calls: schedule() first (calls made)", ELDERS),
        ("care calls: schedule() repeat (elders checked)", ELDERS),
        ("plans: generate_from_plans (orders made)", ORDERS),
        ("plans: dispatch (orders offered)", ORDERS),
    ]
    assert all(row.seconds > 0 and row.per_second > 0 for row in rows)
    assert found["care calls: schedule() repeat (elders checked)"].note == "0 made"
    weekly, monthly = map(int, re.findall(r"(\d+) (?:weekly|monthly)", found[rows[2].what].note))
    assert weekly + monthly == ELDERS
    assert 0 < weekly < ELDERS  # some live alone or in an empty nest, most do not
    jobs = re.findall(r"(\d+) (exhausted|offering)", found["plans: dispatch (orders offered)"].note)
    assert sum(int(count) for count, _ in jobs) == ORDERS


def assert_coverage_agrees(indexed: Row, brute: Row) -> None:
    assert indexed.note == brute.note
    uncovered, pairs = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+", indexed.note)[:2])
    assert pairs == ELDERS * len(ServiceType)
    assert 0 < uncovered < pairs  # a dozen providers cover some of the city, not all of it
    assert indexed.baseline_seconds == brute.seconds


def test_a_coverage_disagreement_fails_the_run() -> None:
    indexed = {t: (1, [5]) for t in ServiceType}
    brute = {t: [5] for t in ServiceType}
    assert compare_coverage(indexed, brute) == len(ServiceType)
    with pytest.raises(CoverageDisagreement, match="meal_assistance"):
        compare_coverage(indexed, {**brute, ServiceType.meal_assistance: [5, 9]})
    with pytest.raises(CoverageDisagreement, match="cleaning"):
        compare_coverage({**indexed, ServiceType.cleaning: (1, [6])}, brute)


def test_the_table_has_a_line_per_row_and_the_speed_up_on_the_indexed_one() -> None:
    rows = [
        Row("coverage: report(), STRtree (elders)", "SQLite", 1000, 0.5, 0.4, baseline_seconds=5.0),
        Row("care calls: schedule() first (calls made)", "PostgreSQL", 1000, 2.0, 1.0),
    ]
    header, rule, indexed, care = table_lines(rows)
    assert header.split()[:3] == ["what", "database", "n"]
    assert set(rule) <= {"-", " "}
    assert indexed.split()[-5:] == ["1,000", "0.500", "2,000", "10.0x", "0.40"]
    assert care.split()[-4:] == ["1,000", "2.000", "500", "1.00"]


def test_districts_cut_the_city_into_six() -> None:
    corners = [(119.21, 26.14), (119.39, 26.14), (119.21, 26.01), (119.39, 26.01), (119.3, 26.1)]
    assert [district_of(lon, lat) for lon, lat in corners] == [
        "鼓楼区",
        "马尾区",
        "仓山区",
        "长乐区",
        "晋安区",
    ]
