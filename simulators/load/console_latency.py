"""Alarm-to-console latency: how long after an SOS is stored do the operators' consoles show the call.

    python -m simulators.load.console_latency [--rate 100] [--seconds 10] [--consoles 20]

Two configurations, one after the other, each with freshly started `dispatch serve` processes:

1. the embedded default: SQLite and the in-process bus, one server process, every console on it;
2. PostgreSQL (a fresh schema, dropped at the end) and Redis (database 14, emptied before and after),
   two server processes: the consoles are split across both and every alarm goes to process 1, so half
   of the consoles are reached only through Redis pub/sub (the cross-process path).

Each alarm is an SOS (`AL` frame with the SOS status bit) from a different elder's watch over the watch
protocol on TCP (an SOS for an elder with an open call would only join it), sent open loop at `--rate`
per second: every watch keeps its own connection, opened and heartbeated once beforehand (as real
watches are, and so the gateway's device cache is warm). A short unmeasured warm-up precedes the run.

Latency, per alarm and per console, is the time the console receives the first call message for that
elder minus one of two start times, both taken in this process on one monotonic clock:

* from ack: when the watch received the server's acknowledgement. The gateway acknowledges only after
  the event is committed, so this is the latest moment at which the alarm is known to be stored: it is
  "alarm stored to console" minus the delivery time of the ack (well under a millisecond here). It would
  be negative if the push overtook the ack; the count of such pairs is printed below the table.
* from send: when the alarm frame was written to the socket: what an elder would experience, including
  the gateway's batching and the store itself.

The consoles log in as 20 (`--consoles`) separate operators and read `/ws/console?ticket=...`. Also printed:
the CPU used by the servers and by this client during the measured window, as everything (servers,
PostgreSQL, Redis and this client) shares one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
import websockets
from redis.asyncio import Redis
from sqlalchemy import text

from devices.watch import codec
from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import SystemClock
from dispatch.db import migrate
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.settings import Settings
from simulators.load.common import (
    cpu_seconds,
    free_port,
    insert_elders_with_watches,
    own_cpu_seconds,
    quantile,
)
from simulators.watch import STATUS_BITS, position_block

PG_URL = os.environ.get("DISPATCH_BENCH_PG_URL", "postgresql+asyncpg://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DISPATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "console latency bench"  # noqa: S105 - throwaway accounts in a throwaway database
HOME_LON, HOME_LAT = 119.3, 26.08


def imei_of(n: int) -> str:
    return f"88{n:013d}"


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))


# --- the configurations ---------------------------------------------------------------------------


@dataclass
class Configuration:
    name: str
    settings: Settings  # for preparing the database from this process
    env: dict[str, str]  # for the server processes (ports added per process)
    servers: int
    redis_url: str | None = None


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env.update(
        {
            "DISPATCH_DATA_DIR": str(data_dir),
            "DISPATCH_LOG_LEVEL": "WARNING",
            "DISPATCH_WATCH_HOST": "127.0.0.1",
            "DISPATCH_P1_ACK_SECONDS": "3600",  # no escalation messages in the middle of the measurement
            **extra,
        }
    )
    return env


def embedded(workdir: Path) -> Configuration:
    data_dir = workdir / "sqlite"
    return Configuration(
        name="SQLite + in-process bus, 1 process",
        settings=Settings(data_dir=data_dir, _env_file=None),
        env=base_env(data_dir),
        servers=1,
    )


def shared(workdir: Path, servers: int) -> Configuration:
    schema = f"bench_console_{uuid.uuid4().hex[:8]}"
    data_dir = workdir / "pg"
    return Configuration(
        name=f"PostgreSQL + Redis, {servers} processes",
        settings=Settings(
            data_dir=data_dir,
            database_url=PG_URL,
            database_schema=schema,
            redis_url=REDIS_URL,
            _env_file=None,
        ),
        env=base_env(
            data_dir,
            DISPATCH_DATABASE_URL=PG_URL,
            DISPATCH_DATABASE_SCHEMA=schema,
            DISPATCH_REDIS_URL=REDIS_URL,
        ),
        servers=servers,
        redis_url=REDIS_URL,
    )


# --- preparing the database -----------------------------------------------------------------------


async def seed(settings: Settings, elders: int, consoles: int) -> None:
    """`elders` elders with one watch each (bulk inserts), and one operator per console."""
    await asyncio.to_thread(migrate.upgrade, settings)
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await insert_elders_with_watches(
                connection, elders, imei_of=imei_of, name_prefix="时延", home=(HOME_LON, HOME_LAT)
            )
        async with unit_of_work(create_session_factory(engine)) as session:
            for n in range(consoles):
                await auth_service.create_operator(
                    session=session,
                    clock=SystemClock(),
                    actor=Actor.system("console-latency"),
                    username=f"console{n + 1:02d}",
                    display_name=f"Console {n + 1}",
                    role=Role.agent,
                    password=PASSWORD,
                )
    finally:
        await engine.dispose()


async def drop_schema(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    finally:
        await engine.dispose()


async def flush_redis(url: str) -> None:
    """Empty the benchmark's own Redis database: leftover streams would hand stale event ids to the rules."""
    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


# --- server processes -----------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    http: str
    watch_port: int
    log: Path


@contextlib.contextmanager
def servers(config: Configuration, logs: Path) -> Iterator[list[Server]]:
    """Start the configuration's server processes, each with its own HTTP and watch port."""
    started: list[Server] = []
    try:
        for n in range(config.servers):
            http_port, watch_port = free_port(), free_port()
            env = {**config.env, "DISPATCH_HTTP_PORT": str(http_port), "DISPATCH_WATCH_PORT": str(watch_port)}
            log = logs / f"server-{n + 1}.log"
            with log.open("wb") as out:  # the child keeps its own descriptor
                process = subprocess.Popen(
                    [sys.executable, "-m", "dispatch", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
                )
            started.append(Server(process, f"http://127.0.0.1:{http_port}", watch_port, log))
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


async def wait_ready(server: Server, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{server.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{server.http}/healthz", timeout=1)).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{server.http} did not start within {within:.0f} s")
            await asyncio.sleep(0.2)
    while True:  # /healthz answers before the lifespan has necessarily opened the watch port
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", server.watch_port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return


# --- consoles -------------------------------------------------------------------------------------


@dataclass
class Console:
    """One operator's console: the time the first call message for each elder arrived."""

    server: Server
    username: str
    first_seen: dict[int, float] = field(default_factory=dict)
    messages: int = 0
    resynced: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, ticket: str) -> None:
        url = self.server.http.replace("http://", "ws://") + f"/ws/console?ticket={ticket}"
        async with websockets.connect(url, max_size=None) as socket_:
            async for raw in socket_:
                now = time.perf_counter()
                message = json.loads(raw)
                self.messages += 1
                if message.get("type") == "resync":
                    self.resynced.set()
                elif message.get("type") == "call":
                    self.first_seen.setdefault(int(message["call"]["elder_id"]), now)


async def login(client: httpx.AsyncClient, server: Server, username: str) -> str:
    """A one-time ticket to the console socket of a fresh session."""
    response = await client.post(
        f"{server.http}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    ticket = await client.post(f"{server.http}/api/v1/auth/ws-ticket", headers=headers)
    ticket.raise_for_status()
    return str(ticket.json()["ticket"])


@contextlib.asynccontextmanager
async def consoles(count: int, on: Sequence[Server]) -> AsyncIterator[list[Console]]:
    """`count` consoles, spread round-robin over the servers, each connected and resynced."""
    opened = [Console(on[n % len(on)], f"console{n + 1:02d}") for n in range(count)]
    async with httpx.AsyncClient(timeout=30) as client:
        tickets = [await login(client, c.server, c.username) for c in opened]
    tasks = [asyncio.create_task(c.run(t)) for c, t in zip(opened, tickets, strict=True)]
    try:
        async with asyncio.timeout(30):
            for console, task in zip(opened, tasks, strict=True):
                waiting = asyncio.ensure_future(console.resynced.wait())
                await asyncio.wait([waiting, task], return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    waiting.cancel()
                    task.result()  # raises what ended it
                    raise RuntimeError(f"console {console.username} closed before its resync")
        yield opened
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# --- watches --------------------------------------------------------------------------------------


class Watch(asyncio.Protocol):
    """One elder's watch on its own connection; remembers when its SOS was sent and acknowledged."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.imei = imei_of(number)
        self.decoder = codec.FrameDecoder()
        self.transport: asyncio.Transport | None = None
        self.heartbeat_acked = asyncio.Event()
        self.sent_at: float | None = None
        self.acked_at: float | None = None
        self.sos_acked = asyncio.Event()

    def itself(self) -> Watch:
        """The protocol factory of this watch's connection."""
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.decoder.feed(data)
        while (item := self.decoder.next_event()) is not None:
            if not isinstance(item, codec.Frame):
                continue
            if item.msg_type == "AL" and self.acked_at is None:
                self.acked_at = now
                self.sos_acked.set()
            elif item.msg_type == "LK":
                self.heartbeat_acked.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def write(self, content: str) -> None:
        if self.transport is None:
            raise ConnectionError(f"watch {self.imei} lost its connection")
        self.transport.write(codec.encode_frame("3G", self.imei, None, content.encode()))

    def heartbeat(self) -> None:
        self.write("LK,0,0,90")

    def sos(self) -> None:
        block = position_block(datetime.now(UTC), HOME_LAT, HOME_LON, status=STATUS_BITS["sos"])
        self.sent_at = time.perf_counter()
        self.write("AL," + block)


async def connect_watches(port: int, numbers: range) -> list[Watch]:
    """Connect every watch and have each heartbeat once (acknowledged), like watches already online."""
    loop = asyncio.get_running_loop()
    watches: list[Watch] = []
    for start in range(numbers.start, numbers.stop, 200):
        chunk = [Watch(n) for n in range(start, min(numbers.stop, start + 200))]
        await asyncio.gather(*(loop.create_connection(w.itself, "127.0.0.1", port) for w in chunk))
        for watch in chunk:
            watch.heartbeat()
        async with asyncio.timeout(60):
            await asyncio.gather(*(w.heartbeat_acked.wait() for w in chunk))
        watches += chunk
    return watches


async def send_open_loop(watches: Sequence[Watch], rate: float) -> float:
    """One SOS per watch at `rate` a second, on schedule whatever the replies; returns the lag behind
    schedule at the end (seconds)."""
    started = time.perf_counter() + 0.01
    for index, watch in enumerate(watches):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        watch.sos()
    return time.perf_counter() - (started + (len(watches) - 1) / rate)


# --- one measurement ------------------------------------------------------------------------------


@dataclass
class Result:
    config: str
    sent: int = 0
    acked: int = 0
    seen_by_all: int = 0
    from_ack: list[float] = field(default_factory=list)
    from_send: list[float] = field(default_factory=list)
    from_ack_by_server: dict[int, list[float]] = field(default_factory=dict)  # server 1, 2, ... of consoles
    push_before_ack: int = 0
    missing_pairs: int = 0
    sender_lag_ms: float = 0.0
    server_cpu: list[float] = field(default_factory=list)  # share of one core, per server process
    client_cpu: float = 0.0
    machine_busy: float = 0.0  # share of all cores
    window_s: float = 0.0


async def measure(config: Configuration, args: argparse.Namespace, workdir: Path) -> Result:
    warmup = max(1, int(args.rate * args.warmup))
    measured = int(args.rate * args.seconds)
    result = Result(config.name)
    if config.redis_url:
        await flush_redis(config.redis_url)
    await seed(config.settings, warmup + measured, args.consoles)
    logs = workdir / f"logs-{config.servers}-{uuid.uuid4().hex[:6]}"
    logs.mkdir()
    with servers(config, logs) as started:
        await asyncio.gather(*(wait_ready(s) for s in started))
        async with consoles(args.consoles, started) as screens:
            watches = await connect_watches(started[0].watch_port, range(1, warmup + measured + 1))
            try:
                await send_open_loop(watches[:warmup], args.rate)
                await wait_seen(screens, [w.number for w in watches[:warmup]], within=args.drain)
                await asyncio.sleep(0.5)
                targets = watches[warmup:]
                cpu_before = [cpu_seconds(s.process.pid) for s in started]
                client_before, busy_before, at_before = own_cpu_seconds(), machine_busy(), time.perf_counter()
                result.sender_lag_ms = await send_open_loop(targets, args.rate) * 1000
                await wait_seen(screens, [w.number for w in targets], within=args.drain)
                elapsed = time.perf_counter() - at_before
                result.server_cpu = [
                    (cpu_seconds(s.process.pid) - b) / elapsed
                    for s, b in zip(started, cpu_before, strict=True)
                ]
                result.client_cpu = (own_cpu_seconds() - client_before) / elapsed
                busy_after = machine_busy()
                result.machine_busy = (busy_after[0] - busy_before[0]) / max(
                    1.0, busy_after[1] - busy_before[1]
                )
                result.window_s = elapsed
            finally:
                for watch in watches:
                    if watch.transport is not None:
                        watch.transport.close()
            tally(result, targets, screens, started)
    return result


async def wait_seen(screens: Sequence[Console], elders: Sequence[int], within: float) -> None:
    """Until every console has seen a call for every one of these elders, or `within` seconds."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if all(all(e in c.first_seen for e in elders) for c in screens):
            return
        await asyncio.sleep(0.05)


def tally(
    result: Result, targets: Sequence[Watch], screens: Sequence[Console], started: Sequence[Server]
) -> None:
    result.sent = len(targets)
    result.from_ack_by_server = {n: [] for n in range(1, len(started) + 1)}
    result.acked = sum(1 for w in targets if w.acked_at is not None)
    for watch in targets:
        seen_everywhere = True
        for console in screens:
            received = console.first_seen.get(watch.number)
            if received is None:
                seen_everywhere = False
                result.missing_pairs += 1
                continue
            assert watch.sent_at is not None  # noqa: S101 - every target was sent
            result.from_send.append(received - watch.sent_at)
            if watch.acked_at is not None:
                result.from_ack.append(received - watch.acked_at)
                result.from_ack_by_server[started.index(console.server) + 1].append(received - watch.acked_at)
                result.push_before_ack += received < watch.acked_at
        result.seen_by_all += seen_everywhere


# --- the report -----------------------------------------------------------------------------------


def print_table(results: Sequence[Result], args: argparse.Namespace) -> None:
    header = (
        "config",
        "alarms sent",
        "calls seen by every console",
        "from ack: p50 ms",
        "p99 ms",
        "max ms",
        "from send: p50 ms",
        "p99 ms",
        "max ms",
    )
    rows = [header]
    for r in results:
        ack = [v * 1000 for v in r.from_ack]
        send = [v * 1000 for v in r.from_send]
        rows.append(
            (
                r.config,
                f"{r.sent:,}",
                f"{r.seen_by_all:,}",
                f"{quantile(ack, 0.5):.1f}",
                f"{quantile(ack, 0.99):.1f}",
                f"{max(ack, default=float('nan')):.1f}",
                f"{quantile(send, 0.5):.1f}",
                f"{quantile(send, 0.99):.1f}",
                f"{max(send, default=float('nan')):.1f}",
            )
        )
    print(
        f"\nalarm stored -> console WebSocket message: {args.rate:g} SOS/s open loop for {args.seconds:g} s, "
        f"{args.consoles} consoles, one SOS per elder, {os.cpu_count()} cores (latency per alarm per console)"
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    rule = tuple("-" * w for w in widths)
    for row in (rows[0], rule, *rows[1:]):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print()
    for r in results:
        cpu = " + ".join(f"{c:.0%}" for c in r.server_cpu)
        print(
            f"{r.config}: acked {r.acked:,}/{r.sent:,}; (alarm, console) pairs never delivered "
            f"{r.missing_pairs:,}; push before ack {r.push_before_ack:,}; sender behind schedule at the end "
            f"{r.sender_lag_ms:.1f} ms; CPU over {r.window_s:.1f} s: server {cpu} of a core, "
            f"this client {r.client_cpu:.0%}, whole machine {r.machine_busy:.0%} busy"
        )
        if len(r.from_ack_by_server) > 1:
            print(
                "    from ack, by the process the console is on (alarms go to process 1): "
                + "; ".join(
                    f"process {n}: p50 {quantile([v * 1000 for v in values], 0.5):.1f} ms, "
                    f"p99 {quantile([v * 1000 for v in values], 0.99):.1f} ms"
                    for n, values in r.from_ack_by_server.items()
                )
            )


async def run(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="console-latency-") as tmp:
        workdir = Path(tmp)
        results.append(await measure(embedded(workdir), args, workdir))
        config = shared(workdir, args.pg_servers)
        try:
            results.append(await measure(config, args, workdir))
        finally:
            await drop_schema(config.settings)
            if config.redis_url:
                await flush_redis(config.redis_url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="SOS alarms a second (open loop)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the measured run")
    parser.add_argument("--consoles", type=int, default=20, help="console WebSockets connected")
    parser.add_argument("--pg-servers", type=int, default=2, help="server processes on PostgreSQL + Redis")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured alarms first")
    parser.add_argument("--drain", type=float, default=30.0, help="how long to wait for the last pushes")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(run(args))
    else:
        results = uvloop.run(run(args))
    print_table(results, args)


if __name__ == "__main__":
    main()
