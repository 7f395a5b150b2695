"""Suspended providers get no offers, even when they were ranked before the suspension."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dispatch.providers.steps import new_provider, set_status
from tests.factories import elder_payload

ALL_WEEK = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]


async def meal_job(client: httpx.AsyncClient, agent: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A new elder's acknowledged service call with a meal job dispatched: the call URL and the job."""
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    call = (
        await client.post(
            "/api/v1/calls",
            json={"elder_id": elder["id"], "priority": "P3", "category": "service_request"},
            headers=agent,
        )
    ).json()
    url = f"/api/v1/calls/{call['id']}"
    await client.post(f"{url}/acknowledge", headers=agent)
    job = await client.post(f"{url}/dispatch", json={"service_type": "meal_assistance"}, headers=agent)
    assert job.status_code == 201, job.text
    body: dict[str, Any] = job.json()
    return url, body


async def test_a_provider_suspended_after_the_ranking_is_skipped_when_the_job_moves_on(
    client: httpx.AsyncClient, supervisor: dict[str, str], agent: dict[str, str]
) -> None:
    near, farther = [
        await new_provider(
            client,
            supervisor,
            name=name,
            phone=phone,
            base_location={"lon": 119.2985, "lat": lat},
            working_hours=ALL_WEEK,
        )
        for name, phone, lat in (("甲助餐", "+8613900000011", 26.084), ("乙助餐", "+8613900000012", 26.086))
    ]
    url, job = await meal_job(client, agent)
    assert [r["provider_id"] for r in job["ranking"]] == [near["id"], farther["id"]]
    [offer] = job["offers"]
    assert offer["provider_id"] == near["id"]

    await set_status(client, supervisor, farther["id"], "suspended")
    declined = await client.post(
        "/api/v1/sms/replies", json={"from": near["phone"], "body": f"拒 {offer['code']}"}, headers=agent
    )
    assert declined.json()["detail"] == "declined"

    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert [(o["provider_id"], o["state"]) for o in job["offers"]] == [(near["id"], "declined")]
    assert job["state"] == "exhausted"
    outbox = (await client.get("/api/v1/sms/outbox", params={"limit": 200}, headers=agent)).json()["items"]
    assert [m["to"] for m in outbox if m["purpose"] == "offer"] == [near["phone"]]
