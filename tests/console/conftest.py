"""The browser every console test drives: Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, async_playwright
from redis import Redis

from tests.console.phone_support import PhoneSite
from tests.test_cli import env_for, run, server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def phone_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoneSite]:
    """One `dispatch serve` for the phone tests, on the Redis bus so a test can announce console messages;
    agent1 and agent2 have desk phones."""
    tmp_path = tmp_path_factory.mktemp("phone")
    redis_url = os.environ.get("DISPATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    Redis.from_url(redis_url).flushdb()
    env = env_for(tmp_path, DISPATCH_REDIS_URL=redis_url, DISPATCH_DESK_TICK_SECONDS="3600")
    seeded = run(["seed-demo", "--elders", "30"], env)
    assert seeded.returncode == 0, seeded.stderr
    database = tmp_path / "var" / "dispatch.sqlite3"
    with sqlite3.connect(database) as connection:
        for username, phone in (("agent1", "+8613800000001"), ("agent2", "+8613800000002")):
            connection.execute("UPDATE operator SET phone = ? WHERE username = ?", (phone, username))
    with server(["serve"], env) as base:
        yield PhoneSite(base=base, data_dir=tmp_path / "var", redis_url=redis_url)
