"""Which fault each cycle brings, when in the cycle and for how long: a pure function of the seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    """What goes wrong in a cycle."""

    none = "none"  # a calm cycle: the baseline alarm-to-call time
    kill_server = "kill_server"  # kill -9 of one server process, restarted after the pause
    redis_restart = "redis_restart"  # Redis shut down with a snapshot and started again: data kept
    redis_lost = "redis_lost"  # Redis shut down without one and started empty: streams and groups gone
    pg_restart_fast = "pg_restart_fast"  # pg_ctl stop -m fast, pause, start
    pg_restart_immediate = "pg_restart_immediate"  # pg_ctl stop -m immediate (crash recovery), pause, start
    pg_cut = "pg_cut"  # the proxy to PostgreSQL drops every connection and refuses new ones for a while
    pg_stall = "pg_stall"  # the proxy to PostgreSQL holds every byte for a while
    redis_cut = "redis_cut"
    redis_stall = "redis_stall"
    twilio_429 = "twilio_429"  # the fake Twilio answers 429 for a while
    twilio_500 = "twilio_500"  # ... or 500


# How long each kind lasts (seconds, min and max): the pause before a restart, or the cut / stall / outage.
DURATIONS: dict[FaultKind, tuple[float, float]] = {
    FaultKind.none: (0.0, 0.0),
    FaultKind.kill_server: (0.5, 2.0),
    FaultKind.redis_restart: (1.0, 3.0),
    FaultKind.redis_lost: (1.0, 3.0),
    FaultKind.pg_restart_fast: (0.5, 2.0),
    FaultKind.pg_restart_immediate: (0.5, 2.0),
    FaultKind.pg_cut: (1.0, 3.0),
    FaultKind.pg_stall: (1.0, 3.0),
    FaultKind.redis_cut: (1.0, 3.0),
    FaultKind.redis_stall: (1.0, 3.0),
    FaultKind.twilio_429: (2.0, 5.0),
    FaultKind.twilio_500: (2.0, 5.0),
}
# After every kind has had its turn, calm cycles come less often than faults.
WEIGHTS: dict[FaultKind, float] = {kind: 1.0 for kind in FaultKind} | {FaultKind.none: 0.5}
FAULT_AT_S = (0.3, 1.5)  # when in the cycle the fault starts


@dataclass(frozen=True, slots=True)
class Fault:
    """One cycle's fault: its kind, start offset in the cycle, duration, and the server it hits."""

    cycle: int
    kind: FaultKind
    at_s: float
    duration_s: float
    target: int  # index of the server process (used by kill_server)


def plan(*, seed: int, cycles: int, processes: int, only: Sequence[FaultKind] = ()) -> list[Fault]:
    """The faults of `cycles` cycles: every kind (of `only`, when given) once in a seeded order, then seeded
    weighted draws."""
    if cycles < 0 or processes < 1:
        raise ValueError("cycles must be >= 0 and processes >= 1")
    rng = random.Random(seed)
    kinds = list(dict.fromkeys(only)) if only else list(FaultKind)
    rng.shuffle(kinds)
    population = list(kinds)
    weights = [WEIGHTS[kind] for kind in population]
    faults = []
    for cycle in range(cycles):
        kind = kinds[cycle] if cycle < len(kinds) else rng.choices(population, weights)[0]
        low, high = DURATIONS[kind]
        faults.append(
            Fault(
                cycle=cycle,
                kind=kind,
                at_s=round(rng.uniform(*FAULT_AT_S), 3),
                duration_s=round(rng.uniform(low, high), 3),
                target=rng.randrange(processes),
            )
        )
    return faults
