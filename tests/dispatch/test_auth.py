"""Login, sessions, logout, roles and login throttling."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.auth.passwords import hash_password, verify_password
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from tests.conftest import REDIS_URL
from tests.factories import PASSWORD, login, make_operator, operator_headers

PROTECTED = [
    ("GET", "/api/v1/elders"),
    ("GET", "/api/v1/elders/1"),
    ("GET", "/api/v1/elders/1/health"),
    ("GET", "/api/v1/elders/1/contacts"),
    ("POST", "/api/v1/elders"),
    ("GET", "/api/v1/providers"),
    ("POST", "/api/v1/providers"),
    ("GET", "/api/v1/devices"),
    ("POST", "/api/v1/devices"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/calls"),
    ("POST", "/api/v1/calls/1/acknowledge"),
    ("GET", "/api/v1/device-events"),
    ("GET", "/api/v1/operators"),
    ("GET", "/api/v1/auth/me"),
]


async def test_login_returns_bearer_token_and_httponly_cookie(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    response = await client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert len(body["access_token"]) >= 40
    assert body["operator"]["username"] == "agent1"
    assert body["operator"]["role"] == "agent"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"dispatch_session={body['access_token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "agent1"


async def test_session_cookie_alone_authenticates(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    await client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})
    assert client.cookies.get("dispatch_session")
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["username"] == "agent1"


@pytest.mark.parametrize(("username", "password"), [("agent1", "wrong password"), ("nobody", PASSWORD)])
async def test_wrong_credentials_get_401(
    client: httpx.AsyncClient, app_services: AppServices, username: str, password: str
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthenticated",
        "message": "wrong username or password",
        "detail": None,
        "reason": None,
        "params": {},
    }


async def test_deactivated_operator_cannot_log_in_and_loses_sessions(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    admin = await operator_headers(app_services, client, Role.admin)
    agent = await make_operator(app_services, "agent1", Role.agent)
    agent_headers = await login(client, "agent1")
    response = await client.patch(f"/api/v1/operators/{agent.id}", json={"active": False}, headers=admin)
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert (await client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 401
    again = await client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})
    assert again.status_code == 401


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_api_route_requires_login(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_made_up_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/elders", headers={"Authorization": "Bearer made-up-token"})
    assert response.status_code == 401


async def test_logout_revokes_the_token(client: httpx.AsyncClient, app_services: AppServices) -> None:
    headers = await operator_headers(app_services, client, Role.agent)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/elders", headers=headers)).status_code == 401


async def test_session_expires_after_its_ttl(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    headers = await operator_headers(app_services, client, Role.agent)
    clock.advance(app_services.settings.session_ttl_seconds - 1)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    clock.advance(2)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def attempt(client: httpx.AsyncClient, password: str, username: str = "agent1") -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_failed_logins_from_one_address_wait_ever_longer_even_with_the_right_password(
    app: FastAPI, app_services: AppServices, clock: FakeClock
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    free = app_services.settings.login_free_failures
    async with client_at(app, "10.0.0.66") as guesser:
        assert [(await attempt(guesser, "guess")).status_code for _ in range(free)] == [401] * free
        waits = []
        for _ in range(4):
            blocked = await attempt(guesser, PASSWORD)
            assert (blocked.status_code, blocked.json()["code"]) == (429, "rate_limited")
            waits.append(int(blocked.headers["retry-after"]))
            clock.advance(waits[-1] - 1)
            assert (await attempt(guesser, PASSWORD)).status_code == 429  # not yet
            clock.advance(1)
            assert (await attempt(guesser, "guess")).status_code == 401  # tried again: the wait doubles
        assert waits == [2, 4, 8, 16]
        clock.advance(32)
        assert (await attempt(guesser, PASSWORD)).status_code == 200  # the account itself is never locked
        # A success starts the count afresh.
        assert [(await attempt(guesser, "guess")).status_code for _ in range(free)] == [401] * free


async def test_someone_elsewhere_cannot_lock_an_agent_out_of_their_shift(
    app: FastAPI, app_services: AppServices
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    async with client_at(app, "203.0.113.9") as stranger, client_at(app, "10.1.2.3") as agents_desk:
        statuses = {(await attempt(stranger, "guess")).status_code for _ in range(30)}
        assert statuses == {401, 429}
        assert (await attempt(agents_desk, "typo")).status_code == 401
        assert (await attempt(agents_desk, PASSWORD)).status_code == 200


async def test_the_wait_is_forgotten_after_an_hour_without_failures(
    app: FastAPI, app_services: AppServices, clock: FakeClock
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    free = app_services.settings.login_free_failures
    async with client_at(app, "10.0.0.66") as guesser:
        for _ in range(free):
            await attempt(guesser, "guess")
        clock.advance(3600)
        assert [(await attempt(guesser, "guess")).status_code for _ in range(free)] == [401] * free


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor])
async def test_only_admins_manage_operators(
    client: httpx.AsyncClient, app_services: AppServices, role: Role
) -> None:
    headers = await operator_headers(app_services, client, role)
    assert (await client.get("/api/v1/operators", headers=headers)).status_code == 403
    create = await client.post(
        "/api/v1/operators",
        headers=headers,
        json={"username": "mallory", "display_name": "M", "role": "admin", "password": "long enough pw"},
    )
    assert create.status_code == 403
    assert create.json()["code"] == "forbidden"


async def test_admin_creates_an_operator_who_can_then_log_in(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    admin = await operator_headers(app_services, client, Role.admin)
    created = await client.post(
        "/api/v1/operators",
        headers=admin,
        json={
            "username": "agent9",
            "display_name": "坐席九号",
            "role": "agent",
            "password": "long enough pw",
        },
    )
    assert created.status_code == 201
    assert created.json()["role"] == "agent"
    assert "password_hash" not in created.json()
    duplicate = await client.post(
        "/api/v1/operators",
        headers=admin,
        json={"username": "agent9", "display_name": "x", "role": "agent", "password": "long enough pw"},
    )
    assert duplicate.status_code == 409
    await login(client, "agent9", "long enough pw")
    listing = await client.get("/api/v1/operators", headers=admin)
    assert {o["username"] for o in listing.json()["items"]} >= {"agent9"}


async def test_short_passwords_are_refused(client: httpx.AsyncClient, app_services: AppServices) -> None:
    admin = await operator_headers(app_services, client, Role.admin)
    response = await client.post(
        "/api/v1/operators",
        headers=admin,
        json={"username": "agent9", "display_name": "x", "role": "agent", "password": "short"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


async def test_password_reset_ends_sessions_and_is_audited_without_the_value(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    admin = await operator_headers(app_services, client, Role.admin)
    agent = await make_operator(app_services, "agent1", Role.agent)
    old_session = await login(client, "agent1")
    response = await client.patch(
        f"/api/v1/operators/{agent.id}",
        json={"password": "a brand new one", "role": "supervisor"},
        headers=admin,
    )
    assert response.json()["role"] == "supervisor"
    assert (await client.get("/api/v1/auth/me", headers=old_session)).status_code == 401
    await login(client, "agent1", "a brand new one")
    log = await client.get("/api/v1/audit", params={"action": "operator.update"}, headers=admin)
    [entry] = log.json()["items"]
    assert entry["detail"] == {"role": {"from": "agent", "to": "supervisor"}, "password_hash": "changed"}
    assert "brand new" not in log.text


async def test_login_throttle_is_shared_through_redis_by_several_processes(
    db_settings: Settings, clock: FakeClock
) -> None:
    """Two app instances (as two server processes would be) count failed logins together in Redis."""
    settings = db_settings.model_copy(update={"redis_url": REDIS_URL, "login_free_failures": 4})
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()  # the tests' database: start with no counts from earlier runs
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        await make_operator(first.state.services, "agent1", Role.agent)
        clients = [client_at(a, "10.0.0.66") for a in (first, second)]
        statuses = [(await attempt(clients[i % 2], "guess")).status_code for i in range(4)]
        blocked = await attempt(clients[1], PASSWORD)
        clock.advance(2)
        allowed = await attempt(clients[0], PASSWORD)
        for c in clients:
            await c.aclose()
    await redis.aclose()
    assert statuses == [401, 401, 401, 401]
    assert blocked.status_code == 429
    assert allowed.status_code == 200


async def test_checking_a_password_leaves_the_event_loop_free() -> None:
    stored = await hash_password("secret")
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    try:
        assert await verify_password("secret", stored)
        turns_while_checking = turns
    finally:
        other.cancel()
    assert turns_while_checking > 0
