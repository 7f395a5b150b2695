"""Administration over HTTP: who is logged in, signing an operator out everywhere (audited), and the
settings as the server runs with them, secrets never shown."""

from __future__ import annotations

import httpx
import pytest

from dispatch.admin.router import settings_items, shown
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.settings import Settings
from tests.factories import login, make_operator, operator_headers


@pytest.fixture
async def admin(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.admin, "admin1")


async def test_the_list_says_who_is_logged_in_and_sign_out_ends_every_session(
    client: httpx.AsyncClient, app_services: AppServices, admin: dict[str, str]
) -> None:
    await make_operator(app_services, "agent1", Role.agent)
    await make_operator(app_services, "agent2", Role.agent)
    first, second = await login(client, "agent1"), await login(client, "agent1")

    async def online() -> dict[str, bool]:
        page = (await client.get("/api/v1/operators", headers=admin)).json()
        return {o["username"]: o["signed_in"] for o in page["items"]}

    assert await online() == {"admin1": True, "agent1": True, "agent2": False}
    agent1 = next(
        o
        for o in (await client.get("/api/v1/operators", headers=admin)).json()["items"]
        if o["username"] == "agent1"
    )
    signed_out = await client.post(f"/api/v1/operators/{agent1['id']}/sign-out", headers=admin)
    assert signed_out.status_code == 200, signed_out.text
    for headers in (first, second):
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await online())["agent1"] is False
    audit = (await client.get("/api/v1/audit", params={"action": "operator.sign_out"}, headers=admin)).json()
    assert [(e["entity_id"], e["username"]) for e in audit["items"]] == [(str(agent1["id"]), "admin1")]
    assert (await client.post("/api/v1/operators/999999/sign-out", headers=admin)).status_code == 404


async def test_settings_are_listed_with_secrets_hidden(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    items = {s["name"]: s for s in (await client.get("/api/v1/settings", headers=admin)).json()["items"]}
    assert items["DISPATCH_SECRET_KEY"] == {"name": "DISPATCH_SECRET_KEY", "value": "••••••", "secret": True}
    assert items["DISPATCH_P1_ACK_SECONDS"]["value"] == "30"
    assert items["DISPATCH_TWILIO_AUTH_TOKEN"]["value"] in ("", "••••••")
    assert len(items) == len(Settings.model_fields)


def test_a_password_in_a_url_and_secret_names_are_masked() -> None:
    assert shown("database_url", "postgresql+asyncpg://app:hunter2@db:5432/x") == (
        "postgresql+asyncpg://app:••••••@db:5432/x",
        True,
    )
    assert shown("redis_url", "redis://127.0.0.1:6379/0") == ("redis://127.0.0.1:6379/0", False)
    assert shown("device_secret_keys", "") == ("", True)
    assert shown("environment", None) == ("", False)
    assert not any(
        "hunter2" in s.value
        for s in settings_items(Settings(database_url="postgresql://a:hunter2@h/d", _env_file=None))
    )
