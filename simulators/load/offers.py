"""Offers end to end: how many emergency dispatches a second the server sustains, SMS offer to acceptance.

    python -m simulators.load.offers [--calls 200] [--providers 50] [--concurrency 20]

In this process: the fake Twilio (`FakeTwilio`, status callbacks `--status-delay-ms` apart), the simulated
providers (`SimulatedProviders`, every one accepting at once, arriving `--arrive-after` s later and done
`--done-after` s after that, so their capacity frees up and one that lost the race is told before it would
report arriving), a console WebSocket and the load client. As a subprocess: `dispatch serve` on SQLite in
a temporary data directory (the embedded default), its `DISPATCH_TWILIO_*` pointing at the fake and the
fake's SMS webhook at it. `dispatch seed-demo` gives the accounts and the elders; the demo's own emergency
providers are suspended and `--providers` active emergency_rescue providers created through the REST API
as the supervisor, spread over the demo city with service areas covering all of it.

Closed loop: `--concurrency` agents each take the next elder, open a P1 fall call (`POST /api/v1/calls`),
acknowledge it, dispatch emergency rescue (`POST .../dispatch`: the server offers the job to the nearest
`--parallel` providers at once, DISPATCH_EMERGENCY_PARALLEL_OFFERS, 2 as the server's default) and wait
until the console WebSocket says the acceptance was applied (`change: offer_accepted`) before taking the
next one. A few unmeasured warm-up calls come first. Measured: dispatches a second over the window (first
dispatch sent to last acceptance seen), offer SMS the fake received a second, the dispatch request's own
latency, dispatch request to the offer SMS at the fake and to the acceptance on the console (p50 / p99 /
max), and the CPU of the server process and of this one. Afterwards every job is read back
(`GET .../jobs`) to check that each went to exactly one provider.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from dispatch.demo.city import COMMUNITIES
from dispatch.notify.templates import render
from dispatch.providers.admission import AdmissionCriterion
from simulators.fake_twilio import FakeTwilio
from simulators.load.common import cpu_seconds, free_port, own_cpu_seconds, quantile
from simulators.provider import Behaviour, SimulatedProviders, read_offer, withdraws

OUR_NUMBER = "+8659112349"
DEMO_PASSWORD = "demo"  # noqa: S105 - the demo accounts' well-known password, in a throwaway database
MARGIN_DEG = 0.03  # service areas reach this far beyond the outermost demo community
ALL_WEEK = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]


# ---------------------------------------------------------------- the server


def server_env(data_dir: Path, port: int, fake: FakeTwilio, parallel: int) -> dict[str, str]:
    """The server's environment: SQLite under `data_dir`, SMS through the fake Twilio."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env.update(
        {
            "DISPATCH_DATA_DIR": str(data_dir),
            "DISPATCH_LOG_LEVEL": "WARNING",
            "DISPATCH_WATCH_PORT": "0",
            "DISPATCH_P1_ACK_SECONDS": "3600",  # no escalations in the middle of the measurement
            "DISPATCH_TWILIO_ACCOUNT_SID": fake.account_sid,
            "DISPATCH_TWILIO_AUTH_TOKEN": fake.auth_token,
            "DISPATCH_TWILIO_FROM": OUR_NUMBER,
            "DISPATCH_TWILIO_BASE_URL": fake.base_url,
            "DISPATCH_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "DISPATCH_EMERGENCY_PARALLEL_OFFERS": str(parallel),
        }
    )
    return env


def seed_demo(env: dict[str, str], elders: int) -> None:
    """`dispatch seed-demo`: the demo accounts and `elders` elders."""
    done = subprocess.run(
        [sys.executable, "-m", "dispatch", "seed-demo", "--elders", str(elders)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seed-demo failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def serve(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`dispatch serve` on `port`, its output in `log`; terminated at the end."""
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, within: float = 120) -> None:
    """Until `/healthz` answers (RuntimeError if the server exits first)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited:\n{(await asyncio.to_thread(log.read_text))[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{base}/healthz", timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{base} did not start within {within:.0f} s")


# ---------------------------------------------------------------- setting up through the API


async def login(client: httpx.AsyncClient, username: str) -> str:
    """A bearer token."""
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


def demo_area() -> tuple[float, float, float, float]:
    """(west, south, east, north) of the demo communities, with a margin."""
    lons = [c.lon for c in COMMUNITIES]
    lats = [c.lat for c in COMMUNITIES]
    return min(lons) - MARGIN_DEG, min(lats) - MARGIN_DEG, max(lons) + MARGIN_DEG, max(lats) + MARGIN_DEG


def provider_phone(n: int) -> str:
    """The n-th benchmark provider's phone (1-based)."""
    return f"+86139{n:08d}"


def provider_body(n: int, rng: random.Random) -> dict[str, Any]:
    """An emergency rescue provider based somewhere in the demo city, serving all of it."""
    west, south, east, north = demo_area()
    square = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "name": f"压测急救站{n:03d}",
        "registration_number": f"91350102LT{n:08d}",
        "phone": provider_phone(n),
        "district": "鼓楼区",
        "service_types": ["emergency_rescue"],
        "base_location": {"lon": rng.uniform(west, east), "lat": rng.uniform(south, north)},
        "service_area": {"type": "Polygon", "coordinates": [square]},
        "price_list": [{"service_type": "emergency_rescue", "item": "出诊", "unit": "次", "price_cents": 0}],
        "capacity": 100,
        "working_hours": ALL_WEEK,
        "admission": {c.value: {"met": True, "evidence": "load run"} for c in AdmissionCriterion},
    }


async def suspend_demo_rescuers(client: httpx.AsyncClient) -> int:
    """Suspend the demo's own active emergency providers, so every offer goes to a simulated one."""
    params: dict[str, str | int] = {"service_type": "emergency_rescue", "status": "active", "limit": 500}
    found = (await client.get("/api/v1/providers", params=params)).json()["items"]
    for provider in found:
        change = {"status": "suspended", "reason": "offers load run"}
        response = await client.post(f"/api/v1/providers/{provider['id']}/status", json=change)
        response.raise_for_status()
    return len(found)


async def create_providers(client: httpx.AsyncClient, count: int) -> list[str]:
    """`count` active emergency providers; returns their phones."""
    rng = random.Random(12349)
    for n in range(1, count + 1):
        created = await client.post("/api/v1/providers", json=provider_body(n, rng))
        created.raise_for_status()
        change = {"status": "active", "reason": "offers load run"}
        activated = await client.post(f"/api/v1/providers/{created.json()['id']}/status", json=change)
        activated.raise_for_status()
    return [provider_phone(n) for n in range(1, count + 1)]


async def elder_ids(client: httpx.AsyncClient, count: int) -> list[int]:
    """The first `count` elders' ids."""
    ids: list[int] = []
    while len(ids) < count:
        page = await client.get("/api/v1/elders", params={"limit": 500, "offset": len(ids)})
        page.raise_for_status()
        items = page.json()["items"]
        if not items:
            raise RuntimeError(f"only {len(ids)} elders, {count} needed")
        ids += [int(item["id"]) for item in items]
    return ids[:count]


# ---------------------------------------------------------------- the console


class Console:
    """A console WebSocket: when the acceptance of each call's offer was pushed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.accepted_at: dict[int, float] = {}
        self.resynced = asyncio.Event()
        self._accepted: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def run(self) -> None:
        """Read the console's messages until cancelled."""
        async with websockets.connect(self.url, max_size=None) as ws:
            async for raw in ws:
                self.receive(json.loads(raw), time.perf_counter())

    def receive(self, message: dict[str, Any], now: float) -> None:
        """Note one message."""
        if message.get("type") == "resync":
            self.resynced.set()
        if message.get("type") != "call":
            return
        if message["change"] == "offer_accepted":
            call_id = int(message["call"]["id"])
            self.accepted_at.setdefault(call_id, now)
            self._accepted[call_id].set()

    async def accepted(self, call_id: int, within: float) -> bool:
        """Wait until the call's acceptance is pushed; False after `within` seconds."""
        try:
            async with asyncio.timeout(within):
                await self._accepted[call_id].wait()
        except TimeoutError:
            return False
        return True


# ---------------------------------------------------------------- the load


@dataclass
class Dispatched:
    """One call's dispatch: perf_counter and wall-clock times, the offers made at once."""

    call_id: int
    sent: float
    wall_sent: float
    answered: float = 0.0
    status: int = 0
    offers: list[tuple[str, str]] = field(default_factory=list)  # (provider phone, code)


@dataclass
class Load:
    """What the agents did."""

    dispatched: list[Dispatched] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # "endpoint status" -> count
    not_accepted: list[int] = field(default_factory=list)


async def one_call(
    client: httpx.AsyncClient, console: Console, elder_id: int, load: Load, phones: dict[int, str]
) -> None:
    """Open, acknowledge and dispatch one P1 call, then wait for its acceptance on the console."""
    body = {"elder_id": elder_id, "priority": "P1", "category": "fall", "reason": "offers load run"}
    opened = await client.post("/api/v1/calls", json=body)
    load.statuses[f"open {opened.status_code}"] += 1
    if opened.status_code != 201:
        return
    call_id = int(opened.json()["id"])
    acknowledged = await client.post(f"/api/v1/calls/{call_id}/acknowledge")
    load.statuses[f"acknowledge {acknowledged.status_code}"] += 1
    record = Dispatched(call_id, time.perf_counter(), time.time())
    response = await client.post(
        f"/api/v1/calls/{call_id}/dispatch", json={"service_type": "emergency_rescue"}
    )
    record.answered, record.status = time.perf_counter(), response.status_code
    load.statuses[f"dispatch {response.status_code}"] += 1
    load.dispatched.append(record)
    if response.status_code != 201:
        return
    record.offers = [(phones.get(o["provider_id"], ""), o["code"]) for o in response.json()["offers"]]
    if not await console.accepted(call_id, within=60):
        load.not_accepted.append(call_id)


async def agents(
    client: httpx.AsyncClient,
    console: Console,
    elders: Sequence[int],
    concurrency: int,
    phones: dict[int, str],
) -> Load:
    """`concurrency` agents working through the elders, one call each, closed loop."""
    load = Load()
    queue = iter(elders)

    async def agent() -> None:
        for elder_id in queue:
            await one_call(client, console, elder_id, load, phones)

    await asyncio.gather(*(agent() for _ in range(concurrency)))
    return load


# ---------------------------------------------------------------- checking and reporting


@dataclass
class Checks:
    """Each job read back from the API."""

    job_states: Counter[str] = field(default_factory=Counter)
    offer_states: Counter[str] = field(default_factory=Counter)
    multiple_assigned: list[int] = field(default_factory=list)  # calls whose job more than one provider holds


async def read_back(client: httpx.AsyncClient, calls: Sequence[int]) -> Checks:
    """Read every call's jobs and count their states."""
    checks = Checks()
    for call_id in calls:
        jobs = (await client.get(f"/api/v1/calls/{call_id}/jobs")).json()
        for job in jobs:
            checks.job_states[job["state"]] += 1
            states = [o["state"] for o in job["offers"]]
            checks.offer_states.update(states)
            if sum(state in ("accepted", "arrived", "done") for state in states) > 1:
                checks.multiple_assigned.append(call_id)
    return checks


def sms_kinds(fake: FakeTwilio, since_index: int) -> Counter[str]:
    """The messages the server sent since `since_index`, by what they are."""
    helps = {render("help", language) for language in ("zh", "en")}
    kinds: Counter[str] = Counter()
    for message in fake.messages:
        if message.index <= since_index:
            continue
        if read_offer(message.body) is not None:
            kinds["offer"] += 1
        elif message.body in helps:
            kinds["help"] += 1
        elif any(withdraws(message.body, code) for code in _codes(message.body)):
            kinds["withdrawal"] += 1
        else:
            kinds["other (confirmation)"] += 1
    return kinds


def _codes(text: str) -> list[str]:
    """The 4-digit numbers in a text."""
    return re.findall(r"(?<!\d)\d{4}(?!\d)", text)


def offer_delays(fake: FakeTwilio, load: Load) -> list[float]:
    """Per dispatch: seconds from the request to the first of its offers at the fake."""
    first: dict[tuple[str, str], list[float]] = defaultdict(list)
    for message in fake.messages:
        offer = read_offer(message.body)
        if offer is not None:
            first[(message.to, offer.code)].append(message.created_at.timestamp())
    delays = []
    for record in load.dispatched:
        seen = [t for key in record.offers for t in first.get(key, []) if t >= record.wall_sent - 0.01]
        if seen:
            delays.append(min(seen) - record.wall_sent)
    return delays


@dataclass
class Measured:
    """The measured calls and what they cost."""

    load: Load
    first_index: int  # the fake's last message before the measured calls
    window_s: float  # first dispatch sent to last acceptance seen
    server_cpu: float  # share of one core
    client_cpu: float


def measured_offers(fake: FakeTwilio, first_index: int) -> tuple[int, int]:
    """(offer SMS the fake received, of which delivered) after `first_index`."""
    offers = [m for m in fake.messages if m.index > first_index and read_offer(m.body) is not None]
    return len(offers), sum(m.status == "delivered" for m in offers)


def rows(fake: FakeTwilio, console: Console, m: Measured, checks: Checks) -> list[tuple[str, str]]:
    """The table's (metric, value) rows."""
    ok = [r for r in m.load.dispatched if r.status == 201]
    request_ms = [(r.answered - r.sent) * 1000 for r in ok]
    accept_ms = [
        (console.accepted_at[r.call_id] - r.sent) * 1000 for r in ok if r.call_id in console.accepted_at
    ]
    offer_ms = [d * 1000 for d in offer_delays(fake, m.load)]
    offers, delivered = measured_offers(fake, m.first_index)
    return [
        ("calls dispatched (201) / acceptance seen on the console", f"{len(ok)} / {len(accept_ms)}"),
        ("measured window (first dispatch -> last acceptance)", f"{m.window_s:.2f} s"),
        ("dispatches/s sustained (closed loop, to acceptance)", f"{len(accept_ms) / m.window_s:.1f}"),
        ("offer SMS at the fake / delivered", f"{offers} / {delivered}"),
        ("offer SMS delivered to the fake per second", f"{delivered / m.window_s:.1f}"),
        ("dispatch request latency p50 / p99 / max", _ms(request_ms)),
        ("dispatch request -> offer SMS at the fake p50 / p99 / max", _ms(offer_ms)),
        ("dispatch request -> acceptance on console p50 / p99 / max", _ms(accept_ms)),
        ("server CPU (dispatch serve, one process)", f"{m.server_cpu:.0%} of a core"),
        ("this process CPU (fake Twilio + providers + agents)", f"{m.client_cpu:.0%} of a core"),
        ("jobs by state", _counts(checks.job_states)),
        ("offers by state", _counts(checks.offer_states)),
        ("jobs held by more than one provider", str(len(checks.multiple_assigned))),
    ]


def _ms(values: Sequence[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    if not values:
        return "-"
    return f"{quantile(values, 0.5):.0f} / {quantile(values, 0.99):.0f} / {max(values):.0f} ms"


def _counts(counter: Counter[str]) -> str:
    """`a 3, b 1`, most common first."""
    return ", ".join(f"{key} {count}" for key, count in counter.most_common()) or "-"


def print_table(title: str, table: list[tuple[str, str]]) -> None:
    """Two aligned columns under a title."""
    width = max(len(metric) for metric, _ in table)
    print(f"\n{title}")
    print(f"{'metric'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * max(len(value) for _, value in table)}")
    for metric, value in table:
        print(f"{metric.ljust(width)}  {value}")


def print_notes(fake: FakeTwilio, providers: SimulatedProviders, m: Measured, log: Path) -> None:
    """What else happened: every SMS by kind, webhook answers, API statuses, server log problems."""
    problems = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "ERROR" in line or "Traceback" in line
    ]
    replies = Counter(f"HTTP {a.status}" for a in providers.answers)
    print(f"\nSMS sent by the server in the window, by kind: {_counts(sms_kinds(fake, m.first_index))}")
    print(f"providers' replies (whole run), by the SMS webhook's status: {_counts(replies)}")
    print(f"API answers to the agents: {_counts(m.load.statuses)}")
    print(f"calls whose acceptance never reached the console within 60 s: {len(m.load.not_accepted)}")
    print(f"server log lines with ERROR or Traceback: {len(problems)}")
    for line in problems[:5]:
        print(f"    {line[:200]}")


def _title(args: argparse.Namespace) -> str:
    """The table's heading."""
    return (
        f"offers load run: {args.calls} calls (+{args.warmup} warm-up), {args.providers} providers accepting at once, "
        f"{args.concurrency} agents closed loop, {args.parallel} offers per job at once, SQLite, "
        f"status callbacks {args.status_delay_ms:g} ms apart, {os.cpu_count()} cores"
    )


# ---------------------------------------------------------------- the run


@dataclass
class Rig:
    """What the measurement drives: the server process, the agents' client, the console, the providers."""

    process: subprocess.Popen[bytes]
    client: httpx.AsyncClient
    console: Console
    phones: dict[int, str]  # provider id -> phone
    elders: list[int]


async def prepare(base: str, args: argparse.Namespace) -> tuple[dict[int, str], list[int]]:
    """Suspend the demo rescuers, create the providers; returns (provider id -> phone, elder ids)."""
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {await login(client, 'supervisor')}"
        suspended = await suspend_demo_rescuers(client)
        phones = set(await create_providers(client, args.providers))
        params: dict[str, str | int] = {"service_type": "emergency_rescue", "status": "active", "limit": 500}
        listed = (await client.get("/api/v1/providers", params=params)).json()["items"]
        by_id = {int(p["id"]): str(p["phone"]) for p in listed if p["phone"] in phones}
        elders = await elder_ids(client, args.calls + args.warmup)
    print(
        f"suspended {suspended} demo emergency providers, created {len(by_id)}; {len(elders)} elders",
        flush=True,
    )
    return by_id, elders


async def measure(rig: Rig, fake: FakeTwilio, args: argparse.Namespace) -> Measured:
    """The warm-up, then the measured calls."""
    warmup = rig.elders[: args.warmup]
    await agents(rig.client, rig.console, warmup, max(1, min(args.concurrency, len(warmup))), rig.phones)
    await asyncio.sleep(args.arrive_after + args.done_after + 1.0)  # the warm-up's arrivals and completions
    first_index = fake.messages[-1].index if fake.messages else 0
    cpu_before, own_before, started = cpu_seconds(rig.process.pid), own_cpu_seconds(), time.perf_counter()
    load = await agents(rig.client, rig.console, rig.elders[args.warmup :], args.concurrency, rig.phones)
    elapsed = time.perf_counter() - started
    server_cpu = (cpu_seconds(rig.process.pid) - cpu_before) / elapsed
    client_cpu = (own_cpu_seconds() - own_before) / elapsed
    seen = [
        rig.console.accepted_at[r.call_id] for r in load.dispatched if r.call_id in rig.console.accepted_at
    ]
    window = max(seen, default=time.perf_counter()) - min((r.sent for r in load.dispatched), default=started)
    await asyncio.sleep(args.arrive_after + args.done_after + 1.0)  # the last arrivals and completions
    return Measured(load, first_index, max(window, 1e-9), server_cpu, client_cpu)


async def drive(
    base: str, process: subprocess.Popen[bytes], fake: FakeTwilio, args: argparse.Namespace
) -> tuple[Measured, Checks, SimulatedProviders, Console]:
    """Prepare, start providers and console, measure, read back."""
    phones, elders = await prepare(base, args)
    accept = Behaviour("accept", 0.0, args.arrive_after, args.done_after)
    behaviours = {phone: accept for phone in phones.values()}
    limits = httpx.Limits(max_connections=args.concurrency + 10)
    async with (
        httpx.AsyncClient(base_url=fake.base_url, trust_env=False) as twilio,
        httpx.AsyncClient(base_url=base, trust_env=False, timeout=120, limits=limits) as client,
    ):
        providers = SimulatedProviders(twilio, OUR_NUMBER, behaviours, clock=time.perf_counter)
        token = await login(client, "agent1")
        client.headers["Authorization"] = f"Bearer {token}"
        ticket = (await client.post("/api/v1/auth/ws-ticket")).raise_for_status().json()["ticket"]
        console = Console(base.replace("http://", "ws://") + f"/ws/console?ticket={ticket}")
        tasks = [asyncio.create_task(providers.run()), asyncio.create_task(console.run())]
        try:
            async with asyncio.timeout(30):
                await asyncio.gather(providers.ready.wait(), console.resynced.wait())
            measured = await measure(Rig(process, client, console, phones, elders), fake, args)
            checks = await read_back(client, [r.call_id for r in measured.load.dispatched])
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return measured, checks, providers, console


async def run(args: argparse.Namespace) -> None:
    """Start everything, measure, print."""
    with tempfile.TemporaryDirectory(prefix="offers-load-") as tmp:
        data_dir, port = Path(tmp), free_port()
        log = data_dir / "server.log"
        async with FakeTwilio(status_delay_ms=args.status_delay_ms) as fake:
            env = server_env(data_dir, port, fake, args.parallel)
            await asyncio.to_thread(seed_demo, env, args.calls + args.warmup)
            base = f"http://127.0.0.1:{port}"
            fake.configure(sms_webhook_url=f"{base}/webhooks/twilio/sms")
            with serve(env, port, log) as process:
                await wait_ready(base, process, log)
                measured, checks, providers, console = await drive(base, process, fake, args)
            print_table(_title(args), rows(fake, console, measured, checks))
            print_notes(fake, providers, measured, log)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="measured calls, one elder each")
    parser.add_argument("--providers", type=int, default=50, help="simulated emergency providers")
    parser.add_argument("--concurrency", type=int, default=20, help="agents working at once (closed loop)")
    parser.add_argument("--parallel", type=int, default=2, help="offers out at once per emergency job")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured calls first")
    parser.add_argument("--arrive-after", type=float, default=1.0, help="seconds from accepting to arriving")
    parser.add_argument("--done-after", type=float, default=1.0, help="seconds from arriving to done")
    parser.add_argument(
        "--status-delay-ms", type=float, default=5.0, help="between the fake's status callbacks"
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
