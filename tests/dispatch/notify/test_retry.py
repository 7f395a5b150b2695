"""The retry policy (pure): exponential backoff with jitter, Retry-After as a floor, a budget per purpose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.notify.models import SmsPurpose
from dispatch.notify.retry import DEFAULT_BUDGET_SECONDS, RetryPolicy, policy_with
from dispatch.notify.twilio_http import retry_after_seconds

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "jitter", "seconds"),
    [(1, 0.0, 1.0), (1, 0.999, 1.999), (2, 0.0, 2.0), (3, 0.0, 4.0), (4, 0.5, 12.0), (10, 0.0, 60.0)],
)
def test_the_backoff_doubles_with_jitter_and_is_capped(attempts: int, jitter: float, seconds: float) -> None:
    assert RetryPolicy().backoff(attempts, jitter) == pytest.approx(seconds)


def test_retry_after_is_a_floor_and_the_budget_a_ceiling() -> None:
    policy = RetryPolicy()

    def after(purpose: SmsPurpose, at: float, retry_after: float | None = None) -> float | None:
        when = policy.next_attempt(
            purpose=purpose,
            queued_at=T0,
            attempts=1,
            now=T0 + timedelta(seconds=at),
            retry_after=retry_after,
            jitter=0.0,
        )
        return None if when is None else (when - T0).total_seconds()

    assert after(SmsPurpose.offer, 0) == 1
    assert after(SmsPurpose.offer, 0, retry_after=30) == 30
    assert after(SmsPurpose.offer, 59) == 60  # just inside the offer's minute
    assert after(SmsPurpose.offer, 59.5) is None
    assert (
        after(SmsPurpose.offer, 0, retry_after=61) is None
    )  # Twilio asks for longer than the offer can wait
    assert after(SmsPurpose.care_visit, 59.5) == 60.5
    assert after(SmsPurpose.reply, 0) is None


def test_budgets_are_ordered_by_urgency_and_can_be_overridden() -> None:
    budgets = DEFAULT_BUDGET_SECONDS
    assert budgets[SmsPurpose.offer] < budgets[SmsPurpose.contact_alert] < budgets[SmsPurpose.care_visit]
    assert set(budgets) == set(SmsPurpose)
    assert policy_with({"offer": 30}).budget(SmsPurpose.offer) == timedelta(seconds=30)
    assert policy_with({"offer": 30}).budget(SmsPurpose.care_visit) == timedelta(seconds=3600)
    with pytest.raises(ValueError, match="unknown purpose 'fax'"):
        policy_with({"fax": 10})
    with pytest.raises(ValueError, match="offer must be >= 0"):
        policy_with({"offer": -1})


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "Mon, 02 Mar 2026 01:00:30 GMT", "Date": "Mon, 02 Mar 2026 01:00:00 GMT"}, 30.0),
        ({"Retry-After": "Mon, 02 Mar 2026 01:00:30 GMT"}, None),  # a date without the server's own clock
        ({"Retry-After": "soon", "Date": "Mon, 02 Mar 2026 01:00:00 GMT"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(headers: dict[str, str] | None, seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds
