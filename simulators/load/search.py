"""Search load: how fast the console's search box answers on a city-sized registry.

    python -m simulators.load.search [--elders 100000] [--queries 300] [--only sqlite|postgresql]

Fills a fresh database (SQLite in a temporary directory; PostgreSQL in a fresh schema when reachable,
dropped at the end) with N elders in bulk: names drawn from the demo's surnames and given-name characters,
mobile numbers, ID-card numbers, and their search keys as the registry writes them. One `dispatch serve`
process per database; an agent logs in and asks `GET /api/v1/search?q=` one query at a time, for sampled
elders: their pinyin initials, the last 4 digits of their phone, the last 6 of their ID number. The
baseline is the registry list's substring filter (`GET /api/v1/elders?q=<last 4 digits>`, a scan), on the
same database in the same run. Prints p50 / p95 / max of the answer time as this client saw it, and how
often the sampled elder was among the answers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from pypinyin import Style, lazy_pinyin
from sqlalchemy import Table, insert, text

from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import SystemClock
from dispatch.db import migrate
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.demo import people
from dispatch.elders.idcard import make_id_number
from dispatch.elders.models import Elder, ElderSearchKey
from dispatch.settings import Settings
from simulators.load.common import elder_row, quantile, search_key_rows
from simulators.load.console_latency import (
    PASSWORD,
    Configuration,
    drop_schema,
    embedded,
    servers,
    shared,
    wait_ready,
)

REGIONS = ("350102", "350103", "350104", "350105", "350111", "350112")  # 福州's districts
GIVEN_CHARACTERS = sorted({ch for name in people.GIVEN_MALE + people.GIVEN_FEMALE for ch in name})
TARGET_MS = 100.0


def make_name(rng: random.Random) -> str:
    return rng.choice(people.SURNAMES) + "".join(rng.choices(GIVEN_CHARACTERS, k=rng.choice((1, 2, 2, 2))))


def make_id_number_once(rng: random.Random, taken: set[str]) -> tuple[date, str]:
    """A birth date in 1926-1961 and an ID-card number of one of the city's districts, not yet taken."""
    while True:
        birth = date(1926, 1, 1) + timedelta(days=rng.randrange(36 * 365))
        number = make_id_number(rng.choice(REGIONS), birth, rng.randrange(500), False)
        if number not in taken:
            taken.add(number)
            return birth, number


def make_elders(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    taken: set[str] = set()
    elders = []
    for n in range(1, count + 1):
        birth, id_number = make_id_number_once(rng, taken)
        phone = f"+86139{rng.randrange(10**8):08d}"
        row = elder_row(n, make_name(rng), (119.3, 26.08), now)
        elders.append(row | {"birth_date": birth, "id_number": id_number, "phone": phone})
    return elders


async def seed(settings: Settings, elders: list[dict[str, Any]], batch: int = 5000) -> None:
    """The elders and their search keys in bulk, and one agent."""
    await asyncio.to_thread(migrate.upgrade, settings)
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for start in range(0, len(elders), batch):
                chunk = elders[start : start + batch]
                await connection.execute(insert(cast(Table, Elder.__table__)), chunk)
                await connection.execute(
                    insert(cast(Table, ElderSearchKey.__table__)), search_key_rows(chunk)
                )
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT setval('elder_id_seq', (SELECT max(id) FROM elder))"))
                await connection.execute(text("ANALYZE"))
        async with unit_of_work(create_session_factory(engine)) as session:
            await auth_service.create_operator(
                session=session,
                clock=SystemClock(),
                actor=Actor.system("search-bench"),
                username="console01",
                display_name="Search bench",
                role=Role.agent,
                password=PASSWORD,
            )
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Kind:
    name: str
    path: str
    text_of: Callable[[dict[str, Any]], str]


KINDS = (
    Kind(
        "pinyin initials (e.g. zsf)",
        "/api/v1/search",
        lambda e: "".join(lazy_pinyin(e["name"], Style.FIRST_LETTER)),
    ),
    Kind("phone, last 4 digits", "/api/v1/search", lambda e: e["phone"][-4:]),
    Kind("ID number, last 6", "/api/v1/search", lambda e: e["id_number"][-6:]),
    Kind("baseline: list ?q= last 4 phone digits", "/api/v1/elders", lambda e: e["phone"][-4:]),
)


@dataclass
class Timings:
    database: str
    ms: dict[str, list[float]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)


async def ask(client: httpx.AsyncClient, kind: Kind, elder: dict[str, Any], timings: Timings) -> None:
    began = time.perf_counter()
    response = await client.get(kind.path, params={"q": kind.text_of(elder), "limit": 20})
    timings.ms.setdefault(kind.name, []).append((time.perf_counter() - began) * 1000)
    response.raise_for_status()
    ids = {item["id"] for item in response.json()["items"] if item.get("kind", "elder") == "elder"}
    timings.hits[kind.name] = timings.hits.get(kind.name, 0) + (elder["id"] in ids)


async def measure(config: Configuration, elders: list[dict[str, Any]], args: argparse.Namespace) -> Timings:
    began = time.perf_counter()
    await seed(config.settings, elders)
    print(f"{config.name}: {len(elders):,} elders stored in {time.perf_counter() - began:.0f} s", flush=True)
    timings = Timings(config.name)
    logs = Path(config.settings.data_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with servers(config, logs) as [server]:
        await wait_ready(server)
        async with httpx.AsyncClient(base_url=server.http, timeout=30) as client:
            answer = await client.post(
                "/api/v1/auth/login", json={"username": "console01", "password": PASSWORD}
            )
            answer.raise_for_status()
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            sample = random.Random(args.seed).sample(elders, args.queries)
            for elder in sample[:10]:  # warm the server's caches and pools
                await ask(client, KINDS[0], elder, Timings("warm-up"))
            for kind in KINDS:
                for elder in sample:
                    await ask(client, kind, elder, timings)
    return timings


def print_table(results: Sequence[Timings], args: argparse.Namespace) -> None:
    print(
        f"\nSearch: {args.elders:,} elders, {args.queries} sampled elders per kind, one query at a time, "
        f"1 server process; target p95 < {TARGET_MS:.0f} ms"
    )
    print(f"{'database':24} {'query':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'found':>7}")
    for result in results:
        for kind in KINDS:
            ms = result.ms.get(kind.name, [])
            found = f"{100 * result.hits.get(kind.name, 0) / max(len(ms), 1):.0f}%"
            print(
                f"{result.database[:24]:24} {kind.name:40} {quantile(ms, 0.5):8.1f} {quantile(ms, 0.95):8.1f} "
                f"{max(ms, default=float('nan')):8.1f} {found:>7}"
            )
    print("(found: the sampled elder among the first 20 answers; common initials match more than 20 elders)")


async def run(args: argparse.Namespace) -> list[Timings]:
    elders = make_elders(args.elders, args.seed)
    results = []
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        if args.only in (None, "sqlite"):
            results.append(await measure(embedded(Path(tmp)), elders, args))
        if args.only in (None, "postgresql"):
            config = shared(Path(tmp), 1)
            try:
                results.append(await measure(config, elders, args))
            finally:
                await drop_schema(config.settings)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elders", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="sampled elders per kind of query")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--seed", type=int, default=12349)
    args = parser.parse_args()
    print_table(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
