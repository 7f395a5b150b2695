"""Steady traffic while faults happen: watches (TCP) and phones (signed HTTP) raising SOS and falls, an agent
bot working the queue through the REST API, and service orders. Every alarm the servers acknowledged is
written down (device, kind, device time, when the acknowledgement came) for the invariant checks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from devices.http_api import signature
from devices.watch import codec
from simulators.watch import STATUS_BITS, position_block

logger = logging.getLogger(__name__)

GIVE_UP_S = 45.0  # a device stops resending an alarm nobody acknowledged after this long
ACK_TIMEOUT_S = 2.0
SHANGHAI = ZoneInfo("Asia/Shanghai")
ORDER_TYPES = ("meal_assistance", "cleaning", "housekeeping")
OPEN_AND_RESOLVED = ("new", "acknowledged", "dispatched", "on_scene", "resolved")


@dataclass(frozen=True, slots=True)
class Device:
    """A seeded device: its IMEI (or phone device id), kind, secret and home."""

    imei: str
    kind: str  # watch | phone
    secret: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class AckedAlarm:
    """An alarm the server acknowledged: which device, what, its device time, when the ack came (Unix s)."""

    imei: str
    kind: str  # sos | fall
    device_time: datetime
    acked_at: float
    cycle: int
    channel: str  # watch | phone


@dataclass
class Ledger:
    """What the simulators did and were told."""

    cycle: int = 0
    acked: list[AckedAlarm] = field(default_factory=list)
    unacked: int = 0  # alarms given up on after GIVE_UP_S (the device would go on trying)
    counts: Counter[str] = field(default_factory=Counter)  # bot actions, orders, errors

    def ack(self, imei: str, kind: str, device_time: datetime, channel: str) -> None:
        self.acked.append(AckedAlarm(imei, kind, device_time, time.time(), self.cycle, channel))


class DeviceClock:
    """Device times that never repeat for one device (the watch protocol has whole seconds only)."""

    def __init__(self) -> None:
        self._last: dict[str, datetime] = {}

    def next(self, imei: str, *, resolution: timedelta) -> datetime:
        now = datetime.now(UTC)
        now = now.replace(microsecond=0) if resolution >= timedelta(seconds=1) else now
        last = self._last.get(imei)
        if last is not None and now <= last:
            now = last + resolution
        self._last[imei] = now
        return now


class WatchLink:
    """One watch's TCP connection, reopened after any failure; a request is resent until acknowledged."""

    def __init__(self, device: Device, port: int) -> None:
        self.device = device
        self.port = port
        self._lock = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._replies: asyncio.Queue[codec.Frame | None] = asyncio.Queue()
        self._reader_task: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        reader, self._writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 3)
        self._replies = asyncio.Queue()
        self._reader_task = asyncio.create_task(self._read(reader, self._replies))

    @staticmethod
    async def _read(reader: asyncio.StreamReader, replies: asyncio.Queue[codec.Frame | None]) -> None:
        decoder = codec.FrameDecoder()
        try:
            while data := await reader.read(4096):
                decoder.feed(data)
                while (item := decoder.next_event()) is not None:
                    if isinstance(item, codec.Frame):
                        replies.put_nowait(item)
        except OSError:
            pass  # the server went away: the watch sees the end below and reconnects
        finally:
            replies.put_nowait(None)  # the connection ended

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.transport.abort()
        self._writer = self._reader_task = None

    async def request(self, content: str, expect: str | None, *, give_up_s: float = GIVE_UP_S) -> bool:
        """Send until the `expect` reply arrives (or once, without one); False after `give_up_s`."""
        frame = codec.encode_frame("3G", self.device.imei, None, content.encode())
        deadline = time.monotonic() + give_up_s
        async with self._lock:
            while time.monotonic() < deadline:
                try:
                    if self._writer is None:
                        await self._connect()
                    assert self._writer is not None  # noqa: S101
                    self._writer.write(frame)
                    await self._writer.drain()
                    if expect is None or await self._reply(expect):
                        return True
                except (OSError, TimeoutError):
                    pass  # no acknowledgement: a real watch reconnects and sends the frame again
                await self.close()
                await asyncio.sleep(0.2)
        return False

    async def _reply(self, expect: str) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ACK_TIMEOUT_S):
                while (reply := await self._replies.get()) is not None:
                    if reply.msg_type == expect:
                        return True
        return False


def alarm_content(kind: str, when: datetime, lon: float, lat: float) -> str:
    """An AL report with the alarm's status bit."""
    return "AL," + position_block(when, lat, lon, status=STATUS_BITS[kind], battery=70)


class Devices:
    """The simulated watches and phones; raise an alarm from one and record its acknowledgement."""

    def __init__(
        self,
        devices: list[Device],
        *,
        watch_port: int,
        http: httpx.AsyncClient,
        ledger: Ledger,
        rng: random.Random,
    ) -> None:
        self.watches = [WatchLink(d, watch_port) for d in devices if d.kind == "watch"]
        self.phones = [d for d in devices if d.kind == "phone"]
        self.http = http
        self.ledger = ledger
        self.rng = rng
        self.clock = DeviceClock()

    async def close(self) -> None:
        for watch in self.watches:
            await watch.close()

    async def watch_alarm(self, watch: WatchLink, kind: str) -> None:
        """One alarm from a watch, resent until acknowledged."""
        device = watch.device
        when = self.clock.next(device.imei, resolution=timedelta(seconds=1))
        self.ledger.counts["alarms sent"] += 1
        if await watch.request(alarm_content(kind, when, device.lon, device.lat), "AL"):
            self.ledger.ack(device.imei, kind, when, "watch")
        else:
            self.ledger.unacked += 1

    async def watch_chatter(self, watch: WatchLink) -> None:
        """A heartbeat (acknowledged) or a position report (not)."""
        if self.rng.random() < 0.5:
            await watch.request("LK,100,0,80", "LK", give_up_s=5)
            return
        when = datetime.now(UTC)
        await watch.request(
            "UD," + position_block(when, watch.device.lat, watch.device.lon), None, give_up_s=5
        )

    async def phone_alarm(self, phone: Device, kind: str) -> None:
        """One alarm from a phone, posted (same idempotency key) until a 202."""
        when = self.clock.next(phone.imei, resolution=timedelta(microseconds=1))
        body = json.dumps(
            {
                "event_type": kind,
                "time": when.isoformat(),
                "idempotency_key": uuid.uuid4().hex,
                "position": {"lon": phone.lon, "lat": phone.lat, "fixed": True, "accuracy_m": 20.0},
            }
        ).encode()
        self.ledger.counts["alarms sent"] += 1
        deadline = time.monotonic() + GIVE_UP_S
        while time.monotonic() < deadline:
            stamp = str(int(time.time()))
            headers = {
                "X-Device-Id": phone.imei,
                "X-Timestamp": stamp,
                "X-Signature": signature(phone.secret, stamp, body),
                "Content-Type": "application/json",
            }
            try:
                response = await self.http.post(
                    "/api/v1/device-events", content=body, headers=headers, timeout=5
                )
                if response.status_code == 202:
                    self.ledger.ack(phone.imei, kind, when, "phone")
                    return
                if response.status_code < 500:
                    self.ledger.counts[f"phone alarm refused {response.status_code}"] += 1
                    return
            except httpx.HTTPError:
                pass  # no answer: the phone retries the same signed request (same idempotency key)
            await asyncio.sleep(0.3)
        self.ledger.unacked += 1


class Traffic:
    """Alarms at a steady rate (with double presses), watch chatter, and tasks tracked for shutdown."""

    def __init__(self, devices: Devices, *, rate: float, rng: random.Random) -> None:
        self.devices = devices
        self.rate = rate
        self.rng = rng
        self._tasks: set[asyncio.Task[None]] = set()
        self.running = True

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Until `stop()` (alarms in flight go on) or cancelled (they are cancelled too)."""
        try:
            while self.running:
                await asyncio.sleep(self.rng.expovariate(self.rate))
                if self.running:
                    self._one()
        except asyncio.CancelledError:
            await self.drain(0)
            raise

    def stop(self) -> None:
        """No new alarms."""
        self.running = False

    def _one(self) -> None:
        devices, rng = self.devices, self.rng
        kind = "sos" if rng.random() < 0.7 else "fall"
        if devices.phones and rng.random() < 0.25:
            phone = rng.choice(devices.phones)
            self._spawn(devices.phone_alarm(phone, kind))
            if rng.random() < 0.15:  # a double press: two alarms of one elder at once, likely on two servers
                self._spawn(devices.phone_alarm(phone, "sos"))
        elif devices.watches:
            self._spawn(devices.watch_alarm(rng.choice(devices.watches), kind))
        if devices.watches and rng.random() < 0.5:
            self._spawn(devices.watch_chatter(rng.choice(devices.watches)))

    async def drain(self, within_s: float) -> None:
        """Let the alarms in flight finish for up to `within_s` seconds, then cancel the rest."""
        if self._tasks and within_s > 0:
            await asyncio.wait(list(self._tasks), timeout=within_s)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Agent:
    """An operator session over the front door; logs in again when the session is refused."""

    def __init__(self, http: httpx.AsyncClient, username: str, password: str, ledger: Ledger) -> None:
        self.http = http
        self.username = username
        self.password = password
        self.ledger = ledger
        self._headers: dict[str, str] = {}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response | None:
        """One request (logging in first if needed); None when the server could not be reached."""
        try:
            if not self._headers:
                await self._login()
            response = await self.http.request(method, path, json=body, headers=self._headers, timeout=10)
            if response.status_code == 401:
                self._headers = {}
            self.ledger.counts[f"bot {response.status_code // 100}xx"] += 1
            return response
        except httpx.HTTPError:
            self.ledger.counts["bot unreachable"] += 1
            return None

    async def _login(self) -> None:
        response = await self.http.post(
            "/api/v1/auth/login", json={"username": self.username, "password": self.password}, timeout=10
        )
        if response.status_code == 200:
            self._headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        else:
            self.ledger.counts[f"bot login {response.status_code}"] += 1
            raise httpx.HTTPError(f"login answered {response.status_code}")


@dataclass
class _Plan:
    """What the bot decided for one call, and when it may take the next step."""

    action: str  # dispatch | double_dispatch | false_alarm | resolve
    after: str  # once dispatched: cancel | resolve
    next_at: float


class AgentBot:
    """Two agents working the queue: acknowledge, dispatch rescue (sometimes both at once), cancel, resolve,
    close, mark false alarms; and service orders taken, cancelled and re-dispatched by hand."""

    def __init__(
        self, first: Agent, second: Agent, *, elder_ids: list[int], rng: random.Random, ledger: Ledger
    ) -> None:
        self.first, self.second = first, second
        self.elder_ids = elder_ids
        self.rng = rng
        self.ledger = ledger
        self._plans: dict[int, _Plan] = {}
        self._orders: list[int] = []

    async def run(self) -> None:
        """Until cancelled."""
        next_order = 0.0
        while True:
            started = time.monotonic()
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                await self.work_calls()
                if time.monotonic() >= next_order:
                    await self.work_orders()
                    next_order = time.monotonic() + self.rng.uniform(0.7, 2.0)
            await asyncio.sleep(max(0.1, 0.4 - (time.monotonic() - started)))

    async def work_calls(self) -> None:
        query = "&".join(f"state={s}" for s in OPEN_AND_RESOLVED)
        response = await self.first.call("GET", f"/api/v1/calls?{query}&limit=200")
        if response is None or response.status_code != 200:
            return
        now = time.monotonic()
        steps = [self._step(call, now) for call in response.json()["items"]]
        await asyncio.gather(*(s for s in steps if s is not None))

    def _plan(self, call_id: int, now: float) -> _Plan:
        if call_id not in self._plans:
            roll = self.rng.random()
            action = (
                "double_dispatch"
                if roll < 0.1
                else "dispatch"
                if roll < 0.45
                else "false_alarm"
                if roll < 0.6
                else "resolve"
            )
            after = "cancel" if self.rng.random() < 0.5 else "resolve"
            self._plans[call_id] = _Plan(action, after, now + self.rng.uniform(0.2, 1.5))
        return self._plans[call_id]

    def _step(self, call: dict[str, Any], now: float) -> Any:
        call_id, state = int(call["id"]), str(call["state"])
        plan = self._plan(call_id, now)
        if state == "new":
            return self._count("acknowledge", self.first.call("POST", f"/api/v1/calls/{call_id}/acknowledge"))
        if now < plan.next_at:
            return None
        plan.next_at = now + self.rng.uniform(0.5, 2.5)
        path = f"/api/v1/calls/{call_id}"
        rescue = {"service_type": "emergency_rescue"}
        if state == "acknowledged":
            if plan.action == "double_dispatch":
                return self._count(
                    "double dispatch",
                    self.first.call("POST", f"{path}/dispatch", rescue),
                    self.second.call("POST", f"{path}/dispatch", rescue),
                )
            if plan.action == "dispatch":
                return self._count("dispatch", self.first.call("POST", f"{path}/dispatch", rescue))
            if plan.action == "false_alarm":
                return self._count("false alarm", self._transition(call_id, "false_alarm"))
            return self._count("resolve", self._transition(call_id, "resolved"))
        if state == "dispatched":
            if plan.after == "cancel":
                return self._count("cancel", self._transition(call_id, "cancelled"))
            return self._count("resolve", self._transition(call_id, "resolved"))
        if state == "on_scene":
            return self._count("resolve", self._transition(call_id, "resolved"))
        if state == "resolved":
            return self._count("close", self.first.call("POST", f"{path}/close", {"outcome": "handled"}))
        return None

    def _transition(self, call_id: int, state: str) -> Any:
        body = {"state": state, "outcome": "handled" if state == "resolved" else None}
        return self.first.call("POST", f"/api/v1/calls/{call_id}/transition", body)

    async def _count(self, action: str, *requests: Any) -> None:
        self.ledger.counts[f"bot {action}"] += 1
        await asyncio.gather(*requests)

    async def work_orders(self) -> None:
        """Take an order; now and then cancel one or re-dispatch a requested one from both agents at once."""
        roll = self.rng.random()
        if self._orders and roll < 0.25:
            order_id = self._orders.pop(self.rng.randrange(len(self._orders)))
            await self._count(
                "cancel order",
                self.first.call("POST", f"/api/v1/service-orders/{order_id}/cancel", {"reason": "老人取消"}),
            )
            return
        if self._orders and roll < 0.4:
            order_id = self.rng.choice(self._orders)
            path = f"/api/v1/service-orders/{order_id}/dispatch"
            await self._count(
                "redispatch order", self.first.call("POST", path), self.second.call("POST", path)
            )
            return
        start = _next_working_morning(datetime.now(SHANGHAI), self.rng)
        body = {
            "elder_id": self.rng.choice(self.elder_ids),
            "service_type": self.rng.choice(ORDER_TYPES),
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        }
        response = await self.first.call("POST", "/api/v1/service-orders", body)
        self.ledger.counts["bot order"] += 1
        if response is not None and response.status_code == 201:
            self._orders.append(int(response.json()["id"]))


def _next_working_morning(now: datetime, rng: random.Random) -> datetime:
    """10:00 to 12:00 local on the next Monday-to-Saturday (the demo providers' working hours)."""
    day = now + timedelta(days=1)
    while day.isoweekday() == 7:
        day += timedelta(days=1)
    return day.replace(hour=10 + rng.randrange(2), minute=0, second=0, microsecond=0)
