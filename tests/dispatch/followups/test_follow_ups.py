"""Follow-ups: owed for completed orders and closed P1/P2 calls; attempts, retries and unreachable; scores
feed the provider's Bayesian rating; the phone to dial is shown in full only on the audited detail."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.followups.rating import bayesian_rating
from tests.dispatch.offers.test_offers import reply
from tests.dispatch.orders.test_orders import CLEANER, cleaner, new_order, outbox_to
from tests.factories import elder_payload, login, operator_headers


async def completed_order_follow_up(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A provider's first cleaning, done; returns (provider, its follow-up)."""
    provider = await cleaner(client, supervisor, "洁家保洁", CLEANER)
    await new_order(client, agent, clock)
    code = re.search(r"接 (\d{4})", (await outbox_to(client, agent, CLEANER))[0])
    assert code is not None
    for word in ("接", "到", "完成"):
        await reply(client, agent, CLEANER, f"{word} {code[1]}")
    await app_services.desk.run_once()
    [follow_up] = (await client.get("/api/v1/follow-ups", headers=agent)).json()["items"]
    return provider, follow_up


def test_one_score_moves_a_new_provider_only_a_little() -> None:
    assert bayesian_rating(total=1, count=1, prior=4.0, weight=5) == 3.5
    assert bayesian_rating(total=5 * 20, count=20, prior=4.0, weight=5) == 4.8
    assert bayesian_rating(total=0, count=0, prior=4.0, weight=5) == 4.0
    assert bayesian_rating(total=3, count=1, prior=4.0, weight=0) == 3.0


async def test_not_reached_is_retried_then_unreachable(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    _, follow_up = await completed_order_follow_up(client, app_services, clock, agent, supervisor)
    url = f"/api/v1/follow-ups/{follow_up['id']}"
    first = (await client.post(url, json={"reached": False, "comment": "无人接听"}, headers=agent)).json()
    assert (first["state"], first["attempts"]) == ("pending", 1)
    assert first["next_attempt_at"] == (clock.now() + timedelta(minutes=120)).isoformat().replace(
        "+00:00", "Z"
    )
    due_now = (await client.get("/api/v1/follow-ups", params={"due": "now"}, headers=agent)).json()
    assert due_now["total"] == 0  # not to be tried again before the retry time
    clock.advance(2 * 3600)
    assert (await client.get("/api/v1/follow-ups", params={"due": "now"}, headers=agent)).json()["total"] == 1
    await client.post(url, json={"reached": False}, headers=agent)
    clock.advance(2 * 3600)
    third = (await client.post(url, json={"reached": False}, headers=agent)).json()
    assert (third["state"], third["attempts"], third["reached"]) == ("unreachable", 3, False)
    assert [a["comment"] for a in third["attempt_log"]] == ["无人接听", "", ""]
    late = await client.post(url, json={"reached": True, "satisfaction": 4}, headers=agent)
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"reached": True}, "needs a satisfaction score"),
        ({"reached": False, "satisfaction": 3}, "no satisfaction score without"),
        ({"reached": True, "satisfaction": 6}, "less than or equal to 5"),
    ],
)
async def test_a_score_goes_with_reaching_someone(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
    body: dict[str, Any],
    message: str,
) -> None:
    _, follow_up = await completed_order_follow_up(client, app_services, clock, agent, supervisor)
    response = await client.post(f"/api/v1/follow-ups/{follow_up['id']}", json=body, headers=agent)
    assert response.status_code == 422
    assert message in response.text


async def test_the_phone_to_dial_is_in_full_only_on_the_audited_detail(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    _, follow_up = await completed_order_follow_up(client, app_services, clock, agent, supervisor)
    assert "****" in follow_up["elder_phone"]
    detail = (await client.get(f"/api/v1/follow-ups/{follow_up['id']}", headers=agent)).json()
    assert re.fullmatch(r"\+86139\d{8}", detail["elder_phone"])
    admin = await operator_headers(app_services, client, Role.admin)
    audit = (await client.get("/api/v1/audit", params={"action": "elder.read_phone"}, headers=admin)).json()
    assert [(e["username"], e["entity_id"]) for e in audit["items"]] == [
        ("agent1", str(follow_up["elder_id"]))
    ]


async def test_closed_emergency_calls_are_followed_up_within_a_day_and_others_not(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, agent: dict[str, str]
) -> None:
    calls = {}
    for priority in ("P1", "P3"):
        elder = (
            await client.post("/api/v1/elders", json=elder_payload(name=f"{priority}老人"), headers=agent)
        ).json()
        call = (
            await client.post(
                "/api/v1/calls",
                json={"elder_id": elder["id"], "priority": priority, "category": "fall"},
                headers=agent,
            )
        ).json()
        url = f"/api/v1/calls/{call['id']}"
        await client.post(f"{url}/acknowledge", headers=agent)
        await client.post(f"{url}/transition", json={"state": "resolved"}, headers=agent)
        closed = await client.post(f"{url}/close", json={"outcome": "resolved_on_phone"}, headers=agent)
        assert closed.status_code == 200, closed.text
        calls[priority] = call
    clock.advance(60)
    assert (await app_services.desk.run_once())["follow_ups_created"] == 1
    agent = await login(client, "agent1")
    [follow_up] = (await client.get("/api/v1/follow-ups", headers=agent)).json()["items"]
    assert (follow_up["kind"], follow_up["call_id"], follow_up["provider_id"]) == (
        "call",
        calls["P1"]["id"],
        None,
    )
    assert follow_up["subject"].startswith("P1 fall ")
    assert follow_up["subject_params"] == {
        "priority": "P1",
        "category": "fall",
        "at": calls["P1"]["opened_at"].replace("Z", "+00:00"),
    }
    assert follow_up["due_at"] == (clock.now() + timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    clock.advance(25 * 3600)
    agent = await login(client, "agent1")
    overdue = (await client.get("/api/v1/follow-ups", headers=agent)).json()["items"][0]
    assert overdue["overdue"] is True
