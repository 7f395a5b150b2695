"""Service-desk load run: the coverage check against a brute-force scan, care-call scheduling and
recurring-plan orders, on one synthetic city, in one run.

    python -m simulators.load.service_desk [--elders 20000] [--providers 400] [--plans 1000] [--agents 20]

The city: `--elders` elders spread uniformly over Fuzhou (lon 119.2-119.4, lat 26.0-26.15, about 20 x 17
km), each in one of six districts by position (a 3 x 2 grid), a quarter living alone and some more in empty
nests (so weekly care calls); `--providers` active providers, each with 1-4 random service types and a
star-shaped service area 2-6 km across whose centre lies up to 2.5 km from the provider's base (so the
travel circle, 15 minutes at 20 km/h, sometimes decides); `--agents` active agents. It is built with bulk
inserts in a fresh SQLite file and, when reachable, in a fresh schema of PostgreSQL (127.0.0.1:5432/test,
dropped at the end). The clock stands still at Monday 2026-03-02 09:00 in Shanghai.

Measured, each through the dispatch code's public functions, with the commit included where one is made:

1. coverage: `dispatch.providers.coverage.report(...)` (an STRtree over the homes), then a brute-force
   baseline reading the same rows and scanning, for each elder and service type, the active providers of
   the type until one has `area.covers(home)` and its base within the circle (haversine). The two must
   find the same uncovered elders per type (count and the listed first ones), else the run fails.
2. care calls: `ServiceDesk.schedule_care_calls` (the scheduler in batches of transactions) for every
   elder, the first pass (it creates one call per elder) and a repeat (it creates none); on both databases.
3. recurring plans (SQLite): `--plans` weekday lunch plans for as many elders; the service desk's two
   steps as its timer runs them (`ServiceDesk.plan_orders`: a batch of plans per transaction, over the
   default horizon, Monday to Wednesday: three orders a plan; then `ServiceDesk.dispatch_new_orders`: one
   transaction per order: match, job, first offer and its SMS in the outbox).

While each writing step runs, a probe thread commits a one-row write (a watch's last-seen time) every 50 ms
on its own connection; the notes give its longest wait and how many gave up (SQLite's 5 s busy timeout):
what a heartbeat or an alarm would suffer meanwhile.

Single process; "client CPU s" is this process's CPU time in the step (the rest is waiting for the
database server, on PostgreSQL). The ratio is the baseline's seconds over the row's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch import geo
from dispatch.auth.models import Operator, Role
from dispatch.auth.passwords import hash_password
from dispatch.bus.memory import MemoryBus
from dispatch.carecalls.models import CareCadence, CareCall
from dispatch.catalog import ServiceType
from dispatch.clock import Clock, FakeClock
from dispatch.db import migrate
from dispatch.db.session import create_engine, create_session_factory
from dispatch.desk.processor import ServiceDesk
from dispatch.elders.models import Device, Elder, ElderStatus
from dispatch.localtime import local_date
from dispatch.offers import service as offers
from dispatch.offers.matcher import ProviderMatcher
from dispatch.offers.models import Job, Offer
from dispatch.orders.models import PlanFrequency, RecurringPlan
from dispatch.providers import coverage
from dispatch.providers.models import Provider, ProviderStatus
from dispatch.settings import Settings
from simulators.load.common import insert_elders_with_watches, own_cpu_seconds
from simulators.load.matching import offset, star_area

PG_URL = os.environ.get("DISPATCH_BENCH_PG_URL", "postgresql+asyncpg://127.0.0.1:5432/test")
MIN_LON, MAX_LON, MIN_LAT, MAX_LAT = 119.2, 119.4, 26.0, 26.15
DISTRICT_GRID = (("鼓楼区", "晋安区", "马尾区"), ("仓山区", "台江区", "长乐区"))  # north row, south row
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
LUNCH = ("11:00", "12:30")
ALL_WEEK = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "07:00", "end": "21:00"}]
PROBE_INTERVAL_S = 0.05  # how often the probe writes while a step runs
OFFER_CODES = 9000  # 4-digit offer codes, 1000-9999

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Home:
    """Where one elder lives and what makes their care calls weekly."""

    lon: float
    lat: float
    district: str
    living_alone: bool
    empty_nest: bool


@dataclass(frozen=True, slots=True)
class City:
    """The synthetic city: elders' homes, provider rows ready to insert, agents."""

    homes: list[Home]
    providers: list[dict[str, Any]]
    agents: int


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    what: str
    database: str
    n: int
    seconds: float
    cpu_seconds: float
    baseline_seconds: float | None = None
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class BruteSite:
    """An active provider as the brute-force scan sees it."""

    service_types: frozenset[str]
    area: BaseGeometry
    base_lon: float
    base_lat: float


class CoverageDisagreement(RuntimeError):
    """The indexed coverage check and the brute-force scan found different uncovered elders."""


# --- the city (pure) ------------------------------------------------------------------------------


def district_of(lon: float, lat: float) -> str:
    """The district of a point: the city box cut into 3 columns by 2 rows."""
    column = min(2, int((lon - MIN_LON) / (MAX_LON - MIN_LON) * 3))
    row = 0 if lat >= (MIN_LAT + MAX_LAT) / 2 else 1
    return DISTRICT_GRID[row][column]


def make_home(rng: random.Random) -> Home:
    """One elder's home anywhere in the city; 25% live alone, 15% of the rest in an empty nest."""
    lon, lat = rng.uniform(MIN_LON, MAX_LON), rng.uniform(MIN_LAT, MAX_LAT)
    alone = rng.random() < 0.25
    return Home(lon, lat, district_of(lon, lat), alone, not alone and rng.random() < 0.15)


def make_provider(rng: random.Random, number: int, now: datetime) -> dict[str, Any]:
    """An active provider row: 1-4 types, a 2-6 km star area centred up to 2.5 km from its base."""
    lon, lat = rng.uniform(MIN_LON, MAX_LON), rng.uniform(MIN_LAT, MAX_LAT)
    away, bearing = rng.uniform(0, 2500), rng.uniform(0, 2 * math.pi)
    centre = offset(lon, lat, east_m=away * math.cos(bearing), north_m=away * math.sin(bearing))
    area = star_area(rng, centre[0], centre[1], rng.uniform(1000, 3000))
    return {
        "name": f"压测服务商{number}",
        "registration_number": f"91350102BX{number:08d}",
        "contact_person": "",
        "phone": f"139{number:08d}",
        "address": "",
        "district": district_of(lon, lat),
        "service_types": sorted(t.value for t in rng.sample(list(ServiceType), k=rng.randint(1, 4))),
        "base_lon": lon,
        "base_lat": lat,
        "service_area": json.loads(shapely.to_geojson(area)),
        "price_list": [],
        "service_frequency": "",
        "commitments": "",
        "capacity": rng.randint(5, 50),
        "working_hours": ALL_WEEK,
        "status": ProviderStatus.active,
        "status_reason": "",
        "admission": {},
        "review_flag": "",
        "flagged_at": None,
        "rating": round(rng.uniform(3.0, 5.0), 1),
        "rating_count": rng.randint(0, 200),
        "created_at": now,
        "updated_at": now,
    }


def make_city(*, elders: int, providers: int, agents: int, seed: int) -> City:
    """The same city for the same arguments."""
    rng = random.Random(seed)
    homes = [make_home(rng) for _ in range(elders)]
    rows = [make_provider(rng, number, START) for number in range(1, providers + 1)]
    return City(homes=homes, providers=rows, agents=agents)


def imei_of(n: int) -> str:
    return f"87{n:013d}"


# --- building it in a database --------------------------------------------------------------------


async def build_city(engine: AsyncEngine, city: City, *, plans: int) -> None:
    """Elders (bulk, then moved to their homes), providers, agents and `plans` weekday lunch plans."""
    async with engine.begin() as connection:
        await insert_elders_with_watches(connection, len(city.homes), imei_of=imei_of, name_prefix="服务")
        elder = cast(Table, Elder.__table__)
        move = (
            update(elder)
            .where(elder.c.id == bindparam("elder_id"))
            .values(
                home_lon=bindparam("lon"),
                home_lat=bindparam("lat"),
                district=bindparam("area"),
                living_alone=bindparam("alone"),
                empty_nest=bindparam("nest"),
            )
        )
        moves = [
            {"elder_id": n, "lon": h.lon, "lat": h.lat, "area": h.district, "alone": h.living_alone}
            | {"nest": h.empty_nest}
            for n, h in enumerate(city.homes, start=1)
        ]
        await connection.execute(move, moves)
        await connection.execute(insert(cast(Table, Provider.__table__)), city.providers)
        await connection.execute(insert(cast(Table, Operator.__table__)), await agent_rows(city.agents))
        if plans:
            await connection.execute(insert(cast(Table, RecurringPlan.__table__)), plan_rows(plans))


async def agent_rows(count: int) -> list[dict[str, Any]]:
    """Active agents sharing one password hash (hashing is not what is measured)."""
    password_hash = await hash_password("service desk bench")
    return [
        {
            "username": f"desk{n:02d}",
            "display_name": f"坐席{n}",
            "role": Role.agent,
            "password_hash": password_hash,
            "active": True,
            "created_at": START,
            "updated_at": START,
        }
        for n in range(1, count + 1)
    ]


def plan_rows(count: int) -> list[dict[str, Any]]:
    """Lunch every weekday for elders 1..count, from today on."""
    today = local_date(START)
    return [
        {
            "elder_id": n,
            "service_type": ServiceType.meal_assistance,
            "frequency": PlanFrequency.weekly,
            "weekdays": [1, 2, 3, 4, 5],
            "month_days": [],
            "start_time": LUNCH[0],
            "end_time": LUNCH[1],
            "starts_on": today,
            "ends_on": None,
            "notes": "",
            "active": True,
            "generated_until": None,
            "created_by": "bench",
            "created_at": START,
            "updated_at": START,
        }
        for n in range(1, count + 1)
    ]


# --- timing ---------------------------------------------------------------------------------------


@dataclass
class WriteProbe:
    """A one-row write (a watch's last-seen time, as heartbeats write it) committed every PROBE_INTERVAL_S
    while a step runs, from a thread with its own event loop and engine (so the step cannot starve it):
    how long the longest waited, and how many gave up (SQLite's busy timeout)."""

    longest_s: float = 0.0
    writes: int = 0
    failed: int = 0
    stopped: threading.Event = field(default_factory=threading.Event)

    async def run(self, settings: Settings) -> None:
        engine = create_engine(settings)
        statement = update(Device).where(Device.id == 1).values(last_seen_at=START)
        try:
            while not self.stopped.is_set():
                started = time.perf_counter()
                try:
                    async with engine.begin() as connection:
                        await connection.execute(statement)
                    self.writes += 1
                except OperationalError:  # SQLite: "database is locked" after its busy timeout
                    self.failed += 1
                self.longest_s = max(self.longest_s, time.perf_counter() - started)
                await asyncio.sleep(PROBE_INTERVAL_S)
        finally:
            await engine.dispose()

    def describe(self) -> str:
        gave_up = f", {self.failed} gave up" if self.failed else ""
        return f"a concurrent 1-row write waited up to {self.longest_s:.2f} s ({self.writes} done{gave_up})"


@contextlib.contextmanager
def probing(settings: Settings) -> Iterator[WriteProbe]:
    """A WriteProbe writing in its own thread for the duration of the block."""
    probe = WriteProbe()
    thread = threading.Thread(target=asyncio.run, args=(probe.run(settings),), name="write-probe")
    thread.start()
    try:
        yield probe
    finally:
        probe.stopped.set()
        thread.join()


async def timed(work: Callable[[], Awaitable[T]]) -> tuple[T, float, float]:
    """The result, wall seconds and this process's CPU seconds of one awaited piece of work."""
    cpu, started = own_cpu_seconds(), time.perf_counter()
    result = await work()
    return result, time.perf_counter() - started, own_cpu_seconds() - cpu


# --- 1. coverage ----------------------------------------------------------------------------------


async def indexed_uncovered(
    session: AsyncSession, settings: Settings
) -> dict[ServiceType, tuple[int, list[int]]]:
    """Per type, how many elders `coverage.report` finds uncovered and the ids it lists."""
    found = await coverage.report(
        session=session,
        minimum=settings.coverage_minimum,
        circle_minutes=settings.coverage_circle_minutes,
        speed_kmh=settings.travel_speed_kmh,
    )
    return {group.service_type: (group.count, [e.id for e in group.elders]) for group in found.uncovered}


async def brute_force_inputs(session: AsyncSession) -> tuple[list[tuple[int, float, float]], list[BruteSite]]:
    """The active elders' homes (by id) and the active providers, read as `report` reads them."""
    homes = await session.execute(
        select(Elder.id, Elder.home_lon, Elder.home_lat)
        .where(Elder.status == ElderStatus.active)
        .order_by(Elder.id)
    )
    providers = await session.scalars(select(Provider).where(Provider.status == ProviderStatus.active))
    sites = [
        BruteSite(frozenset(p.service_types), shape(p.service_area), p.base_lon, p.base_lat)
        for p in providers
    ]
    return [(elder_id, lon, lat) for elder_id, lon, lat in homes], sites


def brute_force_uncovered(
    homes: Sequence[tuple[int, float, float]], sites: Sequence[BruteSite], radius_m: float
) -> dict[ServiceType, list[int]]:
    """Per type, the ids of the elders no site of the type covers with its base within radius_m."""
    by_type = {t: [s for s in sites if t.value in s.service_types] for t in ServiceType}
    uncovered: dict[ServiceType, list[int]] = {t: [] for t in ServiceType}
    for elder_id, lon, lat in homes:
        point = Point(lon, lat)
        for service_type, candidates in by_type.items():
            if not any(
                s.area.covers(point) and geo.distance_m(s.base_lon, s.base_lat, lon, lat) <= radius_m
                for s in candidates
            ):
                uncovered[service_type].append(elder_id)
    return uncovered


async def brute_force(session: AsyncSession, settings: Settings) -> dict[ServiceType, list[int]]:
    """The baseline: read the rows, then scan every elder and type."""
    homes, sites = await brute_force_inputs(session)
    radius_m = coverage.circle_radius_m(settings.coverage_circle_minutes, settings.travel_speed_kmh)
    return brute_force_uncovered(homes, sites, radius_m)


def compare_coverage(
    indexed: dict[ServiceType, tuple[int, list[int]]], brute: dict[ServiceType, list[int]]
) -> int:
    """The uncovered (elder, type) pairs both found; CoverageDisagreement if they differ anywhere."""
    for service_type, ids in brute.items():
        count, listed = indexed[service_type]
        if (
            count != len(ids)
            or listed != ids[: len(listed)]
            or len(listed) != min(len(ids), coverage.MAX_LISTED)
        ):
            raise CoverageDisagreement(
                f"{service_type.value}: report() {count} uncovered, first {listed[:5]}; "
                f"brute force {len(ids)}, first {ids[:5]}"
            )
    return sum(len(ids) for ids in brute.values())


async def measure_coverage(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, database: str
) -> list[Row]:
    """report() and the brute-force scan on the same rows; they must agree."""
    async with sessions() as session:
        indexed, indexed_s, indexed_cpu = await timed(lambda: indexed_uncovered(session, settings))
    async with sessions() as session:
        brute, brute_s, brute_cpu = await timed(lambda: brute_force(session, settings))
    elders = await count_elders(sessions)
    pairs = compare_coverage(indexed, brute)
    note = f"{pairs:,} of {elders * len(ServiceType):,} (elder, type) pairs uncovered, same in both"
    return [
        Row("coverage: report(), STRtree (elders)", database, elders, indexed_s, indexed_cpu, brute_s, note),
        Row("coverage: brute-force baseline (elders)", database, elders, brute_s, brute_cpu, brute_s, note),
    ]


async def count_elders(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(Elder.id))) or 0)


# --- 2. care calls --------------------------------------------------------------------------------


def desk_of(sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings) -> ServiceDesk:
    """The service desk's timer as a server process builds it (its steps commit in batches)."""
    return ServiceDesk(
        sessions, MemoryBus(), clock, settings, ProviderMatcher(speed_kmh=settings.travel_speed_kmh)
    )


async def schedule_once(sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings) -> int:
    """One scheduling pass as the service desk's timer runs it."""
    return await desk_of(sessions, clock, settings).schedule_care_calls()


async def measure_care_calls(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings, database: str
) -> list[Row]:
    """The first scheduling pass (a call per elder) and a repeat (none)."""
    elders = await count_elders(sessions)
    with probing(settings) as probe:
        first, first_s, first_cpu = await timed(lambda: schedule_once(sessions, clock, settings))
    again, again_s, again_cpu = await timed(lambda: schedule_once(sessions, clock, settings))
    weekly = await count_weekly(sessions)
    return [
        Row(
            "care calls: schedule() first (calls made)",
            database,
            first,
            first_s,
            first_cpu,
            note=f"{weekly:,} weekly, {first - weekly:,} monthly; {probe.describe()}",
        ),
        Row(
            "care calls: schedule() repeat (elders checked)",
            database,
            elders,
            again_s,
            again_cpu,
            note=f"{again} made",
        ),
    ]


async def count_weekly(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count(CareCall.id)).where(CareCall.cadence == CareCadence.weekly)
            )
            or 0
        )


# --- 3. recurring plans ---------------------------------------------------------------------------


async def generate_orders(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> int:
    """The desk's plan step: every plan's orders over the horizon, a batch of plans per transaction."""
    return await desk_of(sessions, clock, settings).plan_orders()


async def dispatch_orders(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> int:
    """The desk's dispatch step: offer every undispatched order, one transaction each."""
    return await desk_of(sessions, clock, settings).dispatch_new_orders()


async def job_states(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessions() as session:
        rows = await session.execute(select(Job.state, func.count()).group_by(Job.state))
        return Counter({str(state.value): int(count) for state, count in rows})


async def live_codes(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Offers whose 4-digit code is still taken (offered, accepted or arrived)."""
    async with sessions() as session:
        query = select(func.count(Offer.id)).where(Offer.state.in_(offers.LIVE_CODE_STATES))
        return int(await session.scalar(query) or 0)


async def measure_plans(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings, database: str, plans: int
) -> list[Row]:
    """Orders made from the plans, then dispatched."""
    with probing(settings) as made_probe:
        made, made_s, made_cpu = await timed(lambda: generate_orders(sessions, clock, settings))
    with probing(settings) as sent_probe:
        sent, sent_s, sent_cpu = await timed(lambda: dispatch_orders(sessions, clock, settings))
    states = ", ".join(f"{count:,} {state}" for state, count in sorted((await job_states(sessions)).items()))
    codes = await live_codes(sessions)
    return [
        Row(
            "plans: generate_from_plans (orders made)",
            database,
            made,
            made_s,
            made_cpu,
            note=f"{plans:,} plans, horizon {settings.plan_horizon_days} days; {made_probe.describe()}",
        ),
        Row(
            "plans: dispatch (orders offered)",
            database,
            sent,
            sent_s,
            sent_cpu,
            note=f"jobs: {states}; offer codes in use {codes:,} of {OFFER_CODES:,}; {sent_probe.describe()}",
        ),
    ]


# --- one database ---------------------------------------------------------------------------------


async def measure(
    settings: Settings, city: City, *, database: str, plans: int, check_coverage: bool
) -> list[Row]:
    """Build the city in a migrated, empty database and run the measurements on it."""
    engine = create_engine(settings)
    try:
        await build_city(engine, city, plans=plans)
        sessions = create_session_factory(engine)
        clock = FakeClock(START)
        rows = await measure_coverage(sessions, settings, database) if check_coverage else []
        rows += await measure_care_calls(sessions, clock, settings, database)
        if plans:
            rows += await measure_plans(sessions, clock, settings, database, plans)
        return rows
    finally:
        await engine.dispose()


def sqlite_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url="", redis_url="", _env_file=None)


def pg_settings(schema: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, database_url=PG_URL, database_schema=schema, redis_url="", _env_file=None
    )


async def reachable(settings: Settings) -> bool:
    """Whether the database answers within a few seconds."""
    engine = create_engine(settings)
    try:
        async with asyncio.timeout(5), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except (OSError, TimeoutError):
        return False
    finally:
        await engine.dispose()


async def drop_schema(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> list[Row]:
    """SQLite first (everything), then PostgreSQL if reachable (coverage and care calls)."""
    city = make_city(elders=args.elders, providers=args.providers, agents=args.agents, seed=args.seed)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="service-desk-") as tmp:
        sqlite = sqlite_settings(Path(tmp) / "sqlite")
        await asyncio.to_thread(migrate.upgrade, sqlite)
        rows += await measure(sqlite, city, database="SQLite", plans=args.plans, check_coverage=True)
        pg = pg_settings(f"bench_desk_{uuid.uuid4().hex[:8]}", Path(tmp) / "pg")
        if args.skip_postgresql or not await reachable(pg):
            print("PostgreSQL not measured", file=sys.stderr)
            return rows
        try:
            await asyncio.to_thread(migrate.upgrade, pg)
            rows += await measure(pg, city, database="PostgreSQL", plans=0, check_coverage=args.pg_coverage)
        finally:
            await drop_schema(pg)
    return rows


# --- the report -----------------------------------------------------------------------------------


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The table, aligned: what, database, n, seconds, per second, ratio (baseline / this), client CPU."""
    header = ("what", "database", "n", "seconds", "per second", "ratio", "client CPU s")
    cells = [header] + [
        (
            r.what,
            r.database,
            f"{r.n:,}",
            f"{r.seconds:.3f}",
            f"{r.per_second:,.0f}",
            f"{r.baseline_seconds / r.seconds:.1f}x" if r.baseline_seconds and r.seconds > 0 else "",
            f"{r.cpu_seconds:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    rule = tuple("-" * w for w in widths)
    return [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in (cells[0], rule, *cells[1:])
    ]


def print_table(rows: Sequence[Row], args: argparse.Namespace) -> None:
    print(
        f"\nservice desk: {args.elders:,} elders, {args.providers:,} active providers, {args.agents} agents, "
        f"{args.plans:,} plans, seed {args.seed}, {os.cpu_count()} cores"
    )
    for line in table_lines(rows):
        print(line)
    print()
    for row in rows:
        if row.note:
            print(f"{row.what} [{row.database}]: {row.note}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run and print; 1 if the coverage methods disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--elders", type=int, default=20_000)
    parser.add_argument("--providers", type=int, default=400)
    parser.add_argument("--plans", type=int, default=1_000, help="weekday lunch plans (SQLite only)")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12349)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--pg-coverage", action="store_true", help="the coverage check on PostgreSQL too")
    args = parser.parse_args(argv)
    logging.getLogger("dispatch").setLevel(logging.ERROR)  # no warning per job nobody can take
    if args.plans > args.elders:
        parser.error("--plans cannot exceed --elders (one plan per elder)")
    try:
        rows = asyncio.run(run(args))
    except CoverageDisagreement as disagreement:
        print(f"coverage methods disagree: {disagreement}", file=sys.stderr)
        return 1
    print_table(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
