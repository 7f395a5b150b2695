"""Provider matching load run: ProviderIndex against a brute-force scan, on the same elders, in one run.

    python -m simulators.load.matching [--providers 10000] [--elders 100000] [--queries 2000] [--seed 12349]

Generates a city (lon 119.1-119.5, lat 25.9-26.2, about 40 x 33 km) of providers, each with a random
star-shaped service area 2-6 km across around its base, 0-3 free staff inside it, 1-4 service types,
a status (85% active), rating, capacity, load and one of a few weekly timetables; and elders spread
uniformly over the city. Times building the index, then matches `--queries` elders drawn from them (a
random service type, at a random minute of one week) with the index and with `match_brute_force`, one
after the other for each query, and prints the latency per query (p50, p99, mean) of each and their
ratio. Every sampled query's two results are compared; a disagreement fails the run. Single-threaded; the
p99 includes garbage collections and whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shapely.geometry import Polygon

from dispatch.catalog import ServiceType
from dispatch.matching import (
    Candidate,
    MatchRequest,
    MatchResult,
    ProviderIndex,
    WorkingWindow,
    match_brute_force,
)

MIN_LON, MAX_LON, MIN_LAT, MAX_LAT = 119.1, 119.5, 25.9, 26.2
M_PER_DEG_LAT = 111_195.0
WARM_UP = 20  # queries run once, unmeasured, before the measured ones
WEEK_START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
STATUSES = (("active", 0.85), ("pending", 0.05), ("suspended", 0.07), ("exited", 0.03))
EVERY_DAY = frozenset(range(1, 8))
TIMETABLES: tuple[tuple[WorkingWindow, ...], ...] = (
    (),
    (WorkingWindow(weekdays=frozenset(range(1, 7)), start_minute=8 * 60, end_minute=18 * 60),),
    (WorkingWindow(weekdays=EVERY_DAY, start_minute=10 * 60, end_minute=19 * 60),),
    (
        WorkingWindow(weekdays=frozenset(range(1, 6)), start_minute=8 * 60 + 30, end_minute=17 * 60 + 30),
        WorkingWindow(weekdays=frozenset({6}), start_minute=9 * 60, end_minute=12 * 60),
    ),
    (
        WorkingWindow(weekdays=EVERY_DAY, start_minute=0, end_minute=6 * 60),
        WorkingWindow(weekdays=EVERY_DAY, start_minute=20 * 60, end_minute=24 * 60),
    ),
)


@dataclass(frozen=True, slots=True)
class Timing:
    """Latencies of one matcher over the sampled queries, in milliseconds."""

    p50: float
    p99: float
    mean: float


def offset(lon: float, lat: float, *, east_m: float, north_m: float) -> tuple[float, float]:
    """The point east_m and north_m metres from (lon, lat) (flat-earth, fine at city scale)."""
    dlat = north_m / M_PER_DEG_LAT
    dlon = east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def star_area(rng: random.Random, lon: float, lat: float, radius_m: float) -> Polygon:
    """A star-shaped polygon around (lon, lat): 6-12 vertices at 60-100% of radius_m."""
    vertices = rng.randint(6, 12)
    ring = []
    for k in range(vertices):
        angle = 2 * math.pi * (k + rng.uniform(-0.3, 0.3)) / vertices
        reach = radius_m * rng.uniform(0.6, 1.0)
        ring.append(offset(lon, lat, east_m=reach * math.cos(angle), north_m=reach * math.sin(angle)))
    return Polygon(ring)


def make_candidate(rng: random.Random, provider_id: int) -> Candidate:
    """One random provider somewhere in the city."""
    lon, lat = rng.uniform(MIN_LON, MAX_LON), rng.uniform(MIN_LAT, MAX_LAT)
    radius_m = rng.uniform(1000, 3000)
    staff = tuple(
        offset(lon, lat, east_m=rng.uniform(-0.5, 0.5) * radius_m, north_m=rng.uniform(-0.5, 0.5) * radius_m)
        for _ in range(rng.randint(0, 3))
    )
    capacity = rng.randint(1, 20)
    return Candidate(
        provider_id=provider_id,
        name=f"provider {provider_id}",
        status=rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0],
        service_types=frozenset(rng.sample(list(ServiceType), k=rng.randint(1, 4))),
        area=star_area(rng, lon, lat, radius_m),
        base_lon=lon,
        base_lat=lat,
        staff_positions=staff,
        rating=round(rng.uniform(3.0, 5.0), 1),
        rating_count=rng.randint(0, 500),
        load=rng.randint(0, capacity),
        capacity=capacity,
        working_hours=rng.choice(TIMETABLES),
    )


def make_requests(rng: random.Random, *, elders: int, queries: int) -> list[MatchRequest]:
    """`queries` requests from elders drawn out of `elders` spread over the city."""
    points = [(rng.uniform(MIN_LON, MAX_LON), rng.uniform(MIN_LAT, MAX_LAT)) for _ in range(elders)]
    return [
        MatchRequest(
            service_type=rng.choice(list(ServiceType)),
            lon=lon,
            lat=lat,
            at=WEEK_START + timedelta(minutes=rng.randrange(7 * 1440)),
            speed_kmh=20.0,
            circle_minutes=15.0,
        )
        for lon, lat in rng.sample(points, k=min(queries, elders))
    ]


def measure(
    index: ProviderIndex, candidates: Sequence[Candidate], requests: Sequence[MatchRequest]
) -> tuple[list[float], list[float], list[MatchResult], int]:
    """Each request through the index, then brute force (interleaved, so machine noise hits both alike).

    Returns both latency lists (ms), the index's results and how many results were equal.
    """
    index_ms: list[float] = []
    brute_ms: list[float] = []
    results: list[MatchResult] = []
    agree = 0
    for request in requests:
        started = time.perf_counter()
        result = index.match(request)
        index_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        reference = match_brute_force(candidates, request)
        brute_ms.append((time.perf_counter() - started) * 1000)
        results.append(result)
        agree += result == reference
    return index_ms, brute_ms, results, agree


def summarise(latencies_ms: list[float]) -> Timing:
    """p50, p99 and mean of some latencies."""
    ordered = sorted(latencies_ms)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return Timing(p50=statistics.median(ordered), p99=p99, mean=statistics.fmean(ordered))


def print_table(index: Timing, brute: Timing) -> None:
    """The latency table with the brute/index ratio."""
    print(f"{'matcher':<22}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for label, timing in (("ProviderIndex.match", index), ("match_brute_force", brute)):
        print(f"{label:<22}{timing.p50:>10.3f}{timing.p99:>10.3f}{timing.mean:>10.3f}")
    ratios = (brute.p50 / index.p50, brute.p99 / index.p99, brute.mean / index.mean)
    print(f"{'ratio (brute/index)':<22}" + "".join(f"{ratio:>9.1f}x" for ratio in ratios))


def run(*, providers: int, elders: int, queries: int, seed: int) -> int:
    """Generate, build, measure, compare and print; 1 if the two matchers disagree."""
    rng = random.Random(seed)
    candidates = [make_candidate(rng, provider_id) for provider_id in range(1, providers + 1)]
    requests = make_requests(rng, elders=elders, queries=queries)
    started = time.perf_counter()
    index = ProviderIndex(candidates)
    build_ms = (time.perf_counter() - started) * 1000
    measure(index, candidates, requests[:WARM_UP])
    gc.collect()
    index_ms, brute_ms, index_results, agree = measure(index, candidates, requests)
    active = sum(candidate.status == "active" for candidate in candidates)
    print(
        f"providers {providers:,} ({active:,} active), elders {elders:,}, queries {len(requests):,}, seed {seed}"
    )
    print(f"index built in {build_ms:.1f} ms")
    print_table(summarise(index_ms), summarise(brute_ms))
    ranked = statistics.fmean(result.eligible_count for result in index_results)
    excluded = statistics.fmean(len(result.excluded) for result in index_results)
    print(f"per query: {ranked:.1f} eligible, {excluded:.1f} exclusions listed on average")
    print(f"index and brute force agree on {agree:,} of {len(requests):,} queries")
    return 0 if agree == len(requests) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--providers", type=int, default=10_000)
    parser.add_argument("--elders", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=12349)
    args = parser.parse_args(argv)
    return run(providers=args.providers, elders=args.elders, queries=args.queries, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
