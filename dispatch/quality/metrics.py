"""Service-quality figures and review flags over plain facts (pure: no database, no clock)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

# Offer and order states by value (they are StrEnums in dispatch.offers.models and dispatch.orders.models).
ACCEPTED_STATES = frozenset({"accepted", "arrived", "done"})
# An offer the provider answered, or let lapse: what the acceptance rate is taken over (withdrawn ones
# were taken back before the provider had a fair chance; open ones are still waiting).
ANSWERED_STATES = ACCEPTED_STATES | {"declined", "expired", "undeliverable"}
DONE_ORDER_STATES = frozenset({"completed", "followed_up"})

LOW_ACCEPTANCE = "low_acceptance_rate"
LOW_COMPLETION = "low_completion_rate"
HIGH_LATENESS = "high_late_rate"
LOW_SATISFACTION = "low_satisfaction"
UPHELD_COMPLAINTS = "upheld_complaints"


@dataclass(frozen=True, slots=True)
class OfferFacts:
    """One offer made to the provider."""

    state: str
    offered_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One service order the provider took."""

    state: str
    window_end: datetime
    arrived_at: datetime | None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where a provider's figures call for a review; rates and satisfaction need `min_sample` behind them."""

    min_sample: int
    min_acceptance_rate: float
    min_completion_rate: float
    max_late_rate: float
    min_satisfaction: float
    max_upheld_complaints: int


@dataclass(frozen=True, slots=True)
class ProviderFigures:
    """A provider's record; a rate or mean is None when nothing stands behind it."""

    offers: int
    answered: int  # offers accepted, declined, expired or undeliverable
    accepted: int  # offers accepted (and later arrived or done)
    acceptance_rate: float | None  # accepted / answered
    mean_seconds_to_accept: float | None
    done: int  # accepted offers reported done
    completion_rate: float | None  # orders done / orders settled (done or failed; open ones are not yet)
    orders: int
    orders_done: int
    orders_failed: int
    arrivals: int  # orders the provider arrived at
    late: int  # ... after the end of the window
    late_rate: float | None  # late / arrivals
    satisfaction: float | None  # mean follow-up score (1..5)
    scores: int
    upheld_complaints: int


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None for an empty whole."""
    return part / whole if whole else None


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None for no values."""
    return sum(values) / len(values) if values else None


def provider_figures(
    *,
    offers: Iterable[OfferFacts],
    orders: Iterable[OrderFacts],
    scores: Sequence[int],
    upheld_complaints: int,
) -> ProviderFigures:
    """The figures for one provider from its offers, orders, follow-up scores and upheld complaints."""
    offers, orders = list(offers), list(orders)
    answered = [o for o in offers if o.state in ANSWERED_STATES]
    accepted = [o for o in offers if o.state in ACCEPTED_STATES]
    done = sum(1 for o in offers if o.state == "done")
    arrivals = [o for o in orders if o.arrived_at is not None]
    late = sum(1 for o in arrivals if o.arrived_at is not None and o.arrived_at > o.window_end)
    orders_done = sum(1 for o in orders if o.state in DONE_ORDER_STATES)
    orders_failed = sum(1 for o in orders if o.state == "failed")
    return ProviderFigures(
        offers=len(offers),
        answered=len(answered),
        accepted=len(accepted),
        acceptance_rate=ratio(len(accepted), len(answered)),
        mean_seconds_to_accept=mean(
            [(o.answered_at - o.offered_at).total_seconds() for o in accepted if o.answered_at is not None]
        ),
        done=done,
        completion_rate=ratio(orders_done, orders_done + orders_failed),
        orders=len(orders),
        orders_done=orders_done,
        orders_failed=orders_failed,
        arrivals=len(arrivals),
        late=late,
        late_rate=ratio(late, len(arrivals)),
        satisfaction=mean([float(s) for s in scores]),
        scores=len(scores),
        upheld_complaints=upheld_complaints,
    )


def flags(figures: ProviderFigures, thresholds: Thresholds) -> list[str]:
    """Why the provider should be reviewed: each figure beyond its threshold with enough behind it."""
    found: list[str] = []
    enough = thresholds.min_sample
    if _below(figures.acceptance_rate, thresholds.min_acceptance_rate, figures.answered, enough):
        found.append(LOW_ACCEPTANCE)
    settled = figures.orders_done + figures.orders_failed
    if _below(figures.completion_rate, thresholds.min_completion_rate, settled, enough):
        found.append(LOW_COMPLETION)
    if (
        figures.late_rate is not None
        and figures.arrivals >= enough
        and figures.late_rate > thresholds.max_late_rate
    ):
        found.append(HIGH_LATENESS)
    if _below(figures.satisfaction, thresholds.min_satisfaction, figures.scores, enough):
        found.append(LOW_SATISFACTION)
    if figures.upheld_complaints > thresholds.max_upheld_complaints:
        found.append(UPHELD_COMPLAINTS)
    return found


def _below(value: float | None, minimum: float, sample: int, enough: int) -> bool:
    return value is not None and sample >= enough and value < minimum


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """An agent's record on the console."""

    calls_acknowledged: int
    mean_seconds_to_acknowledge: float | None  # from the call opening to this agent acknowledging it
    follow_ups_completed: int
    satisfaction: float | None  # mean score on follow-ups of the calls this agent handled
    scores: int
    care_calls_completed: int
    upheld_complaints: int


def agent_figures(
    *,
    seconds_to_acknowledge: Sequence[float],
    follow_ups_completed: int,
    scores: Sequence[int],
    care_calls_completed: int,
    upheld_complaints: int,
) -> AgentFigures:
    """The figures for one agent from the calls they acknowledged and the work they completed."""
    return AgentFigures(
        calls_acknowledged=len(seconds_to_acknowledge),
        mean_seconds_to_acknowledge=mean(seconds_to_acknowledge),
        follow_ups_completed=follow_ups_completed,
        satisfaction=mean([float(s) for s in scores]),
        scores=len(scores),
        care_calls_completed=care_calls_completed,
        upheld_complaints=upheld_complaints,
    )
