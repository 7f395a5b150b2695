"""One subscription to the console channel per server process, fanned out to every connected console.

Each message is decoded and serialised once, whatever the number of consoles (a subscription per console
would cost one Redis connection and one decode + encode per console). A console that falls too far behind,
or every console when the bus subscription breaks, is told to reconnect: its resync then shows whatever
it missed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator

from dispatch.bus.base import EventBus, Message
from dispatch.calls.service import CONSOLE_CHANNEL

logger = logging.getLogger(__name__)

RESUBSCRIBE_AFTER_SECONDS = 1.0


class ConsoleListener:
    """One console's queue of serialised messages; None means: reconnect and resync."""

    def __init__(self, max_backlog: int) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(max_backlog)

    def offer(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.drop()

    def drop(self) -> None:
        """Forget the backlog and ask the console to resync instead."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class ConsoleHub:
    def __init__(self, bus: EventBus, *, max_backlog: int = 1000) -> None:
        self._bus = bus
        self._max_backlog = max_backlog
        self._listeners: set[ConsoleListener] = set()
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self, *, wait_seconds: float = 5.0) -> None:
        """Subscribe; a bus still unreachable after `wait_seconds` does not hold the server's start-up (the
        consoles get this process's messages locally meanwhile, and resync once it is back)."""
        self._task = asyncio.create_task(self._run(), name="console-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), wait_seconds)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for listener in self._listeners:
            listener.drop()

    @contextlib.contextmanager
    def listen(self) -> Iterator[ConsoleListener]:
        """Receive every message published from now on, until the block ends."""
        listener = ConsoleListener(self._max_backlog)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def deliver_local(self, message: Message) -> None:
        """A message this process could not publish on the bus: its own consoles still get it."""
        self._fan_out(message)

    def _fan_out(self, message: Message) -> None:
        text = json.dumps(message, ensure_ascii=False, default=str)
        for listener in self._listeners:
            listener.offer(text)

    async def _run(self) -> None:
        broken = False
        while True:
            try:
                subscription = await self._bus.subscribe(CONSOLE_CHANNEL)
            except Exception:
                if not broken:
                    logger.exception("console hub: cannot subscribe to the bus; retrying")
                broken = True
                await asyncio.sleep(RESUBSCRIBE_AFTER_SECONDS)
                continue
            self._subscribed.set()
            if broken:  # what other processes published while the bus was away is only in a resync
                for listener in self._listeners:
                    listener.drop()
                broken = False
            try:
                async for message in subscription:
                    self._fan_out(message)
            except Exception:
                logger.exception("console hub: the bus subscription broke; consoles will resync")
                broken = True
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()
            for listener in self._listeners:  # whatever was published meanwhile is in their resync
                listener.drop()
            await asyncio.sleep(RESUBSCRIBE_AFTER_SECONDS)
