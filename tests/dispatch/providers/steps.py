"""API steps shared by the provider lifecycle and coverage tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import provider_payload


async def new_provider(
    client: httpx.AsyncClient, headers: dict[str, str], status: str = "active", **overrides: Any
) -> dict[str, Any]:
    """A provider created through the API and moved to `status` (pending, active or suspended)."""
    response = await client.post("/api/v1/providers", json=provider_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    for step in {"pending": [], "active": ["active"], "suspended": ["active", "suspended"]}[status]:
        provider = await set_status(client, headers, provider["id"], step)
    return provider


async def set_status(
    client: httpx.AsyncClient, headers: dict[str, str], provider_id: int, status: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/providers/{provider_id}/status",
        json={"status": status, "reason": f"to {status}"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_alerts(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/alerts", params={"kind": "coverage"}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
