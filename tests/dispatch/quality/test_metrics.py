"""The pure quality figures and flags, with values worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.quality.metrics import (
    OfferFacts,
    OrderFacts,
    ProviderFigures,
    Thresholds,
    agent_figures,
    flags,
    provider_figures,
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
WINDOW_END = T0 + timedelta(hours=2)
DEFAULTS = Thresholds(
    min_sample=5,
    min_acceptance_rate=0.5,
    min_completion_rate=0.8,
    max_late_rate=0.2,
    min_satisfaction=3.0,
    max_upheld_complaints=1,
)


def offer(state: str, answered_after_s: float | None = None) -> OfferFacts:
    answered = None if answered_after_s is None else T0 + timedelta(seconds=answered_after_s)
    return OfferFacts(state=state, offered_at=T0, answered_at=answered)


def order(state: str, arrived_after_window_s: float | None = None) -> OrderFacts:
    arrived = (
        None if arrived_after_window_s is None else WINDOW_END + timedelta(seconds=arrived_after_window_s)
    )
    return OrderFacts(state=state, window_end=WINDOW_END, arrived_at=arrived)


OFFERS = [
    offer("accepted", 60),
    offer("arrived", 120),
    offer("done", 30),
    offer("declined", 10),
    offer("expired", 600),
    offer("undeliverable", 5),
    offer("withdrawn"),  # taken back: not held against the provider
    offer("offered"),  # still open
]
ORDERS = [
    order("completed", -3600),  # an hour early
    order("followed_up", 0),  # at the window's end: on time
    order("in_progress", 1),  # a second late
    order("scheduled"),
    order("failed"),
]


@pytest.fixture
def figures() -> ProviderFigures:
    return provider_figures(offers=OFFERS, orders=ORDERS, scores=[5, 4, 2], upheld_complaints=2)


def test_figures_count_answered_offers_arrivals_and_scores(figures: ProviderFigures) -> None:
    assert figures == ProviderFigures(
        offers=8,
        answered=6,
        accepted=3,
        acceptance_rate=0.5,  # 3 of 6 answered
        mean_seconds_to_accept=70.0,  # (60 + 120 + 30) / 3
        done=1,
        completion_rate=pytest.approx(2 / 3),  # type: ignore[arg-type]
        orders=5,
        orders_done=2,
        orders_failed=1,
        arrivals=3,
        late=1,
        late_rate=pytest.approx(1 / 3),  # type: ignore[arg-type]
        satisfaction=pytest.approx(11 / 3),  # type: ignore[arg-type]
        scores=3,
        upheld_complaints=2,
    )


def test_no_facts_give_no_rates_and_no_flags() -> None:
    empty = provider_figures(offers=[], orders=[], scores=[], upheld_complaints=0)

    assert (empty.offers, empty.answered, empty.accepted, empty.orders, empty.scores) == (0, 0, 0, 0, 0)
    assert [empty.acceptance_rate, empty.mean_seconds_to_accept, empty.completion_rate] == [None] * 3
    assert [empty.late_rate, empty.satisfaction] == [None, None]
    assert flags(empty, DEFAULTS) == []


def test_small_samples_flag_only_upheld_complaints(figures: ProviderFigures) -> None:
    # Completion (2/3 over 3 settled orders) and lateness (1/3 over 3 arrivals) are bad but rest on fewer than 5;
    # acceptance is exactly at the minimum, which is not below it.
    assert flags(figures, DEFAULTS) == ["upheld_complaints"]


def test_every_figure_past_its_threshold_flags(figures: ProviderFigures) -> None:
    strict = replace(DEFAULTS, min_sample=3, min_acceptance_rate=0.6, min_satisfaction=4.0)

    assert flags(figures, strict) == [
        "low_acceptance_rate",
        "low_completion_rate",
        "high_late_rate",
        "low_satisfaction",
        "upheld_complaints",
    ]


def test_thresholds_are_strict_at_their_edges(figures: ProviderFigures) -> None:
    edges = replace(
        DEFAULTS,
        min_sample=3,
        min_acceptance_rate=0.5,
        min_completion_rate=2 / 3,
        max_late_rate=1 / 3,
        min_satisfaction=11 / 3,
        max_upheld_complaints=2,
    )

    assert flags(figures, edges) == []


def test_agent_figures_average_acknowledgement_times_and_scores() -> None:
    figures = agent_figures(
        seconds_to_acknowledge=[30.0, 90.0],
        follow_ups_completed=4,
        scores=[4, 2, 5],
        care_calls_completed=7,
        upheld_complaints=1,
    )

    assert (figures.calls_acknowledged, figures.mean_seconds_to_acknowledge) == (2, 60.0)
    assert figures.satisfaction == pytest.approx(11 / 3)
    assert figures.scores == 3
    assert (figures.follow_ups_completed, figures.care_calls_completed, figures.upheld_complaints) == (
        4,
        7,
        1,
    )
