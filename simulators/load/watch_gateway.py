"""Load run of the watch gateway against PostgreSQL, side by side with a parse-and-ack baseline.

    python -m simulators.load.watch_gateway [--connections 20000] [--storm 2000] [--seconds 10]

Prints one table: (a) connections held with heartbeats and server memory per connection, (b) the
sustained ingest rate with store-before-ack (closed loop), (c) frame-to-ack latency at half that rate
(open loop), each for our gateway and for the baseline that stores nothing; and (d) an SOS storm, one
SOS from every watch at once, with the time until all are acknowledged and stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import cast

from sqlalchemy import func, select, text

from devices.watch import codec
from dispatch.db import migrate
from dispatch.db.session import create_engine
from dispatch.ingest.models import DeviceEvent
from dispatch.settings import Settings
from simulators.load.common import free_port, insert_elders_with_watches
from simulators.watch import position_block

PG_URL = os.environ.get("DISPATCH_BENCH_PG_URL", "postgresql+asyncpg://127.0.0.1:5432/test")


def imei_of(n: int) -> str:
    return f"87{n:013d}"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def seed_devices(settings: Settings, count: int) -> None:
    """`count` elders with one watch each, inserted in bulk."""
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await insert_elders_with_watches(connection, count, imei_of=imei_of, batch=5000)
    finally:
        await engine.dispose()


async def count_events(settings: Settings, event_type: str | None = None) -> int:
    engine = create_engine(settings)
    async with engine.connect() as connection:
        query = select(func.count()).select_from(DeviceEvent)
        if event_type:
            query = query.where(DeviceEvent.type == event_type)
        total = int(await connection.scalar(query) or 0)
    await engine.dispose()
    return total


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server, its output going to a log file (a pipe nobody reads would block it once full)."""
    with tempfile.NamedTemporaryFile(prefix="gateway-bench-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            print(f"server log: {log.name}", file=sys.stderr)


async def wait_for_port(port: int, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


# --- the load client ------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    acks: int = 0
    record: bool = True


class LoadConnection(asyncio.Protocol):
    """A watch connection that pipelines frames and times each acknowledgement (replies come in order)."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.sent: deque[float] = deque()
        self.transport: asyncio.Transport | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, data: bytes) -> None:
        assert self.transport is not None  # noqa: S101
        self.sent.append(time.perf_counter())
        self.idle.clear()
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        for _ in range(data.count(b"]")):  # one `]` per reply: replies carry no payload brackets
            if not self.sent:
                break
            started = self.sent.popleft()
            self.stats.acks += 1
            if self.stats.record:
                self.stats.latencies.append(now - started)
        if not self.sent:
            self.idle.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.idle.set()


class Fleet:
    def __init__(self, port: int, first: int = 0) -> None:
        self.port = port
        self.first = first  # watches first+1 ... are this fleet's
        self.stats = Stats()
        self.connections: list[LoadConnection] = []
        self.counter = 0

    async def open(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        sources = [f"127.0.0.{i}" for i in range(1, 9)]  # several source addresses: more ephemeral ports

        async def one(n: int) -> LoadConnection:
            _, protocol = await loop.create_connection(
                lambda: LoadConnection(self.stats), "127.0.0.1", self.port, local_addr=(sources[n % 8], 0)
            )
            return protocol

        for start in range(0, count, 1000):
            self.connections += await asyncio.gather(
                *(one(n) for n in range(start, min(count, start + 1000)))
            )

    def frame(self, index: int, content: str) -> bytes:
        return codec.encode_frame("3G", imei_of(self.first + index + 1), None, content.encode())

    def heartbeat(self, index: int) -> bytes:
        self.counter += 1
        return self.frame(index, f"LK,{self.counter},0,80")

    async def ping_all(self, within: float) -> int:
        """Every connection sends one heartbeat; returns how many were acknowledged in time."""
        before = self.stats.acks
        for index, connection in enumerate(self.connections):
            connection.send(self.heartbeat(index))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await asyncio.gather(*(c.idle.wait() for c in self.connections))
        return self.stats.acks - before

    async def closed_loop(self, seconds: float, connections: int, window: int) -> float:
        """Each of `connections` keeps `window` frames in flight; returns acknowledgements per second."""
        self.stats = Stats(record=False)
        for c in self.connections:
            c.stats = self.stats
        stop = time.perf_counter() + seconds

        async def pump(index: int) -> None:
            connection = self.connections[index]
            while time.perf_counter() < stop:
                while len(connection.sent) < window:
                    connection.send(self.heartbeat(index))
                connection.idle.clear()
                await asyncio.sleep(0.001)

        started = time.perf_counter()
        await asyncio.gather(*(pump(i) for i in range(connections)))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await asyncio.gather(*(self.connections[i].idle.wait() for i in range(connections)))
        return self.stats.acks / (time.perf_counter() - started)

    async def open_loop(self, seconds: float, connections: int, rate: float) -> list[float]:
        """Send `rate` frames a second spread over `connections`; returns each frame's ack latency."""
        self.stats = Stats()
        for c in self.connections:
            c.stats = self.stats
        interval = connections / rate
        stop = time.perf_counter() + seconds

        async def pace(index: int) -> None:
            await asyncio.sleep(random.uniform(0, interval))
            next_at = time.perf_counter()
            while next_at < stop:
                self.connections[index].send(self.heartbeat(index))
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

        await asyncio.gather(*(pace(i) for i in range(connections)))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await asyncio.gather(*(self.connections[i].idle.wait() for i in range(connections)))
        return self.stats.latencies

    async def storm(self, count: int) -> tuple[float, int]:
        """One SOS from each of `count` watches at once; returns seconds until the last ack and how many came."""
        self.stats = Stats()
        for c in self.connections:
            c.stats = self.stats
        when = datetime.now(UTC)
        frames = [
            self.frame(i, "AL," + position_block(when, 26.08, 119.3, status=1 << 16)) for i in range(count)
        ]
        started = time.perf_counter()
        for index in range(count):
            self.connections[index].send(frames[index])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                await asyncio.gather(*(self.connections[i].idle.wait() for i in range(count)))
        return time.perf_counter() - started, self.stats.acks

    def close(self) -> None:
        for connection in self.connections:
            if connection.transport is not None:
                connection.transport.close()


async def _hold(port: int, first: int, count: int, rounds: int) -> tuple[Fleet, int, int]:
    """Open `count` watch connections and heartbeat them `rounds` + 1 times; (fleet, held, acks)."""
    fleet = Fleet(port, first)
    await fleet.open(count)
    acks = await fleet.ping_all(within=120)
    for _ in range(rounds):
        await asyncio.sleep(2)
        acks += await fleet.ping_all(within=120)
    return fleet, sum(1 for c in fleet.connections if c.transport is not None), acks


def _hold_in_child(port: int, first: int, count: int, rounds: int, pipe: Connection) -> None:
    """A second client process (one process may not open 20,000 sockets here): hold until told to stop."""

    async def main() -> None:
        fleet, held, acks = await _hold(port, first, count, rounds)
        pipe.send((held, acks))
        await asyncio.to_thread(pipe.recv)
        fleet.close()

    asyncio.run(main())


async def hold_connections(port: int, count: int, rounds: int) -> tuple[Fleet, int, int, Callable[[], None]]:
    """Hold `count` connections from two client processes; returns this process's fleet, the totals and a
    function that releases the other process's half."""
    child_count = count // 2
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=_hold_in_child, args=(port, count - child_count, child_count, rounds, theirs)
    )
    child.start()
    fleet, held, acks = await _hold(port, 0, count - child_count, rounds)
    child_held, child_acks = await asyncio.to_thread(ours.recv)

    def release() -> None:
        ours.send("stop")
        child.join(timeout=60)

    return fleet, held + child_held, acks + child_acks, release


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


@dataclass
class Measured:
    memory_per_connection_kib: float = 0.0
    held: int = 0
    heartbeat_acks: int = 0
    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_p50_ms: float = float("nan")
    server_p99_ms: float = float("nan")
    half_rate: float = 0.0


def start_profiler(pid: int, seconds: float, path: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server for the rate phase (collapsed stacks)."""
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            path,
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def print_profile(path: str, top: int = 15) -> None:
    """Share of samples per function (self time) and per file (inclusive) from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    total = 0
    with open(path) as collapsed:
        for line in collapsed:
            stack, _, samples = line.rstrip().rpartition(" ")
            leaf = stack.split(";")[-1]
            total += int(samples)
            own[leaf] = own.get(leaf, 0) + int(samples)
    print(f"\nwhere the gateway's time goes (py-spy, {total} samples, self time):")
    for name, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        print(f"  {100 * count / total:5.1f}%  {name[:110]}")


def ack_histogram(urls: tuple[str, ...]) -> list[tuple[float, float]]:
    """The gateways' frame-to-ack histogram buckets (upper bound, cumulative count), summed over servers."""
    summed: dict[float, float] = {}
    for url in urls:
        with urllib.request.urlopen(url) as response:  # noqa: S310 - our own server
            for line in response.read().decode().splitlines():
                if line.startswith("dispatch_watch_ack_seconds_bucket"):
                    bound = float(line.split('le="')[1].split('"')[0])
                    summed[bound] = summed.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return sorted(summed.items())


def histogram_quantiles(
    before: list[tuple[float, float]], after: list[tuple[float, float]], quantiles: tuple[float, ...]
) -> tuple[float, ...]:
    """Upper bucket bounds (ms) holding each quantile of what was observed between two readings."""
    counts = [(bound, a - b) for (bound, a), (_, b) in zip(after, before, strict=True)]
    total = counts[-1][1] if counts else 0
    found = []
    for q in quantiles:
        found.append(next((bound * 1000 for bound, c in counts if total and c >= q * total), float("nan")))
    return tuple(found)


async def measure(
    port: int,
    pids: list[int],
    args: argparse.Namespace,
    half_rate: float | None,
    profile: str | None = None,
    metrics_urls: tuple[str, ...] = (),
) -> Measured:
    result = Measured()
    before = sum(rss_kib(pid) for pid in pids)
    fleet, result.held, result.heartbeat_acks, release = await hold_connections(
        port, args.connections, args.hold_rounds
    )
    result.memory_per_connection_kib = (sum(rss_kib(pid) for pid in pids) - before) / max(1, result.held)
    release()
    profiler = start_profiler(pids[0], args.seconds, profile) if profile else None
    result.rate = await fleet.closed_loop(args.seconds, args.pipelines, args.window)
    if profiler is not None:
        await asyncio.to_thread(profiler.wait)
    result.half_rate = half_rate or args.latency_rate or result.rate / 2
    histogram_before = ack_histogram(metrics_urls)
    latencies = await fleet.open_loop(args.seconds, args.pipelines, result.half_rate)
    if metrics_urls:
        result.server_p50_ms, result.server_p99_ms = histogram_quantiles(
            histogram_before, ack_histogram(metrics_urls), (0.5, 0.99)
        )
    result.p50_ms = percentile(latencies, 50) * 1000
    result.p99_ms = percentile(latencies, 99) * 1000
    fleet.close()
    return result


async def run(args: argparse.Namespace) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=PG_URL, database_schema=schema, _env_file=None)
    await asyncio.to_thread(migrate.upgrade, settings)
    await seed_devices(settings, max(args.connections, args.storm))
    watch_port = free_port()
    http_ports = [free_port() for _ in range(args.servers)]
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": PG_URL,
        "DISPATCH_DATABASE_SCHEMA": schema,
        "DISPATCH_LOG_LEVEL": "WARNING",
        "DISPATCH_WATCH_PORT": str(watch_port),
    }
    ours = baseline = Measured()
    storm_seconds, storm_acks, storm_stored = 0.0, 0, 0
    try:
        with contextlib.ExitStack() as stack:  # N gateway processes sharing the watch port (SO_REUSEPORT)
            servers = [
                stack.enter_context(
                    process([sys.executable, "-m", "dispatch", "serve", "--port", str(p)], env)
                )
                for p in http_ports
            ]
            await wait_for_port(watch_port)
            await asyncio.gather(*(wait_for_port(p) for p in http_ports))
            metrics = tuple(f"http://127.0.0.1:{p}/metrics" for p in http_ports)
            ours = await measure(watch_port, [s.pid for s in servers], args, None, args.profile, metrics)
            fleet = Fleet(watch_port)
            await fleet.open(args.storm)
            await fleet.ping_all(within=60)
            storm_seconds, storm_acks = await fleet.storm(args.storm)
            storm_stored = await count_events(settings, "sos")
            fleet.close()
        baseline_port = free_port()
        with contextlib.ExitStack() as stack:
            bases = [
                stack.enter_context(
                    process(
                        [
                            sys.executable,
                            "-m",
                            "simulators.load.baseline_server",
                            "--port",
                            str(baseline_port),
                        ],
                        env,
                    )
                )
                for _ in range(args.servers)
            ]
            await wait_for_port(baseline_port)
            baseline = await measure(baseline_port, [b.pid for b in bases], args, ours.half_rate)
    finally:
        engine = create_engine(settings)
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()
    print_table(args, ours, baseline, (storm_seconds, storm_acks, storm_stored))
    if args.profile:
        print_profile(args.profile)


def print_table(
    args: argparse.Namespace, ours: Measured, base: Measured, storm: tuple[float, int, int]
) -> None:
    rows = [
        ("(a) connections held (heartbeating)", f"{ours.held:,}", f"{base.held:,}", ""),
        ("    heartbeats acknowledged", f"{ours.heartbeat_acks:,}", f"{base.heartbeat_acks:,}", ""),
        (
            "    server memory per connection",
            f"{ours.memory_per_connection_kib:.1f} KiB",
            f"{base.memory_per_connection_kib:.1f} KiB",
            "",
        ),
        (
            "(b) sustained ingest, closed loop",
            f"{ours.rate:,.0f} ev/s",
            f"{base.rate:,.0f} frames/s",
            f"{ours.rate / base.rate:.2f}" if base.rate else "",
        ),
        (
            f"(c) latency at {ours.half_rate:,.0f}/s: p50",
            f"{ours.p50_ms:.2f} ms",
            f"{base.p50_ms:.2f} ms",
            f"{ours.p50_ms / base.p50_ms:.1f}x" if base.p50_ms else "",
        ),
        (
            "    p99",
            f"{ours.p99_ms:.2f} ms",
            f"{base.p99_ms:.2f} ms",
            f"{ours.p99_ms / base.p99_ms:.1f}x" if base.p99_ms else "",
        ),
        (
            "    inside the gateway: p50 / p99 within",
            f"{ours.server_p50_ms:g} / {ours.server_p99_ms:g} ms",
            "",
            "",
        ),
        (f"(d) SOS storm: {args.storm:,} watches at once", f"{storm[0]:.2f} s to last ack", "", ""),
        ("    acknowledged / stored", f"{storm[1]:,} / {storm[2]:,}", "", ""),
    ]
    print(
        f"\nwatch gateway load run: PostgreSQL, {os.cpu_count()} cores, {args.servers} processes per server, {args.pipelines} pipelined connections "
        f"x {args.window} frames in flight, {args.seconds:.0f} s per phase"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("", "ours (store-before-ack)", "baseline (parse+ack)", "ratio")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=20_000)
    parser.add_argument("--storm", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pipelines", type=int, default=1000, help="connections used for the rate phases")
    parser.add_argument("--window", type=int, default=4, help="frames in flight per pipelined connection")
    parser.add_argument("--hold-rounds", type=int, default=3, help="extra heartbeat rounds while holding")
    parser.add_argument("--servers", type=int, default=2, help="gateway processes sharing the watch port")
    parser.add_argument(
        "--latency-rate", type=float, help="open-loop rate of phase (c) (default: half of (b))"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="sample the gateway with py-spy during the rate phase"
    )
    try:
        import uvloop

        uvloop.run(run(parser.parse_args()))
    except ImportError:
        asyncio.run(run(parser.parse_args()))
