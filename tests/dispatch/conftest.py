"""Shared fixtures of the dispatch tests: an agent and a supervisor logged in, and a real server on a socket
with the fake Twilio server beside it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from simulators.fake_twilio import FakeTwilio, LocalServer
from tests.factories import operator_headers
from tests.test_cli import free_port

OUR_NUMBER = "+8659112349"


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


@pytest.fixture
async def supervisor(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.supervisor, "supervisor")


@dataclass
class World:
    base: str
    fake: FakeTwilio
    services: AppServices
    clock: FakeClock


@pytest.fixture
async def world(db_settings: Settings, clock: FakeClock) -> AsyncIterator[World]:
    fake = FakeTwilio(status_delay_ms=5)
    await fake.start()
    port = free_port()
    settings = db_settings.model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_from": OUR_NUMBER,
            "twilio_base_url": fake.base_url,
            "public_base_url": f"http://127.0.0.1:{port}",
            "emergency_parallel_offers": 1,
            "watch_port": 0,
        }
    )
    app = create_app(settings, clock=clock)
    server = LocalServer(app, port=port)
    base = await server.start()
    fake.configure(sms_webhook_url=f"{base}/webhooks/twilio/sms")
    try:
        yield World(base=base, fake=fake, services=app.state.services, clock=clock)
    finally:
        await server.stop()
        await fake.stop()


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """The first truthy result of `check`, polled until `within` seconds have passed."""
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110 - polling another server's state
            await asyncio.sleep(0.02)
        return result


def texts_to(fake: FakeTwilio, number: str) -> list[str]:
    return [m.body for m in fake.messages if m.to == number]


async def texts_arrive(fake: FakeTwilio, number: str, containing: str = "") -> list[str]:
    """The texts the fake Twilio got for `number` (containing some words), once there is one."""

    async def check() -> list[str]:
        return [text for text in texts_to(fake, number) if containing in text]

    result: list[str] = await eventually(check)
    return result
