"""A database that cannot be reached (restarting, cut off) answers 503 with Retry-After, not a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlparse

import httpx
import pytest

from dispatch.api.app import create_app
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from simulators.chaos.proxy import Proxy
from tests.conftest import PG_URL, START
from tests.factories import operator_headers


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    database = urlparse(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    the_proxy = Proxy("postgresql", lambda: [(database.hostname or "127.0.0.1", database.port or 5432)])
    await the_proxy.start()
    yield the_proxy
    await the_proxy.stop()


async def test_requests_while_the_database_is_cut_off_get_503(pg_db_settings: Settings, proxy: Proxy) -> None:
    url = PG_URL.replace(f":{urlparse(PG_URL.replace('+asyncpg', '')).port}/", f":{proxy.port}/")
    app = create_app(pg_db_settings.model_copy(update={"database_url": url}), clock=FakeClock(START))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        agent = await operator_headers(app.state.services, client, Role.agent, "agent1")
        proxy.cut(3600)
        response = await client.get("/api/v1/calls", headers=agent)
        assert (response.status_code, response.headers.get("retry-after")) == (503, "1")
        assert response.json()["code"] == "unavailable"
        proxy.restore()
        assert (await client.get("/api/v1/calls", headers=agent)).status_code == 200


async def test_a_request_that_waits_too_long_for_a_database_connection_gets_503(
    pg_db_settings: Settings,
) -> None:
    settings = pg_db_settings.model_copy(update={"database_pool_timeout_seconds": 0.2})
    app = create_app(settings, clock=FakeClock(START))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        agent = await operator_headers(app.state.services, client, Role.agent, "agent1")
        engine = app.state.services.engine
        held = [await engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
        try:
            response = await client.get("/api/v1/calls", headers=agent)
        finally:
            for connection in held:
                await connection.close()
        assert (response.status_code, response.headers.get("retry-after")) == (503, "1")
        assert response.json()["code"] == "unavailable"
        assert (await client.get("/api/v1/calls", headers=agent)).status_code == 200
