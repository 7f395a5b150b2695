"""What to put on the bus once the transaction that caused it has committed (never before, never lost
to a rollback): services `announce` (channels) or `enqueue` (streams); whoever commits the unit of work
calls `publish_announced` after the commit, or `commit_and_publish`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.bus.base import EventBus, Message

logger = logging.getLogger(__name__)

_KEY = "bus_outbox"


def announce(
    session: AsyncSession,
    channel: str,
    message: Message,
    *,
    key: Hashable | None = None,
    merge: Callable[[Message, Message], Message] | None = None,
) -> None:
    """Publish `message` on `channel` after this session commits. Messages with the same `key` in one
    transaction go out once: the later one replaces the earlier (or `merge(earlier, later)` does)."""
    pending: list[list[Any]] = session.info.setdefault(_KEY, [])
    if key is not None:
        for entry in pending:
            if entry[0] == "channel" and entry[1] == channel and entry[3] == key:
                entry[2] = merge(entry[2], message) if merge else message
                return
    pending.append(["channel", channel, message, key])


def enqueue(session: AsyncSession, stream: str, message: Message) -> None:
    """Append `message` to `stream` after this session commits."""
    session.info.setdefault(_KEY, []).append(["stream", stream, message, None])


async def publish_announced(session: AsyncSession, bus: EventBus) -> None:
    """Send what the committed transaction announced. A failure is logged, never raised: what was committed
    stands, and the database is what the sweepers and the consoles' resync read."""
    for kind, name, message, _ in session.info.pop(_KEY, []):
        try:
            if kind == "stream":
                await bus.append(name, message)
            else:
                await bus.publish(name, message)
        except Exception:
            logger.exception("after a commit, putting a message on %s %s failed", kind, name)


def discard_announced(session: AsyncSession) -> None:
    """Forget what a rolled-back transaction announced."""
    session.info.pop(_KEY, None)


async def commit_and_publish(session: AsyncSession, bus: EventBus) -> None:
    """Commit, then send what the transaction announced."""
    await session.commit()
    await publish_announced(session, bus)
