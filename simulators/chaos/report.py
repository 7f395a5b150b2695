"""The run's summary as a plain-text table (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from simulators.chaos.invariants import Invariant, Violation
from simulators.chaos.schedule import FaultKind

EXAMPLES_PER_INVARIANT = 3


@dataclass
class Found:
    """A violation and the cycle and fault it was first seen under."""

    violation: Violation
    cycle: int
    fault: FaultKind


@dataclass
class Summary:
    """Everything the table shows."""

    seed: int
    cycles: int
    processes: int
    elapsed_s: float
    faults: Counter[FaultKind] = field(default_factory=Counter)
    acked: Counter[FaultKind] = field(default_factory=Counter)  # acknowledged alarms, by the fault they met
    latencies: dict[FaultKind, list[float]] = field(default_factory=lambda: defaultdict(list))
    found: list[Found] = field(default_factory=list)
    alarms_sent: int = 0
    alarms_unacked: int = 0
    never_a_call: int = 0  # acknowledged alarms still on no call at the end
    calls: Mapping[str, int] = field(default_factory=dict)  # by state
    jobs: Mapping[str, int] = field(default_factory=dict)
    orders: Mapping[str, int] = field(default_factory=dict)
    sms: Mapping[str, int] = field(default_factory=dict)  # by status and error code
    bot: Mapping[str, int] = field(default_factory=dict)
    harness_problems: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return len(self.found)


def _worst(values: list[float]) -> str:
    return f"{max(values):.2f} s" if values else "-"


def _p50(values: list[float]) -> str:
    return f"{sorted(values)[len(values) // 2]:.2f} s" if values else "-"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none"


def render(summary: Summary) -> str:
    """The table and the lists under it."""
    by_fault = Counter(found.fault for found in summary.found)
    lines = [
        f"chaos run: seed {summary.seed}, {summary.cycles} cycles, {summary.processes} server processes, "
        f"{summary.elapsed_s:.1f} s",
        "",
        f"{'fault':<22}{'cycles':>7}{'alarms acked':>14}{'median a→c':>12}{'worst a→c':>12}{'violations':>12}",
    ]
    every: list[float] = []
    for kind in FaultKind:
        values = summary.latencies.get(kind, [])
        every += values
        if not (summary.faults[kind] or summary.acked[kind] or by_fault[kind]):
            continue
        lines.append(
            f"{kind.value:<22}{summary.faults[kind]:>7}{summary.acked[kind]:>14}{_p50(values):>12}"
            f"{_worst(values):>12}{by_fault[kind]:>12}"
        )
    lines.append(
        f"{'total':<22}{sum(summary.faults.values()):>7}{sum(summary.acked.values()):>14}{_p50(every):>12}"
        f"{_worst(every):>12}{summary.violations:>12}"
    )
    lines += [
        "",
        f"alarms: {summary.alarms_sent} sent, {sum(summary.acked.values())} acknowledged, "
        f"{summary.alarms_unacked} never acknowledged (given up), {summary.never_a_call} acknowledged but on no "
        "call at the end",
        f"calls: {sum(summary.calls.values())} ({_counts(summary.calls)})",
        f"jobs: {sum(summary.jobs.values())} ({_counts(summary.jobs)})",
        f"orders: {sum(summary.orders.values())} ({_counts(summary.orders)})",
        f"SMS out: {sum(summary.sms.values())} (by status and error code: {_counts(summary.sms)})",
        f"agent bot: {_counts(summary.bot)}",
        "",
        "violations by invariant:",
    ]
    by_invariant: dict[Invariant, list[Found]] = defaultdict(list)
    for found in summary.found:
        by_invariant[found.violation.invariant].append(found)
    for invariant in Invariant:
        items = by_invariant.get(invariant, [])
        kinds = Counter(found.fault.value for found in items)
        under = f"  (under {_counts(kinds)})" if items else ""
        lines.append(f"  {invariant.value:<46}{len(items):>6}{under}")
        for found in items[:EXAMPLES_PER_INVARIANT]:
            v = found.violation
            lines.append(f"      cycle {found.cycle} ({found.fault.value}): {v.key}: {v.detail}")
    lines.append("")
    if summary.harness_problems:
        lines.append("HARNESS PROBLEMS (not findings about the server):")
        lines += [f"  {problem}" for problem in summary.harness_problems]
    else:
        lines.append("harness problems: none")
    lines.append(f"result: {summary.violations} violation(s)")
    return "\n".join(lines)
