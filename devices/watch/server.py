"""The TCP server for the watch protocol: asyncio glue around the sans-IO codec.

Per connection: bytes go into a FrameDecoder; each frame is authenticated (registered, active IMEI),
parsed, its events handed to the group-commit writer, and only after the commit is the reply sent.
Frames of one connection are handled in order; a slow database slows that watch, never the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from devices.watch import codec
from devices.watch.directory import DeviceDirectory
from devices.watch.media import CLIP_SUFFIX, MediaQuota, bytes_saved
from dispatch.clock import Clock
from dispatch.ingest.events import IncomingEvent
from dispatch.ingest.service import DeviceRef, StoreResult, Submission
from dispatch.ingest.writer import EventWriter

logger = logging.getLogger(__name__)

MAX_REFUSED_FRAMES = 3
MAX_PENDING_FRAMES = 64
MAX_FRAMES_PER_SECOND = 50
MAX_UNREAD_REPLY_BYTES = 64 * 1024  # a client that stops reading its replies is cut off
# A frame without a device time (heartbeats, vitals) repeated a minute later is a new reading.
TIMELESS_DEDUPE_SECONDS = 60


class WatchMetrics:
    """Counters of the gateway, registered in the app's Prometheus registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Gauge("dispatch_watch_connections", "open watch connections", registry=registry)
        self.frames = Counter("dispatch_watch_frames", "frames received", ["type"], registry=registry)
        self.rejected = Counter(
            "dispatch_watch_frames_rejected", "frames refused", ["reason"], registry=registry
        )
        self._frames_by_type: dict[str, Counter] = {}
        self.ack_seconds = Histogram(
            "dispatch_watch_ack_seconds",
            "frame received to acknowledgement sent (stored in between)",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )

    def count_frame(self, msg_type: str) -> None:
        """Count a frame by type (labelled children are cached: looking one up costs more than counting)."""
        child = self._frames_by_type.get(msg_type)
        if child is None:
            child = self.frames.labels(msg_type[:16])
            if len(self._frames_by_type) < 256:
                self._frames_by_type[msg_type] = child
        child.inc()


@dataclass
class GatewayParts:
    """What every connection shares."""

    clock: Clock
    directory: DeviceDirectory
    writer: EventWriter
    metrics: WatchMetrics
    media_dir: Path
    idle_timeout: float
    dedupe_seconds: int = 300  # the same frame within this long of the stored one is a resend
    connections: dict[str, WatchConnection] = field(default_factory=dict)
    media_quota: MediaQuota = field(default_factory=MediaQuota)


def message_key(frame: codec.Frame) -> str:
    """Identifies a frame for de-duplication: its content (which carries the device time, if any)."""
    return "watch|" + hashlib.sha256(frame.msg_type.encode() + b"," + frame.payload).hexdigest()


def dedupe_window(events: list[IncomingEvent], dedupe_seconds: int) -> int:
    """How long a resend of the frame counts as the same message: a watch whose clock is stuck repeats
    its device time, so even a timed frame is a new message once the window has passed."""
    timed = any(event.device_time is not None for event in events)
    return dedupe_seconds if timed else min(dedupe_seconds, TIMELESS_DEDUPE_SECONDS)


class WatchConnection(asyncio.Protocol):
    """One watch's TCP connection."""

    def __init__(self, parts: GatewayParts) -> None:
        self._parts = parts
        self._decoder = codec.FrameDecoder()
        self._pending: deque[tuple[float, codec.Frame | codec.Rejected]] = deque()
        self._transport: asyncio.Transport | None = None
        self._worker: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._refused = 0
        self._window_start = 0.0
        self._window_frames = 0
        self.peer = "?"
        self.imei: str | None = None
        self._header: tuple[str, str, str | None] | None = None  # manufacturer, id, index of the last frame

    # asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self._parts.metrics.connections.inc()
        self._touch()

    def data_received(self, data: bytes) -> None:
        self._touch()
        self._decoder.feed(data)
        arrived = asyncio.get_running_loop().time()
        while (event := self._decoder.next_event()) is not None:
            self._pending.append((arrived, event))
        if len(self._pending) > MAX_PENDING_FRAMES and self._transport is not None:
            self._transport.pause_reading()  # backpressure until the backlog is stored
        if self._pending and (self._worker is None or self._worker.done()):
            self._worker = asyncio.create_task(self._work())

    def connection_lost(self, exc: Exception | None) -> None:
        self._parts.metrics.connections.dec()
        if self._idle is not None:
            self._idle.cancel()
        if self.imei and self._parts.connections.get(self.imei) is self:
            del self._parts.connections[self.imei]
        self._transport = None

    # helpers ------------------------------------------------------------------------------------
    def _touch(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._parts.idle_timeout, self.close, "idle timeout")

    def close(self, reason: str) -> None:
        if self._transport is not None and not self._transport.is_closing():
            logger.info(
                "closing watch connection %s (%s): %s", self.peer, self.imei or "unidentified", reason
            )
            self._transport.close()

    def send(self, data: bytes) -> bool:
        """Write to the watch; False if the connection is gone."""
        if self._transport is None or self._transport.is_closing():
            return False
        self._transport.write(data)
        if self._transport.get_write_buffer_size() > MAX_UNREAD_REPLY_BYTES:
            self.close("not reading its replies")
            return False
        return True

    def send_content(self, content: bytes) -> bool:
        """Frame content the way this watch frames its own messages, and send it."""
        if self._header is None:
            return False
        manufacturer, device_id, index = self._header
        return self.send(codec.encode_frame(manufacturer, device_id, index, content))

    def _over_rate(self) -> bool:
        now = asyncio.get_running_loop().time()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_frames = now, 0
        self._window_frames += 1
        return self._window_frames > MAX_FRAMES_PER_SECOND

    # work -------------------------------------------------------------------------------------------
    async def _work(self) -> None:
        """Handle what has arrived: every frame is submitted for storage at once (pipelined), then the
        replies go out in frame order, each only after its own frame is committed."""
        while self._pending and self._transport is not None:
            acks: list[tuple[float, asyncio.Future[StoreResult], bytes | None]] = []
            while self._pending:
                arrived, item = self._pending.popleft()
                try:
                    if isinstance(item, codec.Rejected):
                        self._reject(item)
                    elif (ack := await self._accept(item)) is not None:
                        acks.append((arrived, *ack))
                except Exception:
                    logger.exception(
                        "watch %s: frame handling failed; not acknowledged", self.imei or self.peer
                    )
            for arrived, stored, reply in acks:
                try:
                    await stored
                except Exception:
                    logger.warning("watch %s: frame not stored; not acknowledged", self.imei or self.peer)
                    continue
                if reply is not None:
                    self.send(reply)
                    self._parts.metrics.ack_seconds.observe(asyncio.get_running_loop().time() - arrived)
            if self._transport is not None:
                self._transport.resume_reading()

    def _reject(self, rejected: codec.Rejected) -> None:
        self._parts.metrics.rejected.labels("malformed").inc()
        logger.warning(
            "watch %s (%s): %s: %s", self.peer, self.imei or "?", rejected.reason, rejected.data.hex()
        )
        if rejected.fatal:
            self.close(rejected.reason)

    async def _authenticate(self, frame: codec.Frame) -> DeviceRef | None:
        device = await self._parts.directory.lookup(frame.device_id)
        if device is not None and device.active:
            if self.imei != device.imei:
                self.imei = device.imei
                self._parts.connections[device.imei] = self
            return device
        self._refused += 1
        reason = "unregistered" if device is None else "disabled"
        self._parts.metrics.rejected.labels(reason).inc()
        logger.warning("watch %s: frame from %s device %s refused", self.peer, reason, frame.device_id)
        if self._refused >= MAX_REFUSED_FRAMES:
            self.close(f"{reason} device")
        return None

    async def _accept(self, frame: codec.Frame) -> tuple[asyncio.Future[StoreResult], bytes | None] | None:
        """Authenticate, decode and submit one frame; returns the pending store and the reply to send."""
        if self._over_rate():
            self._parts.metrics.rejected.labels("rate").inc()
            self.close(f"more than {MAX_FRAMES_PER_SECOND} frames a second")
            return None
        device = await self._authenticate(frame)
        if device is None:
            return None
        self._header = (frame.manufacturer, frame.device_id, frame.index)
        self._parts.metrics.count_frame(frame.msg_type)
        message = codec.parse_message(frame)
        events = codec.events_for(message)
        if isinstance(message, codec.VoiceClip):
            events = [await self._store_media(device, message, event) for event in events]
        now = self._parts.clock.now()
        battery = next((e.data["battery"] for e in events if isinstance(e.data.get("battery"), int)), None)
        submission = Submission(
            device=device,
            events=events,
            message_key=message_key(frame),
            received_at=now,
            battery=battery,
            dedupe_window_s=dedupe_window(events, self._parts.dedupe_seconds),
        )
        return self._parts.writer.enqueue(submission), codec.reply_for(frame, message)

    async def _store_media(
        self, device: DeviceRef, clip: codec.VoiceClip, event: IncomingEvent
    ) -> IncomingEvent:
        """Save the clip under the media folder if it fits the device's quota; the event says where, or
        why it was dropped (never an exception: the frame is acknowledged either way)."""
        now = self._parts.clock.now()
        directory = self._parts.media_dir / device.imei
        path = directory / f"{now:%Y%m%dT%H%M%S%f}{CLIP_SUFFIX}"
        quota = self._parts.media_quota

        def write() -> str | None:
            refused = quota.refusal(len(clip.audio), bytes_saved(directory, f"{now:%Y%m%d}"))
            if refused is None:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_bytes(clip.audio)
            return refused

        try:
            refused = await asyncio.to_thread(write)
        except OSError:
            logger.exception("watch %s: voice clip could not be saved", device.imei)
            refused = "not saved"
        if refused is not None:
            self._parts.metrics.rejected.labels("media").inc()
            logger.warning(
                "watch %s: voice clip of %d bytes dropped: %s", device.imei, len(clip.audio), refused
            )
            return IncomingEvent(
                event.type, event.device_time, event.position, {**event.data, "dropped": refused}
            )
        return IncomingEvent(
            type=event.type,
            device_time=event.device_time,
            position=event.position,
            data={**event.data, "file": str(path.relative_to(self._parts.media_dir))},
        )


class WatchServer:
    """Listens for watches; keeps the open connections by IMEI for downlink commands."""

    def __init__(self, parts: GatewayParts) -> None:
        self.parts = parts
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (useful when asked for port 0)."""
        self.parts.directory.start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: WatchConnection(self.parts), host, port, reuse_port=True, backlog=4096
        )
        bound: int = self._server.sockets[0].getsockname()[1]
        logger.info("watch gateway listening on %s:%d", host, bound)
        return bound

    async def stop(self) -> None:
        """Stop accepting, close the connections."""
        await self.parts.directory.stop()
        if self._server is None:
            return
        self._server.close()
        for connection in list(self.parts.connections.values()):
            connection.close("server shutting down")
        await self._server.wait_closed()
        self._server = None

    def send_command(self, imei: str, content: bytes) -> bool:
        """Send a downlink command's content to a connected watch; False if it is not connected here."""
        connection = self.parts.connections.get(imei)
        return connection is not None and connection.send_content(content)
