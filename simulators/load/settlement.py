"""Settlement load: a month's provider statements for a city.

    python -m simulators.load.settlement [--orders 100000] [--providers 400] [--elders 20000] [--only sqlite|postgresql]

Fills a fresh database (SQLite in a temporary directory; PostgreSQL in a fresh schema, dropped at the end)
with a month of evidenced services as the platform books them: N orders spread over the month's days, each
charged to the ledger (allowance, budget, the district's receivable, the provider's payable, the elder's
prepaid: five entries), plus a few upheld complaints. Then times, in the same run on the same database:
drafting every provider's statement (`settlement.service.compute`, the aggregate the desk and the API use);
the baseline, the same sums by a Python loop over every entry of the month; one provider's statement lines
and XLSX; and the district's whole subsidy claim as XLSX. Target: statements for the month in under 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.db import migrate
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Elder
from dispatch.ledger import accounts
from dispatch.ledger.models import LedgerBalance, LedgerEntry, LedgerTxn, TxnKind
from dispatch.localtime import at_local
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider
from dispatch.settings import Settings
from dispatch.settlement import exports, lines, service
from simulators.load.common import elder_row
from simulators.load.console_latency import PG_URL, drop_schema

MONTH, FIRST = "2026-07", date(2026, 7, 1)
TARGET_S = 30.0
BATCH = 20_000
SERVICES = [ServiceType.meal_assistance, ServiceType.cleaning, ServiceType.bathing, ServiceType.housekeeping]


def provider_row(n: int, now: datetime) -> dict[str, Any]:
    return {
        "id": n, "name": f"压测服务商{n:03d}", "registration_number": f"91350102LT{n:08d}", "phone": "13900000000",
        "district": "鼓楼区", "service_types": [s.value for s in SERVICES], "base_lon": 119.3, "base_lat": 26.08,
        "service_area": {}, "status": "active", "rating": 3.4 + (n % 17) / 10, "rating_count": 20,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def order_row(
    n: int, elder: int, provider: int, day: date, service: ServiceType, price: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": n, "elder_id": elder, "elder_name": "压测", "service_type": service.value, "source": "plan",
        "state": "followed_up", "window_start": at_local(day, "09:00"), "window_end": at_local(day, "10:00"),
        "address": "压测路1号", "lon": 119.3, "lat": 26.08, "provider_id": provider, "provider_name": f"压测服务商{provider:03d}",
        "price_cents": price, "payment_method": "mixed", "history": [], "created_by": "bench", "created_at": now,
        "updated_at": now,
    }  # fmt: skip


def charge_rows(
    n: int, elder: int, provider: int, day: date, price: int, subsidy: int, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    txn = {
        "id": n, "kind": TxnKind.charge.value, "key": f"charge:order:{n}", "occurred_on": day, "elder_id": elder,
        "provider_id": provider, "order_id": n, "memo": "", "actor": "bench", "created_at": now,
    }  # fmt: skip
    legs = [
        (accounts.allowance(elder), -subsidy), (accounts.BUDGET, subsidy), (accounts.receivable("鼓楼区"), subsidy),
        (accounts.payable(provider), -price), (accounts.prepaid(elder), price - subsidy),
    ]  # fmt: skip
    return txn, [{"txn_id": n, "account": a, "amount_fen": fen} for a, fen in legs if fen]


async def seed(settings: Settings, orders: int, providers: int, elders: int) -> None:
    rng, now = random.Random(12349), datetime(2026, 8, 1, tzinfo=UTC)
    engine = create_engine(settings)
    try:
        async with engine.begin() as db:
            await db.execute(insert(Provider), [provider_row(n, now) for n in range(1, providers + 1)])
            for start in range(1, elders + 1, BATCH):
                rows = [
                    elder_row(n, f"老人{n}", (119.3, 26.08), now)
                    for n in range(start, min(start + BATCH, elders + 1))
                ]
                await db.execute(insert(Elder), rows)
        balances: dict[str, int] = defaultdict(int)
        for start in range(1, orders + 1, BATCH):
            order_rows, txns, entries = [], [], []
            for n in range(start, min(start + BATCH, orders + 1)):
                elder, provider = rng.randint(1, elders), rng.randint(1, providers)
                day, service = FIRST + timedelta(days=rng.randrange(31)), rng.choice(SERVICES)
                price = rng.choice((1500, 3000, 8000, 12000))
                subsidy = price * rng.choice((0, 50, 80, 100)) // 100
                order_rows.append(order_row(n, elder, provider, day, service, price, now))
                txn, legs = charge_rows(n, elder, provider, day, price, subsidy, now)
                txns.append(txn)
                entries.extend(legs)
                for leg in legs:
                    balances[leg["account"]] += leg["amount_fen"]
            async with engine.begin() as db:
                await db.execute(insert(ServiceOrder), order_rows)
                await db.execute(insert(LedgerTxn), txns)
                await db.execute(insert(LedgerEntry), entries)
        async with engine.begin() as db:
            rows = [{"account": a, "balance_fen": fen, "updated_at": now} for a, fen in balances.items()]
            for start in range(0, len(rows), BATCH):
                await db.execute(insert(LedgerBalance), rows[start : start + BATCH])
    finally:
        await engine.dispose()


async def baseline(settings: Settings) -> int:
    """The same sums the naive way: every entry of the month into Python, summed per provider."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as db:
            rows = await db.execute(
                select(LedgerTxn.provider_id, LedgerEntry.account, LedgerEntry.amount_fen)
                .join(LedgerTxn, LedgerTxn.id == LedgerEntry.txn_id)
                .where(LedgerTxn.occurred_on >= FIRST, LedgerTxn.occurred_on < date(2026, 8, 1))
            )
            gross: dict[int, int] = defaultdict(int)
            for provider, account, fen in rows:
                if account.startswith("payable:"):
                    gross[provider or 0] -= fen
        return len(gross)
    finally:
        await engine.dispose()


async def timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


async def measure(name: str, settings: Settings, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    await asyncio.to_thread(migrate.upgrade, settings)
    seed_s, _ = await timed(seed(settings, args.orders, args.providers, args.elders))
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    clock = FakeClock(datetime(2026, 8, 1, 1, tzinfo=UTC))
    try:
        async with sessions() as session:
            compute_s, drafted = await timed(service.compute(session, clock, month=MONTH, settings=settings))
            await session.commit()
        baseline_s, _ = await timed(baseline(settings))
        biggest = max(drafted, key=lambda s: s.services)
        async with sessions() as session:
            one_s, one = await timed(lines.charged(session, MONTH, provider_id=biggest.provider_id))
            xlsx_s, _ = await timed(asyncio.to_thread(exports.statement_xlsx, biggest, one))
            claim_s, claim = await timed(lines.charged(session, MONTH, district="鼓楼区"))
            claim_xlsx_s, _ = await timed(asyncio.to_thread(exports.claim_xlsx, "鼓楼区", MONTH, claim))
    finally:
        await engine.dispose()
    services = sum(s.services for s in drafted)
    assert services == args.orders, (services, args.orders)  # noqa: S101 - the benchmark checks its own sums
    return [
        (name, "seed (bulk insert, not timed as part of the target)", f"{seed_s:.1f} s"),
        (name, f"statements for {len(drafted)} providers, {services} services", f"{compute_s:.2f} s"),
        (name, "baseline: every entry summed in Python", f"{baseline_s:.2f} s"),
        (name, f"one statement's lines + XLSX ({len(one)} services)", f"{one_s + xlsx_s:.2f} s"),
        (
            name,
            f"the district's claim lines + XLSX ({len(claim)} services)",
            f"{claim_s + claim_xlsx_s:.2f} s",
        ),
        (name, f"target: statements under {TARGET_S:.0f} s", "met" if compute_s < TARGET_S else "NOT MET"),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--providers", type=int, default=400)
    parser.add_argument("--elders", type=int, default=20_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as tmp:
        if args.only != "postgresql":
            rows += await measure("SQLite", Settings(data_dir=Path(tmp) / "sqlite", _env_file=None), args)
        if args.only != "sqlite":
            pg = Settings(
                data_dir=Path(tmp) / "pg",
                database_url=PG_URL,
                database_schema=f"bench_settle_{random.randrange(16**8):08x}",
                _env_file=None,
            )
            try:
                rows += await measure("PostgreSQL", pg, args)
            finally:
                await drop_schema(pg)
    print(f"Settlement: {args.orders} services in {MONTH}, {args.providers} providers, {args.elders} elders")
    print(f"{'database':<12} {'what':<62} {'time':>10}")
    for database, what, value in rows:
        print(f"{database:<12} {what:<62} {value:>10}")


if __name__ == "__main__":
    asyncio.run(main())
