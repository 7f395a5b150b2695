"""Hotline load: hundreds of concurrent inbound calls through the fake Twilio to a real `dispatch serve`.

    python -m simulators.load.voice_calls [--calls 200] [--agents 20] [--over 10] [--ms-per-second 1000]

One server process (PostgreSQL in a fresh schema, dropped at the end, when `--database-url` is reachable;
else SQLite in a temporary directory) with voice configured and its twilio client pointed at a fake Twilio
run in this process. `--agents` agents log in, open their console WebSockets, get ready; their desk phones
answer after 2 scripted seconds (a headset in auto-answer mode) and hang up after `--talk` seconds, and
wrap-up is 0 s, so each agent takes call after call. Then `--calls` elders (each with a phone of their own)
ring the hotline, evenly over `--over` seconds (0: all at the same moment), and wait in the queue until an
agent is free, so nearly all of them are on the line at once: most press nothing at the menu (an
emergency), some press 1-4; none hang up, so every call should be answered, and recorded. The calls'
scripted seconds pass in real time unless `--ms-per-second` compresses them (50: twenty times faster,
every webhook of a call twenty times closer together: a stress run, not a hotline's day).

Measured:
* voice webhook: the server's answer time of every TwiML fetch, as the fake timed it (`webhook_ms`): the
  incoming-call webhook, the menu's answer, the waiting message, the agents' legs;
* offer to screen-pop: the console's receipt of the `offered` message (for that agent) minus the offer's
  time in the server (`phone_call.offered_at`), both on this machine's wall clock;
* answered, recorded (stored recordings / calls), the queue wait (queued to answered) and the time until
  every call had ended and every recording was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import websockets
from sqlalchemy import bindparam, func, select, text, update

from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import SystemClock
from dispatch.db import migrate
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.elders.models import Elder
from dispatch.settings import Settings
from dispatch.voice.models import PhoneCall, PhoneCallState, PhoneOutcome, Recording, RecordingState
from simulators.fake_twilio import FakeTwilio
from simulators.load.common import cpu_seconds, free_port, insert_elders_with_watches, quantile
from simulators.load.console_latency import Server, base_env, drop_schema

PG_URL = os.environ.get("DISPATCH_BENCH_PG_URL", "postgresql+asyncpg://127.0.0.1:5432/test")
HOTLINE = "+8659112349"
PASSWORD = "voice calls bench"  # noqa: S105 - throwaway accounts in a throwaway database
MENU_CHOICES = ("", "1", "2", "3", "4")  # nothing pressed (an emergency) for most, as elders do
MENU_WEIGHTS = (60, 10, 15, 10, 5)


def caller_number(n: int) -> str:
    return f"+86139{n:08d}"


def agent_number(n: int) -> str:
    return f"+86591{n:08d}"


@dataclass
class Result:
    database: str
    calls: int
    agents: int
    webhook_ms: list[float] = field(default_factory=list)  # every TwiML fetch
    incoming_ms: list[float] = field(default_factory=list)  # the first fetch of each incoming call
    screen_pop_ms: list[float] = field(default_factory=list)
    offers: int = 0
    answered: int = 0
    abandoned: int = 0
    ended: int = 0
    refused: int = 0  # calls whose incoming-call webhook failed (the fake's error 11200)
    recorded: int = 0
    waits_s: list[float] = field(default_factory=list)
    drained_s: float = float("nan")  # nan: not every call ended and was recorded before --drain
    live_at_deadline: int = 0
    pending_at_deadline: int = 0
    server_cpu_s: float = 0.0


# --- the database -------------------------------------------------------------------------------------


async def reachable(url: str) -> bool:
    """Whether PostgreSQL answers at `url` (within a few seconds)."""
    if not url:
        return False
    engine = create_engine(Settings(database_url=url, _env_file=None))
    try:
        async with asyncio.timeout(5), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except (OSError, TimeoutError, Exception):
        return False
    finally:
        await engine.dispose()


async def seed(settings: Settings, calls: int, agents: int) -> None:
    """Elders 1..calls with a phone each (the callers), and the agents with their desk phones."""
    await asyncio.to_thread(migrate.upgrade, settings)
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await insert_elders_with_watches(
                connection, calls, imei_of=lambda n: f"87{n:013d}", name_prefix="来电"
            )
            await connection.execute(
                update(Elder).where(Elder.id == bindparam("elder_id")).values(phone=bindparam("number")),
                [{"elder_id": n, "number": caller_number(n)} for n in range(1, calls + 1)],
            )
        async with unit_of_work(create_session_factory(engine)) as session:
            for n in range(1, agents + 1):
                operator = await auth_service.create_operator(
                    session=session,
                    clock=SystemClock(),
                    actor=Actor.system("voice-calls"),
                    username=f"seat{n:03d}",
                    display_name=f"Seat {n}",
                    role=Role.agent,
                    password=PASSWORD,
                )
                operator.phone = agent_number(n)
    finally:
        await engine.dispose()


# --- the server ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(env: dict[str, str], logs: Path, http_port: int) -> Iterator[Server]:
    """One `dispatch serve` process."""
    log = logs / "server.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield Server(process, f"http://127.0.0.1:{http_port}", free_port(), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_http(started: Server, within: float = 120) -> None:
    """Until `/healthz` answers (the watch port is not used here)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            if started.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{started.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{started.http}/healthz", timeout=1)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{started.http} did not start within {within:.0f} s")
            await asyncio.sleep(0.2)


# --- the agents ---------------------------------------------------------------------------------------


@dataclass
class Seat:
    """An agent's console: when each `offered` message for them arrived, and the offer's server time."""

    username: str
    pops: list[tuple[float, str]] = field(default_factory=list)  # (arrival wall time, offered_at)
    resynced: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, url: str) -> None:
        async with websockets.connect(url, max_size=None) as socket_:
            async for raw in socket_:
                arrived = time.time()
                message = json.loads(raw)
                if message.get("type") == "resync":
                    self.resynced.set()
                elif message.get("type") == "phone" and message.get("change") == "offered":
                    self.pops.append((arrived, str(message["phone_call"]["offered_at"])))


@contextlib.asynccontextmanager
async def seats(base: str, count: int) -> AsyncIterator[list[Seat]]:
    """Every agent logged in, their console open and resynced, then ready."""
    opened = [Seat(f"seat{n:03d}") for n in range(1, count + 1)]
    tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for seat in opened:
                login = await client.post(
                    "/api/v1/auth/login", json={"username": seat.username, "password": PASSWORD}
                )
                login.raise_for_status()
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                client.cookies.clear()
                ticket = (await client.post("/api/v1/auth/ws-ticket", headers=headers)).json()["ticket"]
                url = base.replace("http://", "ws://") + f"/ws/console?ticket={ticket}"
                tasks.append(asyncio.create_task(seat.run(url)))
                async with asyncio.timeout(30):
                    await seat.resynced.wait()
                ready = await client.put("/api/v1/agents/me/state", json={"state": "ready"}, headers=headers)
                ready.raise_for_status()
        yield opened
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# --- the run ------------------------------------------------------------------------------------------


async def settled(settings: Settings) -> tuple[int, int]:
    """(phone calls not ended, recordings not yet fetched) so far."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            live = await session.scalar(
                select(func.count()).select_from(PhoneCall).where(PhoneCall.state != PhoneCallState.ended)
            )
            pending = await session.scalar(
                select(func.count()).select_from(Recording).where(Recording.state == RecordingState.pending)
            )
        return int(live or 0), int(pending or 0)
    finally:
        await engine.dispose()


async def tally(settings: Settings, result: Result) -> None:
    """Outcomes and queue waits from the database."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = (
                await session.execute(select(PhoneCall.outcome, PhoneCall.queued_at, PhoneCall.answered_at))
            ).all()
            result.recorded = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Recording)
                    .where(Recording.state == RecordingState.stored)
                )
                or 0
            )
    finally:
        await engine.dispose()
    result.ended = sum(1 for outcome, _, _ in rows if outcome is not None)
    result.answered = sum(1 for outcome, _, _ in rows if outcome == PhoneOutcome.answered)
    result.abandoned = sum(1 for outcome, _, _ in rows if outcome == PhoneOutcome.abandoned)
    result.waits_s = [
        (answered - queued).total_seconds() for _, queued, answered in rows if queued and answered
    ]


def screen_pops(screens: Sequence[Seat]) -> list[float]:
    """Milliseconds from each offer (server time) to its `offered` message at the agent's console."""
    return [
        (arrived - datetime.fromisoformat(offered_at).timestamp()) * 1000
        for seat in screens
        for arrived, offered_at in seat.pops
    ]


async def measure(args: argparse.Namespace, workdir: Path) -> Result:
    use_pg = await reachable(args.database_url)
    schema = f"bench_voice_{uuid.uuid4().hex[:8]}"
    data_dir = workdir / "data"
    if use_pg:
        settings = Settings(
            database_url=args.database_url, database_schema=schema, data_dir=data_dir, _env_file=None
        )
        database = "PostgreSQL"
    else:
        settings = Settings(data_dir=data_dir, _env_file=None)
        database = "SQLite (embedded)"
    result = Result(database, args.calls, args.agents)
    fake = FakeTwilio(voice_number=HOTLINE, voice_ms_per_second=args.ms_per_second)
    await fake.start()
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    fake.configure_voice(
        voice_webhook_url=f"{base}/webhooks/twilio/voice",
        voice_status_url=f"{base}/webhooks/twilio/voice/status",
    )
    fake.set_phones(
        {
            agent_number(n): {"answer": True, "answer_after_s": 2, "hangup_after_s": args.talk}
            for n in range(1, args.agents + 1)
        }
    )
    env = base_env(
        data_dir,
        DISPATCH_HTTP_PORT=str(http_port),
        DISPATCH_WATCH_PORT=str(free_port()),
        DISPATCH_TWILIO_ACCOUNT_SID=fake.account_sid,
        DISPATCH_TWILIO_AUTH_TOKEN=fake.auth_token,
        DISPATCH_TWILIO_BASE_URL=fake.base_url,
        DISPATCH_VOICE_NUMBER=HOTLINE,
        DISPATCH_PUBLIC_BASE_URL=base,
        DISPATCH_WRAP_UP_SECONDS="0",
        DISPATCH_VOICE_WAIT_ALERT_SECONDS="3600",
    )
    if use_pg:
        env |= {"DISPATCH_DATABASE_URL": args.database_url, "DISPATCH_DATABASE_SCHEMA": schema}
    logs = workdir / "logs"
    logs.mkdir()
    try:
        await seed(settings, args.calls, args.agents)
        with server(env, logs, http_port) as started:
            await wait_http(started)
            async with seats(base, args.agents) as screens:
                rng = random.Random(args.seed)
                cpu_before, began = cpu_seconds(started.process.pid), time.perf_counter()
                placed = []
                for n in range(1, args.calls + 1):  # evenly over `--over` seconds (0: all at once)
                    digits = rng.choices(MENU_CHOICES, MENU_WEIGHTS)[0]
                    placed.append(fake.place_call(from_=caller_number(n), digits=digits))
                    if args.over:
                        await asyncio.sleep(args.over / args.calls)
                deadline = began + args.drain
                while time.perf_counter() < deadline:
                    live, pending = await settled(settings)
                    if all(call.final for call in placed) and not live and not pending:
                        result.drained_s = time.perf_counter() - began
                        break
                    await asyncio.sleep(0.25)
                else:
                    result.live_at_deadline, result.pending_at_deadline = await settled(settings)
                result.server_cpu_s = cpu_seconds(started.process.pid) - cpu_before
                result.screen_pop_ms = screen_pops(screens)
                result.offers = len(result.screen_pop_ms)
        calls = fake.voice.state.calls.values()
        result.webhook_ms = [ms for call in calls for ms in call.webhook_ms]
        result.refused = sum(any(line.startswith("error 11200") for line in call.executed) for call in placed)
        result.incoming_ms = [
            fake.call(call.sid).webhook_ms[0] for call in placed if fake.call(call.sid).webhook_ms
        ]
        await tally(settings, result)
    finally:
        await fake.stop()
        if use_pg:
            await drop_schema(settings)
    return result


def _ms(values: Sequence[float]) -> str:
    worst = max(values, default=float("nan"))
    return f"{quantile(values, 0.5):.1f} / {quantile(values, 0.99):.1f} / {worst:.1f} ms (n={len(values)})"


def drained(result: Result, limit: float) -> str:
    if not math.isnan(result.drained_s):
        return f"{result.drained_s:.1f} s"
    return (
        f"not within {limit:g} s: {result.live_at_deadline} calls not ended, "
        f"{result.pending_at_deadline} recordings not fetched"
    )


def arrivals(over: float) -> str:
    return f"ringing in over {over:g} s" if over else "at once"


def print_table(result: Result, args: argparse.Namespace) -> None:
    print(
        f"\nHotline load: {result.calls} inbound calls {arrivals(args.over)} through the fake Twilio, "
        f"{result.agents} agents "
        f"(auto-answer after 2 s, talk {args.talk:g} s, wrap-up 0 s), 1 server process on {result.database}, "
        f"{os.cpu_count()} cores, {args.ms_per_second:g} ms per scripted second"
    )
    waits = result.waits_s
    rows = [
        ("voice webhook, every TwiML fetch p50 / p99 / max", _ms(result.webhook_ms)),
        ("voice webhook, incoming call (first fetch) p50 / p99 / max", _ms(result.incoming_ms)),
        ("offer → screen-pop (console WS) p50 / p99 / max", _ms(result.screen_pop_ms)),
        (
            "answered / abandoned / ended / calls",
            f"{result.answered} / {result.abandoned} / {result.ended} / {result.calls}",
        ),
        ("calls whose webhook failed (fake's error 11200)", str(result.refused)),
        ("recorded (stored / calls)", f"{result.recorded} / {result.calls}"),
        (
            "queue wait p50 / p99 / max",
            f"{quantile(waits, 0.5):.1f} / {quantile(waits, 0.99):.1f} / {max(waits, default=float('nan')):.1f} s",
        ),
        ("all ended and recorded after", drained(result, args.drain)),
        ("server CPU during the run", f"{result.server_cpu_s:.1f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}} | value")
    for name, value in rows:
        print(f"{name:{width}} | {value}")
    if result.webhook_ms:
        print(f"(mean TwiML answer {statistics.fmean(result.webhook_ms):.1f} ms; target p99 < 100 ms)")


async def run(args: argparse.Namespace) -> Result:
    if args.keep:  # the server's log and data stay there for a look afterwards
        args.keep.mkdir(parents=True, exist_ok=False)
        return await measure(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="voice-calls-") as tmp:
        return await measure(args, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="inbound calls placed")
    parser.add_argument(
        "--over", type=float, default=10.0, help="seconds over which they ring in (0: at once)"
    )
    parser.add_argument("--agents", type=int, default=20, help="agents ready, auto-answering")
    parser.add_argument("--talk", type=float, default=20.0, help="scripted seconds an agent talks")
    parser.add_argument(
        "--ms-per-second", type=float, default=1000.0, help="real ms per scripted second (50: 20x real time)"
    )
    parser.add_argument(
        "--database-url", default=PG_URL, help="PostgreSQL to use if reachable ('' for SQLite)"
    )
    parser.add_argument("--seed", type=int, default=12349, help="the menu choices' random seed")
    parser.add_argument("--drain", type=float, default=300.0, help="longest wait for every call to end")
    parser.add_argument("--keep", type=Path, help="a new directory to keep the server's log and data in")
    args = parser.parse_args()
    print_table(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
