"""The chaos run: start everything, then cycle (traffic, a fault, recovery, invariant checks), then report.

Everything started here (PostgreSQL cluster, redis-server, fake Twilio, server processes, proxies) and the
temporary directories are removed on the way out, whether the run ends, fails or is interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dispatch.ingest.secrets import box_for
from dispatch.settings import Settings
from simulators.chaos import invariants
from simulators.chaos.cluster import (
    Children,
    HarnessError,
    PostgresCluster,
    RedisServer,
    ServerProcess,
    ServerSpec,
    free_port,
    free_ports,
    tail,
)
from simulators.chaos.invariants import AlarmOutcome, FaultWindow, Invariant, Violation
from simulators.chaos.proxy import Proxy
from simulators.chaos.report import Found, Summary
from simulators.chaos.schedule import Fault, FaultKind, plan
from simulators.chaos.traffic import AckedAlarm, Agent, AgentBot, Device, Devices, Ledger, Traffic
from simulators.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from simulators.provider import Behaviour, SimulatedProviders

logger = logging.getLogger(__name__)

OUR_NUMBER = "+8659112349"
DEMO_PASSWORD = "demo"  # noqa: S105 - the seeded demo accounts' documented password
RECOVERY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Options:
    """The command line."""

    cycles: int
    seed: int = 1
    processes: int = 2
    cycle_s: float = 5.0
    rate: float = 1.0  # alarms a second: more saturates a 2-core machine (an SMS backlog), see README
    elders: int = 150
    grace_s: float = 10.0  # an acknowledged alarm must be a call this long after its ack or the fault's end
    # SMS final and jobs of ended calls cancelled after this long. A text refused through a Twilio outage is
    # retried after 2, 4, 8, 16 s (the sender's backoff), so it may need about 30 s past the outage.
    settle_s: float = 40.0
    keep: Path | None = None  # copy the logs here before cleaning up
    only: tuple[FaultKind, ...] = ()  # draw faults from these kinds only


@dataclass
class Stack:
    """The running services."""

    tmp: Path
    children: Children
    pg: PostgresCluster
    redis: RedisServer
    pg_proxy: Proxy
    redis_proxy: Proxy
    front: Proxy
    twilio_url: str
    watch_port: int
    servers: list[ServerProcess] = field(default_factory=list)


def _server_env(stack: Stack, index: int, http_port: int, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    return env | {
        "DISPATCH_DATABASE_URL": stack.pg.url_via(stack.pg_proxy.port),
        "DISPATCH_REDIS_URL": f"redis://127.0.0.1:{stack.redis_proxy.port}/0",
        "DISPATCH_HTTP_HOST": "127.0.0.1",
        "DISPATCH_HTTP_PORT": str(http_port),
        "DISPATCH_WATCH_HOST": "127.0.0.1",
        "DISPATCH_WATCH_PORT": str(stack.watch_port),  # shared by every process (SO_REUSEPORT)
        "DISPATCH_DATA_DIR": str(data_dir),
        "DISPATCH_SECRET_KEY": _secret_key(),
        "DISPATCH_LOG_LEVEL": "WARNING",
        "DISPATCH_LOGIN_RATE_LIMIT": "10000/minute",
        "DISPATCH_DESK_TICK_SECONDS": "2",
        "DISPATCH_OFFER_TIMEOUT_SECONDS": "10",
        # Short enough for the settle window: lost delivery reports asked for, dead senders' claims retaken.
        "DISPATCH_SMS_REPORT_LOST_SECONDS": "5",
        "DISPATCH_SMS_SENDING_STALE_SECONDS": "8",
        "DISPATCH_TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "DISPATCH_TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "DISPATCH_TWILIO_FROM": OUR_NUMBER,
        "DISPATCH_TWILIO_BASE_URL": stack.twilio_url,
        "DISPATCH_PUBLIC_BASE_URL": f"http://127.0.0.1:{stack.front.port}",
        "PYTHONUNBUFFERED": "1",
    }


class Run:
    """One chaos run over a started stack."""

    def __init__(
        self, options: Options, stack: Stack, engine: AsyncEngine, http: httpx.AsyncClient, summary: Summary
    ) -> None:
        self.options = options
        self.stack = stack
        self.engine = engine
        self.http = http
        self.ledger = Ledger()
        self.windows: list[FaultWindow] = []
        self.pending: list[AckedAlarm] = []  # acknowledged, not yet on a call, still within their time
        self.late: list[AckedAlarm] = []  # past their time without a call (already counted as violations)
        self.checked = 0  # how many of ledger.acked have been taken into `pending`
        self.seen: set[tuple[Invariant, str]] = set()
        self.summary = summary

    # ------------------------------------------------------------------ faults
    async def inject(self, fault: Fault) -> None:
        """Break something, wait the fault's duration, mend it (servers' readiness is waited for later)."""
        stack, d = self.stack, fault.duration_s
        kind = fault.kind
        if kind is FaultKind.kill_server:
            server = stack.servers[fault.target]
            server.kill()
            await asyncio.sleep(d)
            server.start()
        elif kind in (FaultKind.redis_restart, FaultKind.redis_lost):
            await stack.redis.shutdown(keep_data=kind is FaultKind.redis_restart)
            await asyncio.sleep(d)
            await stack.redis.start()
        elif kind in (FaultKind.pg_restart_fast, FaultKind.pg_restart_immediate):
            await asyncio.to_thread(
                stack.pg.stop, "fast" if kind is FaultKind.pg_restart_fast else "immediate"
            )
            await asyncio.sleep(d)
            await asyncio.to_thread(stack.pg.start)
        elif kind in (FaultKind.pg_cut, FaultKind.redis_cut):
            (stack.pg_proxy if kind is FaultKind.pg_cut else stack.redis_proxy).cut(d)
            await asyncio.sleep(d)
        elif kind in (FaultKind.pg_stall, FaultKind.redis_stall):
            (stack.pg_proxy if kind is FaultKind.pg_stall else stack.redis_proxy).stall(d)
            await asyncio.sleep(d)
        elif kind in (FaultKind.twilio_429, FaultKind.twilio_500):
            status = 429 if kind is FaultKind.twilio_429 else 500
            response = await self.http.post(
                f"{stack.twilio_url}/_fake/faults", json={"status": status, "seconds": d}
            )
            if response.status_code != 200:
                raise HarnessError(
                    f"the fake Twilio refused the fault: {response.status_code} {response.text}"
                )
            await asyncio.sleep(d)

    async def recover(self, cycle: int) -> None:
        """Wait until every server answers /readyz; one that does not (or died) is a finding (`supervise`
        restarts one that died)."""
        for server in self.stack.servers:
            try:
                await server.wait_ready(self.http, RECOVERY_TIMEOUT_S)
            except HarnessError as exc:
                self.found(
                    Violation(
                        Invariant.server_exit, f"server {server.spec.index} start {server.starts}", str(exc)
                    ),
                    cycle,
                )

    async def supervise(self) -> None:
        """Restart a server that exited on its own (and count it)."""
        while True:
            await asyncio.sleep(0.5)
            for server in self.stack.servers:
                if server.expected_down or server.running or server.proc is None:
                    continue
                code = server.proc.returncode
                detail = f"exited with {code}: {tail(server.spec.log, 5)}"
                self.found(
                    Violation(
                        Invariant.server_exit, f"server {server.spec.index} start {server.starts}", detail
                    ),
                    self.ledger.cycle,
                )
                self.stack.children.forget(server.proc)
                server.start()

    # ------------------------------------------------------------------ checks
    def found(self, violation: Violation, cycle: int, fault: FaultKind | None = None) -> None:
        """Count a violation once, under the given fault or else the latest one."""
        key = (violation.invariant, violation.key)
        if key in self.seen:
            return
        self.seen.add(key)
        if fault is None:
            fault = FaultKind(self.windows[-1].kind) if self.windows else FaultKind.none
        self.summary.found.append(Found(violation, cycle, fault))
        logger.warning(
            "cycle %d: VIOLATION %s: %s: %s",
            cycle,
            violation.invariant.value,
            violation.key,
            violation.detail,
        )

    def _fault_of(self, alarm: AckedAlarm) -> FaultKind:
        """The fault an alarm met: the latest one begun before its acknowledgement."""
        kind = invariants.fault_met(alarm.acked_at, self.windows)
        return FaultKind(kind) if kind else FaultKind.none

    async def check(self, cycle: int, *, cutoff_s: float) -> AlarmOutcome:
        """Take in the new acknowledgements, then check every invariant."""
        new = self.ledger.acked[self.checked :]
        self.checked += len(new)
        for alarm in new:
            self.summary.acked[self._fault_of(alarm)] += 1
        self.pending += new
        now = time.time()

        def sms_due(created_at: datetime) -> bool:
            """A text has `cutoff_s` after it was queued, or after the end of a fault it met (a carrier
            refusing twice in a row pushes its retries past the first window)."""
            return invariants.alarm_deadline(created_at.timestamp(), self.windows, cutoff_s) <= now

        async with self.engine.connect() as connection:
            rows = await invariants.alarm_rows(connection)
            cutoff = invariants.sms_cutoff(datetime.now(UTC), cutoff_s)
            database = await invariants.database_violations(connection, cutoff=cutoff, sms_due=sms_due)

        def deadline(alarm: AckedAlarm) -> float:
            return invariants.alarm_deadline(alarm.acked_at, self.windows, self.options.grace_s)

        outcome = invariants.alarm_outcomes(self.pending, rows, now=now, deadline=deadline)
        for alarm, seconds in outcome.latencies:
            self.summary.latencies[self._fault_of(alarm)].append(seconds)
        for alarm, violation in outcome.violations:
            self.found(violation, alarm.cycle, self._fault_of(alarm))
            self.late.append(alarm)
        self.pending = outcome.pending
        late = invariants.alarm_outcomes(self.late, rows, now=now, deadline=lambda _: float("inf"))
        for alarm, seconds in late.latencies:  # a call in the end, long after its time
            self.summary.latencies[self._fault_of(alarm)].append(seconds)
        self.late = late.pending
        for violation in await self._with_carrier_status(database):
            self.found(violation, cycle)
        return outcome

    async def _with_carrier_status(self, violations: list[Violation]) -> list[Violation]:
        """New SMS violations say what the fake Twilio knows of the message (a lost callback shows)."""
        asking = [v for v in violations if v.sms and (v.invariant, v.key) not in self.seen]
        if not asking:
            return violations
        try:
            response = await self.http.get(f"{self.stack.twilio_url}/_fake/messages", params={"since": 0})
            carried = response.json()["items"]
        except (httpx.HTTPError, ValueError, KeyError):
            return violations
        return [
            replace(v, detail=f"{v.detail}; {_carrier_says(v, carried)}") if v in asking else v
            for v in violations
        ]

    # ------------------------------------------------------------------ the run
    async def cycle(self, fault: Fault) -> None:
        """Traffic goes on; the fault comes, is mended; the servers recover; the invariants are checked."""
        started = time.monotonic()
        self.ledger.cycle = fault.cycle
        await asyncio.sleep(fault.at_s)
        self.summary.faults[fault.kind] += 1
        began = time.time()
        logger.info("cycle %d: %s for %.1f s", fault.cycle, fault.kind.value, fault.duration_s)
        await self.inject(fault)
        await self.recover(fault.cycle)
        self.windows.append(FaultWindow(fault.kind.value, began, time.time()))
        await asyncio.sleep(max(0.0, self.options.cycle_s - (time.monotonic() - started)))
        await self.check(fault.cycle, cutoff_s=self.options.settle_s)

    async def settle(self) -> None:
        """After the traffic: until every alarm is a call (or past its time) and every SMS and job settled."""
        stopped = time.time()
        cycle = self.options.cycles
        while True:
            await self.check(cycle, cutoff_s=self.options.settle_s)
            async with self.engine.connect() as connection:
                strict = await invariants.database_violations(connection, cutoff=datetime.now(UTC))
            unsettled = [v for v in strict if (v.invariant, v.key) not in self.seen]
            if not self.pending and (not unsettled or time.time() >= stopped + self.options.settle_s):
                break
            await asyncio.sleep(1.0)
        await self.check(cycle, cutoff_s=self.options.settle_s)

    async def totals(self) -> None:
        """What the run left in the database and what the simulators did, for the table."""
        queries = {
            "calls": "SELECT state, count(*) FROM call GROUP BY state",
            "jobs": "SELECT state, count(*) FROM job GROUP BY state",
            "orders": "SELECT state, count(*) FROM service_order GROUP BY state",
            "sms": "SELECT status || coalesce(' ' || error_code, ''), count(*) FROM sms_message "
            "WHERE direction = 'outbound' GROUP BY 1",
        }
        async with self.engine.connect() as connection:
            for name, query in queries.items():
                counts = {str(state): int(n) for state, n in await connection.execute(text(query))}
                setattr(self.summary, name, counts)
        self.summary.alarms_sent = self.ledger.counts["alarms sent"]
        self.summary.alarms_unacked = self.ledger.unacked
        self.summary.never_a_call = len(self.late) + len(self.pending)
        self.summary.bot = {
            k.removeprefix("bot "): v for k, v in self.ledger.counts.items() if k.startswith("bot ")
        }


def _carrier_says(violation: Violation, carried: list[dict[str, Any]]) -> str:
    """What the fake Twilio holds for an SMS: by SID, or by number and body when we never stored the SID."""
    assert violation.sms is not None  # noqa: S101 - only SMS violations are asked about
    sid, to, body = violation.sms
    if sid is not None:
        statuses = [m["status"] for m in carried if m["sid"] == sid]
    else:
        statuses = [m["status"] for m in carried if m["to"] == to and m["body"] == body]
    if not statuses:
        return "the carrier never got it"
    return f"the carrier has {len(statuses)} cop{'y' if len(statuses) == 1 else 'ies'}: {', '.join(statuses)}"


def _secret_key() -> str:
    """This run's DISPATCH_SECRET_KEY, for the seeding and every server."""
    return f"chaos-secret-{os.getpid()}-not-for-production"


async def _load_city(engine: AsyncEngine) -> tuple[list[Device], list[int], list[tuple[int, str]]]:
    """The seeded devices (their secrets opened: they are stored sealed), elder ids and providers (id,
    phone)."""
    box = box_for(Settings(secret_key=_secret_key(), _env_file=None))
    async with engine.connect() as connection:
        devices = [
            Device(imei, kind, box.open(secret), lon, lat)
            for imei, kind, secret, lon, lat in await connection.execute(
                text(
                    "SELECT d.imei, d.kind, d.secret, e.home_lon, e.home_lat FROM device d "
                    "JOIN elder e ON e.id = d.elder_id WHERE d.status = 'active' ORDER BY d.id"
                )
            )
        ]
        elders = [int(i) for (i,) in await connection.execute(text("SELECT id FROM elder ORDER BY id"))]
        providers = [
            (int(i), str(p)) for i, p in await connection.execute(text("SELECT id, phone FROM provider"))
        ]
    return devices, elders, providers


def provider_behaviour(rng: random.Random) -> Behaviour:
    """Most accept within seconds (and arrive, and finish, soon after); some decline; a few stay silent."""
    roll = rng.random()
    if roll < 0.1:
        return Behaviour("silent")
    if roll < 0.25:
        return Behaviour("decline", answer_after_s=rng.uniform(0.3, 2))
    return Behaviour("accept", rng.uniform(0.3, 3), rng.uniform(1, 4), rng.uniform(1, 4))


async def _start_twilio(children: Children, tmp: Path, front_port: int, http: httpx.AsyncClient) -> str:
    port = free_port()
    children.spawn(
        [
            sys.executable, "-m", "simulators.fake_twilio", "--port", str(port), "--status-delay-ms", "50",
            "--sms-webhook", f"http://127.0.0.1:{front_port}/webhooks/twilio/sms",
        ],
        log=tmp / "fake_twilio.log",
        cwd=tmp,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get(f"{url}/_fake/config", timeout=2)).status_code == 200:
                return url
        await asyncio.sleep(0.1)
    raise HarnessError(f"the fake Twilio did not start: {tail(tmp / 'fake_twilio.log')}")


def _seed(stack: Stack, options: Options) -> None:
    """Migrate and seed the demo city (a small one) straight into PostgreSQL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISPATCH_")}
    env |= {
        "DISPATCH_DATABASE_URL": stack.pg.url,
        "DISPATCH_LOG_LEVEL": "WARNING",
        "DISPATCH_DATA_DIR": str(stack.tmp),
        "DISPATCH_SECRET_KEY": _secret_key(),  # the servers' key: it seals the devices' secrets
    }
    command = [
        sys.executable,
        "-m",
        "dispatch",
        "seed-demo",
        "--elders",
        str(options.elders),
        "--seed",
        str(options.seed),
    ]
    done = subprocess.run(
        command, env=env, cwd=stack.tmp, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise HarnessError(f"seeding failed: {done.stderr[-2000:]}")


async def _start_stack(options: Options, tmp: Path, children: Children, http: httpx.AsyncClient) -> Stack:
    pg = PostgresCluster()
    try:
        await asyncio.to_thread(pg.init)
        redis = RedisServer(children, tmp / "redis")
        await redis.start()
    except BaseException:
        pg.destroy()
        raise
    rng = random.Random(options.seed)
    servers: list[ServerProcess] = []

    def live() -> list[tuple[str, int]]:
        return [("127.0.0.1", s.spec.http_port) for s in servers if s.running]

    stack = Stack(
        tmp=tmp,
        children=children,
        pg=pg,
        redis=redis,
        pg_proxy=Proxy("postgresql", lambda: [("127.0.0.1", pg.port)]),
        redis_proxy=Proxy("redis", lambda: [("127.0.0.1", redis.port)]),
        front=Proxy("http", live, rng=random.Random(rng.random())),
        twilio_url="",
        watch_port=free_port(),
        servers=servers,
    )
    for proxy in (stack.pg_proxy, stack.redis_proxy, stack.front):
        await proxy.start()
    stack.twilio_url = await _start_twilio(children, tmp, stack.front.port, http)
    await asyncio.to_thread(_seed, stack, options)
    for index, port in enumerate(free_ports(options.processes)):
        data_dir = tmp / f"server{index}"
        servers.append(
            ServerProcess(
                children, ServerSpec(index, port, data_dir, _server_env(stack, index, port, data_dir))
            )
        )
    for server in servers:
        server.start()
    for server in servers:
        await server.wait_ready(http)
    return stack


async def _stop_stack(stack: Stack | None) -> None:
    if stack is None:
        return
    for proxy in (stack.front, stack.pg_proxy, stack.redis_proxy):
        with contextlib.suppress(Exception):
            await proxy.stop()


async def _background(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run(options: Options) -> Summary:
    """The whole run; the summary lists harness problems apart from the violations found."""
    began = time.monotonic()
    main = asyncio.current_task()
    if main is not None:  # SIGTERM ends the run as Ctrl-C does: through the clean-up below
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    children = Children()
    stack: Stack | None = None
    summary = Summary(options.seed, options.cycles, options.processes, 0.0)
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            stack = await _start_stack(options, tmp, children, http)
            logger.info("stack up in %.1f s", time.monotonic() - began)
            await _cycles(options, stack, http, summary)
    except HarnessError as exc:
        summary.harness_problems.append(str(exc))
    except Exception as exc:  # a bug of the harness: reported as such, never as a finding
        logger.exception("the harness failed")
        summary.harness_problems.append(f"the harness failed: {exc!r}")
    finally:
        try:
            await _stop_stack(stack)
            children.stop_all()
            if options.keep is not None:
                shutil.copytree(
                    tmp, options.keep / tmp.name, dirs_exist_ok=True, ignore_dangling_symlinks=True
                )
                if stack is not None:
                    shutil.copy(stack.pg.log, options.keep / tmp.name / "postgres.log")
        finally:
            if stack is not None:
                stack.pg.destroy()
            shutil.rmtree(tmp, ignore_errors=True)
    summary.elapsed_s = time.monotonic() - began
    return summary


async def _cycles(options: Options, stack: Stack, http: httpx.AsyncClient, summary: Summary) -> None:
    rng = random.Random(options.seed + 1)
    engine = create_async_engine(stack.pg.url, pool_pre_ping=True)
    front = httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.front.port}", trust_env=False)
    twilio = httpx.AsyncClient(base_url=stack.twilio_url, trust_env=False)
    devices_list, elder_ids, providers = await _load_city(engine)
    runner = Run(options, stack, engine, http, summary)
    devices = Devices(
        devices_list,
        watch_port=stack.watch_port,
        http=front,
        ledger=runner.ledger,
        rng=random.Random(rng.random()),
    )
    traffic = Traffic(devices, rate=options.rate, rng=random.Random(rng.random()))
    bot = AgentBot(
        Agent(front, "agent1", DEMO_PASSWORD, runner.ledger),
        Agent(front, "agent2", DEMO_PASSWORD, runner.ledger),
        elder_ids=elder_ids,
        rng=random.Random(rng.random()),
        ledger=runner.ledger,
    )
    behaviours = {
        phone: provider_behaviour(random.Random(f"{options.seed}-{pid}")) for pid, phone in providers
    }
    answering = SimulatedProviders(twilio, OUR_NUMBER, behaviours, poll_wait_s=5)
    helpers = [asyncio.create_task(answering.run()), asyncio.create_task(runner.supervise())]
    await asyncio.wait_for(answering.ready.wait(), 30)
    workers = [asyncio.create_task(traffic.run()), asyncio.create_task(bot.run())]
    try:
        for fault in plan(
            seed=options.seed, cycles=options.cycles, processes=options.processes, only=options.only
        ):
            await runner.cycle(fault)
        await _background(workers[1:])
        traffic.stop()
        await workers[0]
        await traffic.drain(10)
        await runner.settle()
        await runner.totals()
    finally:
        await _background(workers + helpers)
        await devices.close()
        await front.aclose()
        await twilio.aclose()
        await engine.dispose()
