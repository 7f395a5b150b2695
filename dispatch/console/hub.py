"""One subscription to the console channel per server process, fanned out to every connected console.

Each message is decoded and serialised once, whatever the number of consoles (a subscription per console
would cost one Redis connection and one decode + encode per console). A console that falls too far behind,
or every console when the bus subscription breaks, is told to reconnect: its resync then shows whatever
it missed. A message carrying `for_operator_id` (a call offered to one agent: the screen-pop) goes only
to that operator's consoles. A revoked session (logout, an operator deactivated or their password reset, in any process) is
announced on the same channel: the hub closes that session's consoles instead of forwarding it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from dispatch.auth.service import SESSION_REVOKED
from dispatch.bus.base import EventBus, Message
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.tasks import cancel_and_wait, set_within

logger = logging.getLogger(__name__)

RESUBSCRIBE_AFTER_SECONDS = 1.0


class ConsoleListener:
    """One console's queue of serialised messages; None means: reconnect and resync, or, once `revoked`,
    the session is over."""

    def __init__(
        self, max_backlog: int, *, operator_id: int | None = None, session_id: int | None = None
    ) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(max_backlog)
        self.operator_id = operator_id
        self.session_id = session_id
        self.revoked = False

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

    def revoke(self) -> None:
        """The session behind this console is over: forget the backlog, close."""
        self.revoked = True
        self.drop()

    def revoked_by(self, message: dict[str, Any]) -> bool:
        """Whether a revocation message ends this console's session."""
        if self.operator_id is not None and message.get("operator_id") == self.operator_id:
            return True
        return self.session_id is not None and self.session_id in message.get("session_ids", ())


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
        await set_within(self._subscribed, wait_seconds)

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        for listener in self._listeners:
            listener.drop()

    @contextlib.contextmanager
    def listen(
        self, *, operator_id: int | None = None, session_id: int | None = None
    ) -> Iterator[ConsoleListener]:
        """Receive every message published from now on, until the block ends (or the session is revoked)."""
        listener = ConsoleListener(self._max_backlog, operator_id=operator_id, session_id=session_id)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def deliver_local(self, message: Message) -> None:
        """A message this process could not publish on the bus: its own consoles still get it."""
        self._fan_out(message)

    def _fan_out(self, message: Message) -> None:
        if message.get("type") == SESSION_REVOKED:
            self._revoke(message)
            return
        text = json.dumps(message, ensure_ascii=False, default=str)
        recipient = message.get("for_operator_id")
        for listener in self._listeners:
            if recipient is None or listener.operator_id == recipient:
                listener.offer(text)

    def _revoke(self, message: dict[str, Any]) -> None:
        for listener in self._listeners:
            if listener.revoked_by(message):
                listener.revoke()

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
