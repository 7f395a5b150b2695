"""The harness's own services: a PostgreSQL cluster (initdb / pg_ctl), a redis-server, the fake Twilio and
the `dispatch serve` processes, each on a free port under a temporary directory, all stopped on exit."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

STOP_GRACE_S = 5.0
READY_TIMEOUT_S = 90.0


class HarnessError(Exception):
    """The harness itself could not do its job (a service that would not start, say): not a finding."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different free TCP ports on 127.0.0.1 (held open together while chosen: one at a time, the
    kernel may hand the same port out twice, and two servers then fight over it)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file (empty when there is none)."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


class Children:
    """Every process the harness started; `stop_all` ends them (TERM, then KILL) in reverse order."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def spawn(
        self, argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process in a session of its own, its output appended to `log`."""
        with log.open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        self._procs.append(proc)
        return proc

    def forget(self, proc: subprocess.Popen[bytes]) -> None:
        """No longer track a process that has ended."""
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def stop_all(self) -> None:
        """TERM every live process group, wait a little, KILL what is left."""
        for proc in reversed(self._procs):
            signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in reversed(self._procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                signal_group(proc, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(2)
        self._procs.clear()


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send a signal to the process's group (it leads one: start_new_session)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


async def wait_exit(proc: subprocess.Popen[bytes], within_s: float) -> int | None:
    """Its exit code once it has ended, None if it is still running after `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - a child process, no event
        await asyncio.sleep(0.05)
    return proc.poll()


def _pg_bin() -> Path:
    """The newest PostgreSQL server binaries' directory."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        raise HarnessError(
            "no PostgreSQL server binaries (pg_ctl) under /usr/lib/postgresql/*/bin or on PATH"
        )
    return Path(on_path).parent


class PostgresCluster:
    """A throw-away cluster in its own directory; as root, run as the `postgres` OS user (initdb refuses root)."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.user = "chaos"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        """An asyncpg URL of the `chaos` database on this cluster, straight (no proxy)."""
        return self.url_via(self.port)

    def url_via(self, port: int) -> str:
        """The same database reached through another port (a proxy's)."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{port}/chaos"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [*self._as, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise HarnessError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr or done.stdout}"
            )

    def init(self) -> None:
        """initdb, then start and create the database."""
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        self.start()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "chaos"
        )

    def start(self) -> None:
        """pg_ctl start, waiting until it accepts connections."""
        # No fsync: the faults kill processes, never the machine, so what was written reaches the disk
        # anyway. Commits stay synchronous: an immediate stop must not lose an acknowledged commit.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop -m fast | immediate (waits until it is down)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop the cluster however it can be stopped, and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except (HarnessError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)


class RedisServer:
    """A redis-server of our own: no automatic snapshots; a restart keeps data only when asked to."""

    def __init__(self, children: Children, directory: Path) -> None:
        self.children = children
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = directory / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None
        binary = shutil.which("redis-server")
        if binary is None:
            raise HarnessError("redis-server is not installed")
        self.binary = binary

    async def start(self) -> None:
        """Start it and wait until it answers PING."""
        self.proc = self.children.spawn(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "no",
            ],
            log=self.log,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"redis-server exited ({self.proc.returncode}): {tail(self.log)}")
            if await self._ping():
                return
            await asyncio.sleep(0.05)
        raise HarnessError("redis-server did not answer within 30 s")

    async def _ping(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 1)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()

    async def shutdown(self, *, keep_data: bool) -> None:
        """SHUTDOWN SAVE (data kept for the next start) or NOSAVE (and any old snapshot removed)."""
        assert self.proc is not None  # noqa: S101
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(b"SHUTDOWN SAVE\r\n" if keep_data else b"SHUTDOWN NOSAVE\r\n")
            await writer.drain()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(reader.read(), 5)
            writer.close()
        if await wait_exit(self.proc, 10) is None:
            signal_group(self.proc, signal.SIGKILL)
            await wait_exit(self.proc, 5)
        self.children.forget(self.proc)
        if not keep_data:
            (self.dir / "dump.rdb").unlink(missing_ok=True)


@dataclass
class ServerSpec:
    """What a `dispatch serve` process is started with."""

    index: int
    http_port: int
    data_dir: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "server.log"


class ServerProcess:
    """One `python -m dispatch serve`; killed and restarted by the faults."""

    def __init__(self, children: Children, spec: ServerSpec) -> None:
        self.children = children
        self.spec = spec
        self.proc: subprocess.Popen[bytes] | None = None
        self.expected_down = False  # set while the harness has killed it on purpose
        self.starts = 0

    def start(self) -> None:
        self.spec.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = self.children.spawn(
            [sys.executable, "-m", "dispatch", "serve"],
            log=self.spec.log,
            env=self.spec.env,
            cwd=self.spec.data_dir,
        )
        self.starts += 1
        self.expected_down = False

    def kill(self) -> None:
        """kill -9 (the harness expects it down until it restarts it)."""
        self.expected_down = True
        if self.proc is not None:
            signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(10)
            self.children.forget(self.proc)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def ready(self, client: httpx.AsyncClient) -> bool:
        """GET /readyz answers 200."""
        try:
            response = await client.get(f"{self.spec.url}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def wait_ready(self, client: httpx.AsyncClient, within_s: float = READY_TIMEOUT_S) -> None:
        """Until /readyz answers 200; HarnessError if it exits or takes longer than `within_s`."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if not self.running:
                code = self.proc.returncode if self.proc else None
                raise HarnessError(f"server {self.spec.index} exited ({code}): {tail(self.spec.log)}")
            if await self.ready(client):
                return
            await asyncio.sleep(0.1)
        raise HarnessError(f"server {self.spec.index} not ready within {within_s:g} s: {tail(self.spec.log)}")
