"""What the load runs share: ports, CPU readings, quantiles, and elders with watches inserted in bulk."""

from __future__ import annotations

import os
import resource
import socket
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.elders.idcard import make_id_number
from dispatch.elders.models import Device, Elder, ElderSearchKey
from dispatch.elders.search_keys import keys_for


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile, 0 < q < 1 (nan when empty)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _born(n: int) -> date:  # distinct (birth date, sequence) pairs give distinct ID-card numbers
    return date(1930 + n % 40, 1 + n // 40 % 12, 1 + n // 480 % 28)


def elder_row(n: int, name: str, home: tuple[float, float], now: datetime) -> dict[str, Any]:
    return {
        "id": n,
        "name": name,
        "sex": "female",
        "birth_date": _born(n),
        "id_number": make_id_number("350102", _born(n), n // 13440, False),
        "hukou_type": "urban",
        "hukou_address": "福州",
        "district": "鼓楼区",
        "street": "",
        "community": "压测社区",
        "address": "压测路1号",
        "home_lon": home[0],
        "home_lat": home[1],
        "household": [],
        "living_alone": False,
        "empty_nest": False,
        "physical_condition": "",
        "economic_condition": "",
        "subsidy_categories": [],
        "hobbies": [],
        "dialect": "",
        "status": "active",
        "notes": "",
        "created_at": now,
        "updated_at": now,
    }


def search_key_rows(elders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search keys of elders inserted in bulk (as `search_keys.refresh` would write them)."""
    return [
        {"elder_id": elder["id"], "key": key}
        for elder in elders
        for key in keys_for(elder["name"], [elder.get("phone")], elder["id_number"])
    ]


async def insert_elders_with_watches(
    connection: AsyncConnection,
    count: int,
    *,
    imei_of: Callable[[int], str],
    name_prefix: str = "压测",
    home: tuple[float, float] = (119.3, 26.08),
    batch: int = 2000,
) -> None:
    """Elders 1..count with one watch each, in bulk (ids set here; PostgreSQL sequences moved past them)."""
    now = datetime.now(UTC)
    for start in range(1, count + 1, batch):
        numbers = range(start, min(start + batch, count + 1))
        elders = [elder_row(n, f"{name_prefix}{n}", home, now) for n in numbers]
        devices = [
            {
                "id": n,
                "imei": imei_of(n),
                "elder_id": n,
                "kind": "watch",
                "secret": "x",
                "status": "active",
                "heartbeat_interval_s": 600,
                "created_at": now,
                "updated_at": now,
            }
            for n in numbers
        ]
        await connection.execute(insert(cast(Table, Elder.__table__)), elders)
        await connection.execute(insert(cast(Table, Device.__table__)), devices)
        await connection.execute(insert(cast(Table, ElderSearchKey.__table__)), search_key_rows(elders))
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT setval('elder_id_seq', (SELECT max(id) FROM elder))"))
        await connection.execute(text("SELECT setval('device_id_seq', (SELECT max(id) FROM device))"))
