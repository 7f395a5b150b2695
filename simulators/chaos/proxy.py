"""A TCP proxy that can cut or stall every connection through it on demand.

The servers reach PostgreSQL and Redis through one each, so the harness can break the network between
them without touching the services; a third one is the front door to the HTTP servers (a connection goes
to one live server, picked at random), so Twilio's webhooks, the phones and the agent bot always have
somewhere to go while single servers are killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

CHUNK = 65536
CONNECT_TIMEOUT_S = 2.0

Upstreams = Callable[[], Sequence[tuple[str, int]]]


class Proxy:
    """Listens on 127.0.0.1:port and forwards each connection to one of `upstreams()`."""

    def __init__(self, name: str, upstreams: Upstreams, *, rng: random.Random | None = None) -> None:
        self.name = name
        self._upstreams = upstreams
        self._rng = rng or random.Random()
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refuse_until = 0.0
        self._pairs: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self.port = 0
        self.connections = 0

    async def start(self, port: int = 0) -> int:
        """Listen; returns the port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.close()
        self._flowing.set()
        self._abort_all()  # every pair of pumps ends on its own
        if self._pairs:
            await asyncio.wait(list(self._pairs), timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    def cut(self, seconds: float) -> None:
        """Drop every open connection now and refuse new ones for `seconds`."""
        loop = asyncio.get_running_loop()
        self._refuse_until = loop.time() + seconds
        dropped = self._abort_all()
        logger.info("proxy %s: cut %d connections, refusing for %.1f s", self.name, dropped, seconds)

    def restore(self) -> None:
        """End a cut or a stall now."""
        self._refuse_until = 0.0
        self._flowing.set()

    def stall(self, seconds: float) -> None:
        """Hold every byte (both ways, old and new connections) for `seconds`."""
        self._flowing.clear()
        self._timers.append(asyncio.get_running_loop().call_later(seconds, self._flowing.set))
        logger.info("proxy %s: stalled for %.1f s", self.name, seconds)

    def _abort_all(self) -> int:
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()
        self._writers.clear()
        return len(writers)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if asyncio.get_running_loop().time() < self._refuse_until:
            writer.transport.abort()
            return
        upstream = await self._connect()
        if upstream is None:
            writer.transport.abort()
            return
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - start_server runs each client in a task
        self._pairs.add(task)
        up_reader, up_writer = upstream
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass  # one side dropped (or the proxy cut it): the pair ends, both ends are closed below
        finally:
            self._pairs.discard(task)
            for end in (writer, up_writer):
                self._writers.discard(end)
                end.transport.abort()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the first upstream (in random order) that takes one."""
        candidates = list(self._upstreams())
        self._rng.shuffle(candidates)
        for host, port in candidates:
            try:
                return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError):
                continue
        return None

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction until EOF, waiting out stalls; the other side is closed at the end."""
        try:
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                if writer.is_closing():  # cut while held
                    return
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
