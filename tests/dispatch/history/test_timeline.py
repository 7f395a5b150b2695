"""An elder's timeline over HTTP on both databases: every kind of record, newest first, paged in the
database, filtered by kind, nobody else's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dispatch.api.state import AppServices
from dispatch.assessments.models import Assessment
from dispatch.assessments.workflow import Step
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.localtime import at_local, local_date
from tests.factories import elder_payload, operator_headers


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_the_timeline_holds_everything_newest_first_paged_and_filtered(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str]
) -> None:
    elder = await post(client, "/api/v1/elders", elder_payload(name="林玉兰"), agent)
    other = await post(client, "/api/v1/elders", elder_payload(name="陈秀英"), agent)
    call = await post(client, "/api/v1/calls", {"elder_id": elder["id"], "category": "enquiry"}, agent)
    await post(client, "/api/v1/calls", {"elder_id": other["id"], "category": "enquiry"}, agent)
    clock.advance(60)
    phone = await post(
        client,
        "/api/v1/phone-calls",
        {
            "direction": "inbound",
            "number": "13905919999",
            "category": "enquiry",
            "outcome": "answered",
            "elder_id": elder["id"],
        },
        agent,
    )
    clock.advance(60)
    complaint = await post(
        client,
        "/api/v1/complaints",
        {"source": "phone", "target": "service", "text": "等太久", "elder_id": elder["id"]},
        agent,
    )
    day = local_date(clock.now()) + timedelta(days=2)
    window = {
        "window_start": at_local(day, "09:00").isoformat(),
        "window_end": at_local(day, "11:00").isoformat(),
    }
    order = await post(
        client,
        "/api/v1/service-orders",
        {"elder_id": elder["id"], "service_type": "cleaning", **window},
        agent,
    )
    url = f"/api/v1/elders/{elder['id']}/timeline"
    whole = (await client.get(url, headers=agent)).json()
    assert [(e["kind"], e["id"]) for e in whole["items"]] == [
        ("order", order["id"]),
        ("complaint", complaint["id"]),
        ("phone_call", phone["id"]),
        ("call", call["id"]),
    ]
    assert whole["total"] == 4
    assert whole["items"][0]["code"] == "cleaning"
    assert (whole["items"][3]["code"], whole["items"][3]["priority"], whole["items"][3]["state"]) == (
        "enquiry",
        3,
        "new",
    )
    second_page = (await client.get(url, params={"limit": 2, "offset": 2}, headers=agent)).json()
    assert ([e["kind"] for e in second_page["items"]], second_page["total"]) == (["phone_call", "call"], 4)
    only = (await client.get(url, params=[("kind", "call"), ("kind", "complaint")], headers=agent)).json()
    assert ([e["kind"] for e in only["items"]], only["total"]) == (["complaint", "call"], 2)


async def test_an_unknown_elder_or_kind_is_refused(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    assert (await client.get("/api/v1/elders/999999/timeline", headers=agent)).status_code == 404
    elder = await post(client, "/api/v1/elders", elder_payload(), agent)
    wrong = await client.get(
        f"/api/v1/elders/{elder['id']}/timeline", params={"kind": "payment"}, headers=agent
    )
    assert wrong.status_code == 422


async def test_an_assessment_shows_its_step_and_only_a_final_level(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], app_services: AppServices
) -> None:
    elder = await post(client, "/api/v1/elders", elder_payload(), agent)
    materials = ["application_form", "identity_documents"]
    applied = await post(
        client, "/api/v1/assessments", {"elder_id": elder["id"], "materials": materials}, agent
    )
    async with app_services.sessions() as session:  # scored, not yet final: the level stays hidden
        await session.execute(update(Assessment).where(Assessment.id == applied["id"]).values(level=3))
        await session.commit()
    url = f"/api/v1/elders/{elder['id']}/timeline"
    [entry] = (await client.get(url, params={"kind": "assessment"}, headers=agent)).json()["items"]
    assert (entry["id"], entry["code"], entry["state"], entry["outcome"]) == (
        applied["id"],
        "standard",
        "accepted",
        None,
    )
    async with app_services.sessions() as session:
        await session.execute(
            update(Assessment).where(Assessment.id == applied["id"]).values(step=Step.final)
        )
        await session.commit()
    [entry] = (await client.get(url, params={"kind": "assessment"}, headers=agent)).json()["items"]
    assert (entry["state"], entry["outcome"]) == ("final", "3")
