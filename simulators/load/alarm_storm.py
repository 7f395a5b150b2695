"""Alarm storm: thousands of watches press SOS at once on PostgreSQL + Redis; how soon is every alarm a
call, and how soon after a crash are the alarms it left unprocessed calls?

Two phases per code tree (this checkout, and optionally a baseline commit in a temporary worktree, so
both are measured in one run of the machine):
Every elder has two contacts (a son, a community worker), texted when the call opens, as in the demo city.
- storm: N watches, each on its own connection, send one SOS each at the same moment; times from the
  first acknowledgement to the last call opened (the call rows' `opened_at`, the server's clock).
- restart: the server is killed (-9); the N stored alarms are made unprocessed again (their calls deleted,
  `processed_at` cleared: as if it had died right after acknowledging them); a new server starts and
  `--fresh` new watches press SOS as soon as it listens. Times from the restart to the last backlog call,
  and each fresh alarm's acknowledgement-to-call time (they must not queue behind the backlog).

    python -m simulators.load.alarm_storm [--watches 2000] [--fresh 50] [--baseline REF]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from dispatch.db.session import create_engine
from dispatch.settings import Settings
from simulators.load.common import free_port, quantile
from simulators.load.console_latency import (
    Server,
    Watch,
    base_env,
    connect_watches,
    flush_redis,
    wait_ready,
)
from tests.conftest import PG_URL

# Each elder's son and community worker, texted in that order when a call becomes P1 (as in the demo city).
CONTACTS = """
INSERT INTO contact (elder_id, priority, name, kind, relation, phone, notes)
SELECT id, n, CASE n WHEN 1 THEN '儿子' ELSE '助老员' END, CASE n WHEN 1 THEN 'relative' ELSE 'community_worker' END,
       CASE n WHEN 1 THEN '儿子' ELSE '' END, '+86139' || lpad((id * 2 + n)::text, 8, '0'), ''
FROM elder CROSS JOIN (VALUES (1), (2)) AS chain(n)
"""
REDIS_URL = os.environ.get("DISPATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Tree:
    label: str
    path: Path


@dataclass
class Result:
    label: str
    watches: int
    acked: int = 0
    ack_spread_s: float = 0.0  # first SOS sent -> last acknowledgement
    storm_calls: int = 0
    storm_last_call_s: float = 0.0  # first acknowledgement -> last call opened
    restart_calls: int = 0
    restart_last_call_s: float = 0.0  # new process started -> last backlog call opened
    restart_ready_s: float = 0.0  # new process started -> answering
    fresh_to_call: list[float] = field(default_factory=list)


def _env(tree: Tree, schema: str, data_dir: Path) -> dict[str, str]:
    env = base_env(
        data_dir,
        DISPATCH_DATABASE_URL=PG_URL,
        DISPATCH_DATABASE_SCHEMA=schema,
        DISPATCH_REDIS_URL=REDIS_URL,
    )
    env["PYTHONPATH"] = str(tree.path)
    return env


def _seed(tree: Tree, env: dict[str, str], elders: int) -> None:
    """Migrate and insert the elders with watches using the tree's own code (its own migrations)."""
    script = (
        "import asyncio; from dispatch.settings import Settings; "
        "from simulators.load.console_latency import seed; "
        f"asyncio.run(seed(Settings(), {elders}, 1))"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tree.path, env=env, check=True)


@contextlib.contextmanager
def _server(tree: Tree, env: dict[str, str], logs: Path, watch_port: int) -> Iterator[Server]:
    http_port = free_port()
    env = {**env, "DISPATCH_HTTP_PORT": str(http_port), "DISPATCH_WATCH_PORT": str(watch_port)}
    log = logs / f"server-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch", "serve"],
            cwd=tree.path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{http_port}", watch_port, log)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _sql(settings: Settings, statement: str) -> list[Any]:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement))
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def _calls_opened(settings: Settings, expected: int, within: float) -> tuple[int, float]:
    """(calls, wall time of the last one opened) once `expected` calls exist, or after `within` s."""
    deadline = time.monotonic() + within
    while True:
        [(count, last)] = await _sql(settings, "SELECT count(*), max(opened_at) FROM call")
        if int(count) >= expected or time.monotonic() > deadline:
            return int(count), last.timestamp() if last else float("nan")
        await asyncio.sleep(0.2)


async def _storm(watches: list[Watch]) -> tuple[float, float]:
    """Every watch presses SOS at once; (wall time of the first ack, seconds from first send to last ack)."""
    sent_wall, sent = time.time(), time.perf_counter()
    for watch in watches:
        watch.sos()
    async with asyncio.timeout(120):
        await asyncio.gather(*(w.sos_acked.wait() for w in watches))
    first_ack = min(w.acked_at for w in watches if w.acked_at is not None)
    last_ack = max(w.acked_at for w in watches if w.acked_at is not None)
    return sent_wall + (first_ack - sent), last_ack - sent


async def measure(tree: Tree, args: argparse.Namespace, workdir: Path) -> Result:
    schema = f"bench_storm_{uuid.uuid4().hex[:8]}"
    data_dir = workdir / tree.label
    env = _env(tree, schema, data_dir)
    settings = Settings(database_url=PG_URL, database_schema=schema, data_dir=data_dir, _env_file=None)
    result = Result(tree.label, args.watches)
    await flush_redis(REDIS_URL)
    await asyncio.to_thread(_seed, tree, env, args.watches + args.fresh)
    await _sql(settings, CONTACTS)
    logs = workdir / f"logs-{tree.label}"
    logs.mkdir()
    watch_port = free_port()
    try:
        with _server(tree, env, logs, watch_port) as server:
            await wait_ready(server)
            watches = await connect_watches(watch_port, range(1, args.watches + 1))
            first_ack_wall, result.ack_spread_s = await _storm(watches)
            result.acked = sum(w.acked_at is not None for w in watches)
            result.storm_calls, last = await _calls_opened(settings, args.watches, args.drain)
            result.storm_last_call_s = last - first_ack_wall
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            for watch in watches:
                if watch.transport is not None:
                    watch.transport.close()
        await _sql(settings, "DELETE FROM call_entry")
        await _sql(settings, "DELETE FROM sms_message")
        await _sql(settings, "DELETE FROM call")
        await _sql(settings, "UPDATE device_event SET processed_at = NULL WHERE type = 'sos'")
        await flush_redis(REDIS_URL)
        restarted_wall, restarted = time.time(), time.perf_counter()
        with _server(tree, env, logs, watch_port) as server:
            await wait_ready(server)
            result.restart_ready_s = time.perf_counter() - restarted
            fresh = await connect_watches(watch_port, range(args.watches + 1, args.watches + args.fresh + 1))
            for watch in fresh:
                watch.sos()
            result.restart_calls, last = await _calls_opened(settings, args.watches + args.fresh, args.drain)
            backlog = await _sql(
                settings,
                f"SELECT max(opened_at) FROM call WHERE elder_id <= {args.watches}",  # noqa: S608
            )
            result.restart_last_call_s = backlog[0][0].timestamp() - restarted_wall
            opened = dict(
                await _sql(settings, f"SELECT elder_id, opened_at FROM call WHERE elder_id > {args.watches}")  # noqa: S608
            )
            sent_wall = restarted_wall + (fresh[0].sent_at or restarted) - restarted
            result.fresh_to_call = [
                opened[w.number].timestamp() - (sent_wall + (w.acked_at or 0) - (fresh[0].sent_at or 0))
                for w in fresh
                if w.number in opened and w.acked_at is not None
            ]
            for watch in fresh:
                if watch.transport is not None:
                    watch.transport.close()
    finally:
        await _sql(settings, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await flush_redis(REDIS_URL)
    return result


@contextlib.contextmanager
def trees(baseline: str | None, workdir: Path) -> Iterator[list[Tree]]:
    found = [Tree("after", ROOT)]
    if baseline is None:
        yield found
        return
    path = workdir / "baseline"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(path), baseline], cwd=ROOT, check=True)
    shutil.copytree(ROOT / "console_ui" / "node_modules", path / "console_ui" / "node_modules", symlinks=True)
    try:
        yield [Tree(f"before ({baseline})", path), *found]
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def print_table(results: list[Result]) -> None:
    print(f"\nAlarm storm on PostgreSQL + Redis, one server process ({os.cpu_count()} cores)")
    header = [
        "",
        "acked",
        "ack spread",
        "storm: last call",
        "restart: ready",
        "restart: last backlog call",
        "fresh ack→call p50 / max",
    ]
    print(" | ".join(header))
    for r in results:
        fresh = f"{quantile(r.fresh_to_call, 0.5):.2f} / {max(r.fresh_to_call, default=float('nan')):.2f} s"
        print(
            " | ".join(
                [
                    r.label,
                    f"{r.acked}/{r.watches}",
                    f"{r.ack_spread_s:.2f} s",
                    f"{r.storm_last_call_s:.2f} s ({r.storm_calls} calls)",
                    f"{r.restart_ready_s:.2f} s",
                    f"{r.restart_last_call_s:.2f} s ({r.restart_calls} calls)",
                    fresh,
                ]
            )
        )


async def run(args: argparse.Namespace) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="alarm-storm-") as tmp:
        workdir = Path(tmp)
        with trees(args.baseline, workdir) as found:
            return [await measure(tree, args, workdir) for tree in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watches", type=int, default=2000, help="watches pressing SOS at once")
    parser.add_argument("--fresh", type=int, default=50, help="new alarms sent while the restart recovers")
    parser.add_argument("--baseline", help="a git commit to measure first, in a temporary worktree")
    parser.add_argument("--drain", type=float, default=120.0, help="longest wait for the calls")
    print_table(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
