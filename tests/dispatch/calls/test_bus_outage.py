"""Redis taken away (through a proxy that cuts every connection) while watches press SOS: every
acknowledged alarm is a call on this process's consoles at once, and the other processes' consoles resync
once Redis is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from devices.watch import codec
from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.calls.models import Call
from dispatch.clock import FakeClock
from dispatch.console.hub import ConsoleListener
from dispatch.settings import Settings
from simulators.chaos.proxy import Proxy
from simulators.watch import position_block
from tests.conftest import REDIS_URL, START
from tests.factories import make_elder_with_device

IMEIS = [f"86000000000{n:04d}" for n in range(5)]
WHEN = datetime(2026, 3, 2, 0, 59, tzinfo=UTC)


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    redis = urlparse(REDIS_URL)
    the_proxy = Proxy("redis", lambda: [(redis.hostname or "127.0.0.1", redis.port or 6379)])
    await the_proxy.start()
    yield the_proxy
    await the_proxy.stop()


@pytest.fixture
def settings(pg_db_settings: Settings, proxy: Proxy) -> Settings:
    return pg_db_settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{proxy.port}{urlparse(REDIS_URL).path}"}
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[AppServices]:
    app: FastAPI = create_app(settings, clock=FakeClock(START))
    async with app.router.lifespan_context(app):
        yield app.state.services


async def press_sos(port: int, imei: str) -> None:
    async with asyncio.timeout(10):  # an acknowledgement that never comes fails here, it never hangs the run
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        block = position_block(WHEN, 26.0833, 119.2991, status=1 << 16)
        writer.write(codec.encode_frame("3G", imei, None, ("AL," + block).encode()))
        assert await reader.readuntil(b"]") == f"[3G*{imei}*0002*AL]".encode()  # stored, acknowledged
    writer.close()


async def opened_calls(listener: ConsoleListener, count: int, within: float) -> set[int]:
    """Elders whose call was opened, as the console messages say, until `count` of them."""
    elders: set[int] = set()
    async with asyncio.timeout(within):
        while len(elders) < count:
            text = await listener.queue.get()
            if text is not None and '"change": "opened"' in text:
                elders.add(int(text.split('"elder_id": ')[1].split(",")[0]))
    return elders


async def resync_asked(listener: ConsoleListener, within: float) -> None:
    async with asyncio.timeout(within):
        while await listener.queue.get() is not None:
            pass


def clear(listener: ConsoleListener) -> None:
    while not listener.queue.empty():
        listener.queue.get_nowait()


async def test_sos_acknowledged_while_redis_is_down_are_calls_here_at_once_and_everywhere_when_it_returns(
    settings: Settings, proxy: Proxy
) -> None:
    async with running(settings) as one, running(settings) as other:
        elders = {(await make_elder_with_device(one, imei))[0] for imei in IMEIS}
        with one.console_hub.listen() as here, other.console_hub.listen() as there:
            proxy.cut(3600)
            for imei in IMEIS:
                await press_sos(one.watch_port, imei)
            assert await opened_calls(here, len(IMEIS), within=2.0) == elders
            async with one.sessions() as session:
                assert await session.scalar(select(func.count()).select_from(Call)) == len(IMEIS)
            await asyncio.sleep(0.2)
            clear(there)  # the other process's consoles were told to resync when the bus broke ...
            proxy.restore()
            await resync_asked(there, within=10.0)  # ... and again once it is back, so they see the calls
