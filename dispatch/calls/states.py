"""The call state machine, as one table (pure)."""

from __future__ import annotations

from enum import StrEnum

from dispatch.errors import InvalidTransition


class CallState(StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    dispatched = "dispatched"
    on_scene = "on_scene"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"
    false_alarm = "false_alarm"


S = CallState
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    S.new: frozenset({S.acknowledged, S.cancelled, S.false_alarm}),
    S.acknowledged: frozenset({S.dispatched, S.on_scene, S.resolved, S.cancelled, S.false_alarm}),
    S.dispatched: frozenset({S.on_scene, S.resolved, S.cancelled}),
    S.on_scene: frozenset({S.resolved}),
    S.resolved: frozenset({S.closed}),
    S.closed: frozenset(),
    S.cancelled: frozenset(),
    S.false_alarm: frozenset(),
}

# While a call is in one of these, a new alarm for the same elder joins it instead of opening another.
OPEN_STATES = frozenset({S.new, S.acknowledged, S.dispatched, S.on_scene})

# What the console's queue shows: the open calls and the resolved ones waiting to be closed.
QUEUE_STATES = OPEN_STATES | {S.resolved}

# How long a call may stay in a state before it shows as overdue (seconds).
STATE_SLA_SECONDS: dict[CallState, int] = {
    S.new: 60,
    S.acknowledged: 10 * 60,
    S.dispatched: 30 * 60,
    S.on_scene: 2 * 3600,
    S.resolved: 24 * 3600,
}


def check_transition(current: CallState, target: CallState) -> None:
    """InvalidTransition unless the table allows current → target."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"a call cannot go from {current.value} to {target.value}",
            reason="call_transition",
            params={"from": current.value, "to": target.value},
        )
