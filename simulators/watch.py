"""A simulated GPS watch speaking the watch protocol over real TCP, and a fleet of them.

A watch sends heartbeats (LK) and position reports (UD) wandering around its elder's home, raises
alarms (SOS, fall) on demand or at random, resends an alarm until the server acknowledges it, and
reconnects when the connection drops. Used by `dispatch demo`, by the tests and by the load runs.

    python -m simulators.watch --port 5093 --imei 860000000000001 --lon 119.30 --lat 26.08 --sos
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from devices.watch import codec
from simulators.demo_life import Battery, alarm_probability, pick_alarm

logger = logging.getLogger(__name__)

STATUS_BITS = {"sos": 1 << 16, "fall": 1 << 21, "low_battery": 1 << 17, "removed": 1 << 20}


def position_block(
    when: datetime,
    lat: float,
    lon: float,
    *,
    fixed: bool = True,
    battery: int = 80,
    steps: int = 0,
    status: int = 0,
    cells: int = 1,
    wifis: int = 1,
) -> str:
    """The `ddmmyy,hhmmss,A,lat,N,lon,E,...` block of UD and AL reports."""
    cell_part = ",".join(f"9360,{4082 + i},{140 - i}" for i in range(cells))
    wifi_part = ",".join(f"WIFI{i},bc:5f:f6:c9:6f:{i:02x},-{60 + i}" for i in range(wifis))
    return (
        f"{when:%d%m%y,%H%M%S},{'A' if fixed else 'V'},{abs(lat):.6f},{'N' if lat >= 0 else 'S'},"
        f"{abs(lon):.7f},{'E' if lon >= 0 else 'W'},0.00,0.0,20.0,{8 if fixed else 0},80,{battery},{steps},0,"
        f"{status:08X},{cells},1,460,0{',' + cell_part if cells else ''},{wifis}{',' + wifi_part if wifis else ''}"
    )


@dataclass
class WatchConfig:
    imei: str
    home_lon: float
    home_lat: float
    manufacturer: str = "3G"
    heartbeat_s: float = 300.0
    position_s: float = 600.0
    ack_timeout_s: float = 5.0
    retries: int = 5


@dataclass
class SimulatedWatch:
    """One watch; `run()` keeps it connected and reporting until cancelled."""

    config: WatchConfig
    host: str = "127.0.0.1"
    port: int = 5093
    rng: random.Random = field(default_factory=random.Random)
    battery: int = 90
    steps: int = 0
    acks: int = 0
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _replies: asyncio.Queue[codec.Frame] = field(default_factory=asyncio.Queue)
    _reader_task: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def frame(self, content: str | bytes) -> bytes:
        raw = content.encode() if isinstance(content, str) else content
        return codec.encode_frame(self.config.manufacturer, self.config.imei, None, raw)

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._replies = asyncio.Queue()
        self._reader_task = asyncio.create_task(self._read_replies())

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = self._reader_task = None

    async def _read_replies(self) -> None:
        assert self._reader is not None  # noqa: S101
        decoder = codec.FrameDecoder()
        while data := await self._reader.read(4096):
            decoder.feed(data)
            while (item := decoder.next_event()) is not None:
                if isinstance(item, codec.Frame):
                    self.acks += 1
                    await self._replies.put(item)

    async def send(self, content: str | bytes, expect: str | None = None) -> codec.Frame | None:
        """Send one message; with `expect`, wait for that reply, resending on timeout (as watches do)."""
        async with self._lock:
            for _ in range(self.config.retries if expect else 1):
                if self._writer is None or self._writer.is_closing():
                    await self.connect()
                assert self._writer is not None  # noqa: S101
                self._writer.write(self.frame(content))
                await self._writer.drain()
                if expect is None:
                    return None
                reply = await self._await_reply(expect)
                if reply is not None:
                    return reply
            raise TimeoutError(f"no {expect} acknowledgement after {self.config.retries} tries")

    async def _await_reply(self, expect: str) -> codec.Frame | None:
        try:
            async with asyncio.timeout(self.config.ack_timeout_s):
                while True:
                    reply = await self._replies.get()
                    if reply.msg_type == expect:
                        return reply
        except TimeoutError:
            return None

    def _where(self) -> tuple[float, float]:
        """A position a few hundred metres around home."""
        angle = self.rng.uniform(0, 2 * math.pi)
        metres = abs(self.rng.gauss(0, 150))
        return (
            self.config.home_lat + metres * math.sin(angle) / 111_320,
            self.config.home_lon
            + metres * math.cos(angle) / (111_320 * math.cos(math.radians(self.config.home_lat))),
        )

    async def heartbeat(self) -> None:
        self.steps += self.rng.randint(0, 300)
        await self.send(f"LK,{self.steps},0,{self.battery}", expect="LK")

    async def report_position(self, when: datetime | None = None, *, fixed: bool = True) -> None:
        lat, lon = self._where()
        await self.send(
            "UD,"
            + position_block(
                when or datetime.now(UTC), lat, lon, fixed=fixed, battery=self.battery, steps=self.steps
            )
        )

    async def alarm(
        self, *kinds: str, when: datetime | None = None, fixed: bool = True
    ) -> codec.Frame | None:
        """Raise an alarm (sos, fall, low_battery, removed) and wait for the server's AL acknowledgement."""
        status = sum(STATUS_BITS[kind] for kind in kinds)
        lat, lon = self._where()
        block = position_block(
            when or datetime.now(UTC),
            lat,
            lon,
            fixed=fixed,
            battery=self.battery,
            steps=self.steps,
            status=status,
        )
        return await self.send("AL," + block, expect="AL")

    async def run(self, *, time_scale: float = 0.0) -> None:
        """Report until cancelled: heartbeats, positions, a battery that drains by day and charges at night
        (its low-battery alarm when it runs low), and, with a `time_scale`, the demo's alarms at the rate
        and mix of `demo_life` on a clock that many times faster."""
        await asyncio.sleep(self.rng.uniform(0, min(self.config.heartbeat_s, 30)))
        next_position = 0.0
        loop = asyncio.get_running_loop()
        battery = Battery(level=self.rng.uniform(40, 100))
        while True:
            try:
                now = datetime.now(UTC)
                ran_low = battery.advance(now, self.config.heartbeat_s / 3600, self.rng)
                self.battery = round(battery.level)
                await self.heartbeat()
                if loop.time() >= next_position:
                    await self.report_position()
                    next_position = loop.time() + self.config.position_s
                if ran_low:
                    await self.alarm("low_battery")
                if time_scale and self.rng.random() < alarm_probability(
                    now, self.config.heartbeat_s, time_scale=time_scale
                ):
                    await self.alarm(pick_alarm(self.rng))
            except (OSError, TimeoutError) as exc:
                logger.debug("watch %s: %s; reconnecting", self.config.imei, exc)
                await self.close()
            await asyncio.sleep(self.config.heartbeat_s)


async def run_fleet(
    configs: list[WatchConfig], host: str, port: int, *, time_scale: float = 0.0, seed: int = 1
) -> None:
    """Run many watches until cancelled."""
    rng = random.Random(seed)
    watches = [SimulatedWatch(c, host, port, rng=random.Random(rng.random())) for c in configs]
    try:
        async with asyncio.TaskGroup() as group:
            for watch in watches:
                group.create_task(watch.run(time_scale=time_scale))
    finally:
        for watch in watches:
            await watch.close()


async def _main(args: argparse.Namespace) -> None:
    watch = SimulatedWatch(WatchConfig(args.imei, args.lon, args.lat), args.host, args.port)
    await watch.heartbeat()
    if args.sos:
        reply = await watch.alarm("sos")
        print(f"SOS acknowledged: {reply.raw.decode() if reply else None}")
    await watch.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5093)
    parser.add_argument("--imei", required=True)
    parser.add_argument("--lon", type=float, default=119.30)
    parser.add_argument("--lat", type=float, default=26.08)
    parser.add_argument("--sos", action="store_true", help="raise one SOS and wait for its acknowledgement")
    asyncio.run(_main(parser.parse_args()))
