"""Stopping a component's background tasks for certain.

A cancellation can be lost inside a library: redis-py drops one that lands while a blocking read is being
set up or torn down (redis/redis-py#2028), and the task goes back to waiting as if nothing had happened.
A shutdown that awaits such a task once never ends, so every component stops its tasks here: cancelled
again every `recancel_every` seconds until each has ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

RECANCEL_EVERY_SECONDS = 1.0


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any] | None], *, recancel_every: float = RECANCEL_EVERY_SECONDS
) -> None:
    """Cancel `tasks` (None entries are skipped) and return once every one has ended; a failure a task
    ended with is logged (stopping is no time to raise it)."""
    every = [task for task in tasks if task is not None]
    pending = {task for task in every if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=recancel_every)
        for task in pending:
            logger.warning("task %s lost its cancellation; cancelling it again", task.get_name())
    for task in every:
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s had failed", task.get_name(), exc_info=task.exception())


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; whether it was set. Unlike `asyncio.wait_for` on Python 3.11,
    a cancellation that lands as the event is set is not lost (python/cpython#86296)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
