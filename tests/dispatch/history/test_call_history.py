"""The calls list as the history view asks it: newest first, by priority, category and opening time."""

from __future__ import annotations

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from tests.factories import elder_payload, operator_headers


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


async def test_history_filters_and_orders_newest_first(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str]
) -> None:
    opened: list[tuple[int, str]] = []
    for priority, category in (("P2", "enquiry"), ("P3", "enquiry"), ("P2", "service_request")):
        elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
        body = {"elder_id": elder["id"], "priority": priority, "category": category}
        call = (await client.post("/api/v1/calls", json=body, headers=agent)).json()
        opened.append((call["id"], call["opened_at"]))
        clock.advance(600)
    first, second, third = (call_id for call_id, _ in opened)

    async def ids(**params: str | bool) -> list[int]:
        response = await client.get("/api/v1/calls", params={"newest_first": True, **params}, headers=agent)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await ids() == [third, second, first]
    assert await ids(newest_first=False) == [first, third, second]  # the queue: priority, then oldest
    assert await ids(priority="P2") == [third, first]
    assert await ids(category="service_request") == [third]
    assert await ids(opened_from=opened[1][1]) == [third, second]
    assert await ids(opened_from=opened[0][1], opened_before=opened[2][1]) == [second, first]
    naive = await client.get("/api/v1/calls", params={"opened_from": "2026-03-02T09:00:00"}, headers=agent)
    assert naive.status_code == 422
