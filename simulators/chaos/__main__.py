"""python -m simulators.chaos --cycles N [--seed S] [--processes K]: see simulators/chaos/__init__.py."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from simulators.chaos.harness import Options, run
from simulators.chaos.report import render
from simulators.chaos.schedule import FaultKind

EXIT_VIOLATIONS = 1
EXIT_HARNESS = 2
EXIT_INTERRUPTED = 130


def _kinds(value: str) -> tuple[FaultKind, ...]:
    try:
        return tuple(FaultKind(kind.strip()) for kind in value.split(",") if kind.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> Options:
    """The command line as Options."""
    parser = argparse.ArgumentParser(prog="python -m simulators.chaos", description=__doc__)
    parser.add_argument("--cycles", type=int, required=True, help="how many fault cycles")
    parser.add_argument("--seed", type=int, default=1, help="the faults, traffic and city follow from it")
    parser.add_argument("--processes", type=int, default=2, help="dispatch serve processes")
    parser.add_argument("--cycle-seconds", type=float, default=5.0, help="length of a cycle (at least)")
    parser.add_argument("--rate", type=float, default=1.0, help="alarms a second")
    parser.add_argument("--elders", type=int, default=150, help="size of the seeded city")
    parser.add_argument("--grace", type=float, default=10.0, help="s after an ack (or a fault) for the call")
    parser.add_argument("--settle", type=float, default=40.0, help="s for SMS to be final, jobs cancelled")
    parser.add_argument(
        "--only",
        type=_kinds,
        default=(),
        metavar="KIND[,KIND...]",
        help="draw faults from these kinds only: " + ", ".join(kind.value for kind in FaultKind),
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the logs here before cleaning up")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every fault and violation")
    args = parser.parse_args(argv)
    if args.cycles < 1 or args.processes < 1 or args.rate <= 0 or args.elders < 10:
        parser.error("--cycles and --processes must be >= 1, --rate > 0, --elders >= 10")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("simulators.provider").setLevel(logging.WARNING)
    return Options(
        cycles=args.cycles,
        seed=args.seed,
        processes=args.processes,
        cycle_s=args.cycle_seconds,
        rate=args.rate,
        elders=args.elders,
        grace_s=args.grace,
        settle_s=args.settle,
        keep=args.keep_logs,
        only=args.only,
    )


def main(argv: list[str] | None = None) -> int:
    """Run, print the table; 0 clean, 1 violations, 2 the harness could not do its job, 130 interrupted."""
    options = parse_args(argv)
    try:
        summary = asyncio.run(run(options))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; everything started was stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(render(summary), flush=True)
    if summary.violations:
        return EXIT_VIOLATIONS
    return EXIT_HARNESS if summary.harness_problems else 0


if __name__ == "__main__":
    sys.exit(main())
