"""The audit log: admins only, newest first, filterable, never editable over the API."""

from __future__ import annotations

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from tests.factories import elder_payload, operator_headers


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor])
async def test_only_admins_read_the_audit_log(
    client: httpx.AsyncClient, app_services: AppServices, role: Role
) -> None:
    headers = await operator_headers(app_services, client, role)
    response = await client.get("/api/v1/audit", headers=headers)
    assert response.status_code == 403


async def test_admin_reads_entries_newest_first_with_filters(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    admin = await operator_headers(app_services, client, Role.admin, "admin")
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    everything = (await client.get("/api/v1/audit", headers=admin)).json()
    ids = [e["id"] for e in everything["items"]]
    assert ids == sorted(ids, reverse=True)
    assert everything["total"] == len(ids)
    logins = (await client.get("/api/v1/audit", params={"action": "auth.login"}, headers=admin)).json()
    assert {e["username"] for e in logins["items"]} == {"agent1", "admin"}
    mine = (
        await client.get(
            "/api/v1/audit", params={"username": "agent1", "entity_type": "elder"}, headers=admin
        )
    ).json()
    assert {(e["action"], e["entity_id"]) for e in mine["items"]} == {
        ("elder.create", str(elder["id"])),
        ("elder.read", str(elder["id"])),
    }


async def test_there_is_no_way_to_change_the_log_over_http(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    admin = await operator_headers(app_services, client, Role.admin)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/api/v1/audit", headers=admin)
        assert response.status_code == 405
