"""The provider rating: a Bayesian average, so a new provider's first score moves it only a little."""

from __future__ import annotations


def bayesian_rating(*, total: float, count: int, prior: float, weight: int) -> float:
    """(prior × weight + sum of scores) / (weight + number of scores), rounded to 2 places."""
    if weight + count == 0:
        return 0.0
    return round((prior * weight + total) / (weight + count), 2)
