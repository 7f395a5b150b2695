"""Device registration: identifiers, binding to an elder, the secret shown once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from tests.factories import elder_payload, operator_headers


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent)


@pytest.fixture
async def elder_id(client: httpx.AsyncClient, agent: dict[str, str]) -> int:
    response = await client.post("/api/v1/elders", json=elder_payload(), headers=agent)
    return int(response.json()["id"])


async def register(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/v1/devices", json=body, headers=headers)


async def test_register_a_watch_and_read_it_back_without_the_secret(
    client: httpx.AsyncClient, agent: dict[str, str], elder_id: int
) -> None:
    response = await register(
        client, agent, imei="865028000000017", elder_id=elder_id, kind="watch", heartbeat_interval_s=300
    )
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "active"
    assert created["heartbeat_interval_s"] == 300
    assert len(created["secret"]) >= 32
    read = await client.get(f"/api/v1/devices/{created['id']}", headers=agent)
    assert "secret" not in read.json()
    listing = await client.get("/api/v1/devices", params={"elder_id": elder_id}, headers=agent)
    assert [d["imei"] for d in listing.json()["items"]] == ["865028000000017"]
    assert "secret" not in listing.text
    elder = await client.get(f"/api/v1/elders/{elder_id}", headers=agent)
    assert [d["imei"] for d in elder.json()["devices"]] == ["865028000000017"]


async def test_a_phone_can_bring_its_own_secret(
    client: httpx.AsyncClient, agent: dict[str, str], elder_id: int
) -> None:
    response = await register(
        client, agent, imei="phone-abc123", elder_id=elder_id, kind="phone", secret="s" * 32
    )
    assert response.status_code == 201
    assert response.json()["secret"] == "s" * 32


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"imei": "12345", "kind": "watch"}, "at least 6 characters"),
        ({"imei": "86502800000001X", "kind": "watch"}, "10- or 15-digit"),
        ({"imei": "phone with spaces", "kind": "phone"}, "6-32 letters"),
        ({"imei": "865028000000017", "kind": "pager"}, "watch"),
        ({"imei": "865028000000017", "heartbeat_interval_s": 5}, "greater than or equal to 30"),
    ],
)
async def test_invalid_devices_get_422(
    client: httpx.AsyncClient, agent: dict[str, str], elder_id: int, body: dict[str, Any], message: str
) -> None:
    response = await register(client, agent, elder_id=elder_id, **body)
    assert response.status_code == 422
    assert message in response.json()["message"]


async def test_duplicates_and_unknown_elders(
    client: httpx.AsyncClient, agent: dict[str, str], elder_id: int
) -> None:
    assert (await register(client, agent, imei="8650280000", elder_id=elder_id)).status_code == 201
    duplicate = await register(client, agent, imei="8650280000", elder_id=elder_id)
    assert duplicate.status_code == 409
    assert (await register(client, agent, imei="8650280001", elder_id=999)).status_code == 404


async def test_supervisors_disable_and_rebind(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], elder_id: int
) -> None:
    supervisor = await operator_headers(app_services, client, Role.supervisor, "supervisor")
    device = (await register(client, agent, imei="8650280000", elder_id=elder_id)).json()
    other = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()["id"]
    response = await client.patch(
        f"/api/v1/devices/{device['id']}", json={"status": "disabled", "elder_id": other}, headers=supervisor
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["elder_id"]) == ("disabled", other)
    disabled = await client.get("/api/v1/devices", params={"status": "disabled"}, headers=agent)
    assert disabled.json()["total"] == 1
    admin = await operator_headers(app_services, client, Role.admin, "admin")
    log = await client.get("/api/v1/audit", params={"action": "device.update"}, headers=admin)
    [entry] = log.json()["items"]
    assert (entry["username"], entry["entity_id"]) == ("supervisor", str(device["id"]))
    assert entry["detail"]["status"] == {"from": "active", "to": "disabled"}


@pytest.mark.parametrize("change", [{"status": "disabled"}, {"elder_id": 1}, {"heartbeat_interval_s": 60}])
async def test_agents_may_not_disable_rebind_or_reconfigure_a_device(
    client: httpx.AsyncClient, agent: dict[str, str], elder_id: int, change: dict[str, Any]
) -> None:
    device = (await register(client, agent, imei="8650280000", elder_id=elder_id)).json()
    response = await client.patch(f"/api/v1/devices/{device['id']}", json=change, headers=agent)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    unchanged = (await client.get(f"/api/v1/devices/{device['id']}", headers=agent)).json()
    assert (unchanged["status"], unchanged["elder_id"], unchanged["heartbeat_interval_s"]) == (
        "active",
        elder_id,
        600,
    )


async def test_null_for_a_device_field_is_refused(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], elder_id: int
) -> None:
    """Found by the fuzzer: `{"status": null}` reached the database's NOT NULL and answered 500."""
    supervisor = await operator_headers(app_services, client, Role.supervisor)
    device = (await register(client, agent, imei="865028000000025", elder_id=elder_id)).json()
    for field in ("status", "elder_id", "heartbeat_interval_s"):
        refused = await client.patch(
            f"/api/v1/devices/{device['id']}", json={field: None}, headers=supervisor
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), field
    unchanged = await client.get(f"/api/v1/devices/{device['id']}", headers=supervisor)
    assert (unchanged.json()["status"], unchanged.json()["elder_id"]) == ("active", elder_id)
