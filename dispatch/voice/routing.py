"""Which waiting call goes next and to which agent: plain data in, plain data out (no database, no clock).

Calls: emergencies first, then the longest waiting. Agents: ready ones, the longest idle first (the oldest
`ready_since`), skipping those already tried for this call unless nobody else is left; a call attached to
an alarm goes first to the agent holding that alarm, when that agent can take it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatch.voice.models import AgentState, PhoneCategory

EMERGENCY_RANK = 0
NORMAL_RANK = 1


@dataclass(frozen=True, slots=True)
class WaitingCall:
    id: int
    rank: int
    queued_at: datetime
    tried: frozenset[int] = frozenset()
    preferred_agent_id: int | None = None  # the agent holding the alarm call this one is attached to


@dataclass(frozen=True, slots=True)
class Seat:
    operator_id: int
    state: AgentState
    ready_since: datetime | None


@dataclass(frozen=True, slots=True)
class Offer:
    phone_call_id: int
    operator_id: int


def rank_of(category: PhoneCategory | None) -> int:
    """Emergencies (and calls whose caller pressed nothing) before everything else."""
    return EMERGENCY_RANK if category in (None, PhoneCategory.emergency) else NORMAL_RANK


def queue_order(calls: Iterable[WaitingCall]) -> list[WaitingCall]:
    """Emergency first, then the oldest."""
    return sorted(calls, key=lambda c: (c.rank, c.queued_at, c.id))


def _idle_order(seat: Seat) -> tuple[datetime, int]:
    return seat.ready_since or datetime.max.replace(tzinfo=UTC), seat.operator_id


def next_agent(call: WaitingCall, seats: Sequence[Seat]) -> int | None:
    """The agent to ring for this call, or None when nobody can take it."""
    if call.preferred_agent_id is not None:
        for seat in seats:
            if seat.operator_id == call.preferred_agent_id and seat.state in (
                AgentState.ready,
                AgentState.wrap_up,
            ):
                return seat.operator_id
    ready = sorted((s for s in seats if s.state == AgentState.ready and s.ready_since), key=_idle_order)
    untried = [s for s in ready if s.operator_id not in call.tried]
    chosen = untried or ready
    return chosen[0].operator_id if chosen else None


def plan_offers(calls: Iterable[WaitingCall], seats: Sequence[Seat]) -> list[Offer]:
    """Offers for as many waiting calls as there are free agents, in queue order, one call per agent."""
    free = list(seats)
    offers: list[Offer] = []
    for call in queue_order(calls):
        agent = next_agent(call, free)
        if agent is None:
            continue
        offers.append(Offer(call.id, agent))
        free = [s for s in free if s.operator_id != agent]
    return offers
