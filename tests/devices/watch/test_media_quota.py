"""Voice clips have a quota: per clip and per device and day; a clip over it is dropped with a logged
reason, the frame is still acknowledged and the connection lives on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fastapi import FastAPI

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from tests.devices.watch.test_server import IMEI, Watch, frame, stored
from tests.factories import make_elder_with_device


def clip(number: int) -> bytes:
    """206 bytes of a clip; each number its own recording (a repeated frame is a retry, stored once)."""
    return b"#!AMR\n" + bytes([number]) + bytes(range(199))


TK_ACK = b"[3G*8800000015*0004*TK,1]"


@pytest.fixture
async def app(db_settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """Room for two such clips a day, none over 300 bytes."""
    settings = db_settings.model_copy(update={"media_clip_max_bytes": 300, "media_device_daily_bytes": 500})
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def watch(app_services: AppServices) -> AsyncIterator[Watch]:
    await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=300)
    reader, writer = await asyncio.open_connection("127.0.0.1", app_services.watch_port)
    yield Watch(reader, writer)
    writer.close()


def saved_clips(services: AppServices) -> list[int]:
    folder = services.settings.data_dir / "media" / IMEI
    return sorted(p.stat().st_size for p in folder.iterdir()) if folder.is_dir() else []


async def send_clip(watch: Watch, clock: FakeClock, audio: bytes) -> None:
    clock.advance(1)  # a clip a second, each its own file
    await watch.send(frame(b"TK," + audio))
    assert await watch.reply() == TK_ACK


async def test_clips_over_the_daily_quota_are_dropped_and_logged_until_the_next_day(
    watch: Watch, app_services: AppServices, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="devices.watch.server"):
        for number in range(3):
            await send_clip(watch, clock, clip(number))
    assert saved_clips(app_services) == [206, 206]
    events = await stored(app_services)
    assert [("file" in e.data, e.data.get("dropped")) for e in events] == [
        (True, None),
        (True, None),
        (False, "over the device's 500 bytes a day"),
    ]
    assert "voice clip of 206 bytes dropped: over the device's 500 bytes a day" in caplog.text

    clock.advance(int(timedelta(days=1).total_seconds()))
    await send_clip(watch, clock, clip(9))
    assert saved_clips(app_services) == [206, 206, 206]
    await watch.send(frame("LK"))  # the connection is as good as ever
    assert await watch.reply() == b"[3G*8800000015*0002*LK]"


async def test_a_clip_over_the_size_limit_is_dropped(
    watch: Watch, app_services: AppServices, clock: FakeClock
) -> None:
    await send_clip(watch, clock, b"#!AMR\n" + bytes(400))
    [event] = await stored(app_services)
    assert (event.type, event.data["size"], event.data["dropped"]) == ("media", 406, "clip over 300 bytes")
    assert saved_clips(app_services) == []


async def test_a_clip_that_cannot_be_written_is_dropped_not_a_crash(
    watch: Watch, app_services: AppServices, clock: FakeClock
) -> None:
    media = app_services.settings.data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / IMEI).write_bytes(b"a file where the device's folder should be")
    await send_clip(watch, clock, clip(1))
    [event] = await stored(app_services)
    assert event.data["dropped"] == "not saved"
