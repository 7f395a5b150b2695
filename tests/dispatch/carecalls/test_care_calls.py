"""Care calls through the API: scheduling a mix of elders over agents and days, recording attempts,
escalating an unreached or overdue elder to the community worker, with SMS and alerts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.carecalls import service as care
from dispatch.carecalls.models import CareCall
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.elders.models import Device
from tests.factories import (
    elder_payload,
    login,
    make_elder_with_device,
    make_operator,
    operator_headers,
    read_outbox,
)

URL = "/api/v1/care-calls"
SETTLED = {"living_alone": False, "subsidy_categories": ["self_paying"], "health": {"self_care_ability": 1}}
POOR_80 = {
    "living_alone": False,
    "subsidy_categories": ["aged_80_plus", "minimum_living"],
    "health": {"self_care_ability": 1},
}
WORKER_PHONE = "+8613800000002"  # the community worker of elder_payload


class Desk:
    """Two agents and a supervisor, logged in."""

    def __init__(
        self, agent_ids: list[int], agents: list[dict[str, str]], supervisor: dict[str, str]
    ) -> None:
        self.agent_ids = agent_ids
        self.agents = agents
        self.supervisor = supervisor


@pytest.fixture
async def desk(client: httpx.AsyncClient, app_services: AppServices) -> Desk:
    agent_ids, agents = [], []
    for name in ("agent1", "agent2"):
        agent_ids.append((await make_operator(app_services, name, Role.agent)).id)
        agents.append(await login(client, name))
    supervisor = await operator_headers(app_services, client, Role.supervisor, "supervisor")
    return Desk(agent_ids, agents, supervisor)


async def new_elder(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> int:
    response = await client.post("/api/v1/elders", json=elder_payload(**fields), headers=headers)
    assert response.status_code == 201, response.text
    elder_id: int = response.json()["id"]
    return elder_id


async def run_schedule(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.post(f"{URL}/schedule", headers=headers)
    assert response.status_code == 200, response.text
    created: int = response.json()["created"]
    return created


async def care_calls(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(URL, params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    items: list[dict[str, Any]] = body["items"]
    return items


async def attempt(
    client: httpx.AsyncClient, headers: dict[str, str], care_call_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{URL}/{care_call_id}/attempts", json={"channel": "phone", **body}, headers=headers
    )


async def test_login_required(client: httpx.AsyncClient) -> None:
    assert (await client.get(URL)).status_code == 401
    assert (await client.post(f"{URL}/schedule")).status_code == 401
    assert (await client.post(f"{URL}/1/attempts", json={"reached": True})).status_code == 401


async def test_only_managers_run_the_scheduler(client: httpx.AsyncClient, desk: Desk) -> None:
    response = await client.post(f"{URL}/schedule", headers=desk.agents[0])
    assert response.status_code == 403


async def test_schedule_weekly_for_elders_at_risk_monthly_for_the_rest(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    alone = await new_elder(client, desk.supervisor)
    settled = await new_elder(client, desk.supervisor, **SETTLED)
    poor_80 = await new_elder(client, desk.supervisor, **POOR_80)
    await new_elder(client, desk.supervisor, status="moved_out")

    assert await run_schedule(client, desk.supervisor) == 3
    assert await run_schedule(client, desk.supervisor) == 0  # idempotent

    calls = {c["elder_id"]: c for c in await care_calls(client, desk.agents[0])}
    assert set(calls) == {alone, settled, poor_80}
    assert {e: (c["cadence"], c["period"]) for e, c in calls.items()} == {
        alone: ("weekly", "2026-W10"),
        poor_80: ("weekly", "2026-W10"),
        settled: ("monthly", "2026-03"),
    }
    for c in calls.values():
        assert (c["state"], c["assignee"], c["channel"], c["attempts"], c["overdue"]) == (
            "scheduled",
            "agent",
            "phone",
            0,
            False,
        )
        assert c["operator_id"] in desk.agent_ids
    assert Counter(c["operator_id"] for c in calls.values()) == Counter(
        {desk.agent_ids[0]: 2, desk.agent_ids[1]: 1}
    )
    assert calls[alone]["due_on"] != calls[poor_80]["due_on"]


async def test_calls_are_spread_over_agents_and_working_days(
    client: httpx.AsyncClient, desk: Desk, clock: FakeClock
) -> None:
    for _ in range(10):
        await new_elder(client, desk.supervisor)
    assert await run_schedule(client, desk.supervisor) == 10

    calls = await care_calls(client, desk.supervisor)
    per_agent_day = Counter((c["operator_id"], c["due_on"]) for c in calls)
    weekdays = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]
    assert per_agent_day == {(agent, day): 1 for agent in desk.agent_ids for day in weekdays}
    assert [c["due_on"] for c in calls] == sorted(c["due_on"] for c in calls)

    mine = await care_calls(client, desk.agents[1], mine="true")
    assert {c["operator_id"] for c in mine} == {desk.agent_ids[1]}
    assert len(mine) == 5
    due_soon = await care_calls(client, desk.agents[1], mine="true", due_by="2026-03-03")
    assert [c["due_on"] for c in due_soon] == ["2026-03-02", "2026-03-03"]

    # Agent 1 closes two calls; on Thursday a newcomer's call goes to them (fewer open calls), this week.
    for c in [c for c in calls if c["operator_id"] == desk.agent_ids[0]][:2]:
        assert (await attempt(client, desk.agents[0], c["id"], reached=True)).status_code == 200
    clock.advance(timedelta(days=3).total_seconds())
    supervisor = await login(client, "supervisor")  # the sessions of Monday have expired
    newcomer = await new_elder(client, supervisor)
    assert await run_schedule(client, supervisor) == 1
    (late,) = await care_calls(client, supervisor, elder_id=newcomer)
    assert (late["operator_id"], late["due_on"], late["period"]) == (
        desk.agent_ids[0],
        "2026-03-05",
        "2026-W10",
    )
    overdue = [c for c in await care_calls(client, supervisor, state="scheduled") if c["overdue"]]
    assert {c["due_on"] for c in overdue} == {"2026-03-02", "2026-03-03", "2026-03-04"}


async def test_reached_closes_the_call_and_updates_the_elder(
    client: httpx.AsyncClient, desk: Desk, app_services: AppServices
) -> None:
    elder_id = await new_elder(client, desk.supervisor, notes="喜欢下棋")
    await run_schedule(client, desk.supervisor)
    (planned,) = await care_calls(client, desk.agents[0], elder_id=elder_id)
    call = (
        await client.post(
            "/api/v1/calls",
            json={"elder_id": elder_id, "priority": "P3", "category": "service_request"},
            headers=desk.agents[0],
        )
    ).json()

    response = await attempt(
        client,
        desk.agents[0],
        planned["id"],
        reached=True,
        channel="video",
        notes="精神不错",
        call_id=call["id"],
        elder_notes="最近腿脚不便，想要助浴服务",
        declining=True,
    )

    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["state"], done["channel"], done["attempts"], done["notes"], done["call_id"]) == (
        "done",
        "video",
        1,
        "精神不错",
        call["id"],
    )
    assert (done["completed_by"], done["completed_at"]) == ("agent1", "2026-03-02T01:00:00Z")
    assert [(a["by"], a["reached"], a["channel"]) for a in done["attempt_log"]] == [("agent1", True, "video")]
    elder = (await client.get(f"/api/v1/elders/{elder_id}", headers=desk.agents[0])).json()
    assert elder["notes"] == "喜欢下棋\n2026-03-02 探访: 最近腿脚不便，想要助浴服务"
    admin = await operator_headers(app_services, client, Role.admin, "admin")
    audit = await client.get("/api/v1/audit", params={"action": "elder.notes_appended"}, headers=admin)
    assert [e["entity_id"] for e in audit.json()["items"]] == [str(elder_id)]
    again = await attempt(client, desk.agents[0], planned["id"], reached=True)
    assert again.status_code == 409
    async with app_services.sessions() as session:  # found worse: a re-assessment will be proposed
        stored = await session.get(CareCall, planned["id"])
    assert stored is not None
    assert stored.decline_reported_at is not None


async def test_links_must_exist(client: httpx.AsyncClient, desk: Desk) -> None:
    await new_elder(client, desk.supervisor)
    await run_schedule(client, desk.supervisor)
    (planned,) = await care_calls(client, desk.agents[0])
    assert (
        await attempt(client, desk.agents[0], planned["id"], reached=True, order_id=999)
    ).status_code == 404
    assert (
        await attempt(client, desk.agents[0], planned["id"], reached=True, call_id=999)
    ).status_code == 404
    assert (await attempt(client, desk.agents[0], 999, reached=True)).status_code == 404
    assert (await client.get(f"{URL}/{planned['id']}", headers=desk.agents[0])).json()["attempts"] == 0


async def outbox(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return await read_outbox(client, headers)


async def alerts(client: httpx.AsyncClient, headers: dict[str, str], kind: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/alerts", params={"kind": kind}, headers=headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_unreached_twice_goes_to_the_community_worker(client: httpx.AsyncClient, desk: Desk) -> None:
    elder_id = await new_elder(client, desk.supervisor, name="王阿婆", address="福州市鼓楼区三坊七巷1号")
    await run_schedule(client, desk.supervisor)
    (planned,) = await care_calls(client, desk.agents[0])

    first = (await attempt(client, desk.agents[0], planned["id"], reached=False, notes="无人接听")).json()
    assert (first["state"], first["attempts"]) == ("scheduled", 1)
    assert await outbox(client, desk.agents[0]) == []
    second = (await attempt(client, desk.agents[1], planned["id"], reached=False)).json()

    assert (second["state"], second["attempts"], second["escalation_reason"]) == ("escalated", 2, "unreached")
    (visit,) = await care_calls(client, desk.agents[0], assignee="community_worker")
    assert (visit["elder_id"], visit["channel"], visit["state"], visit["due_on"], visit["period"]) == (
        elder_id,
        "visit",
        "scheduled",
        "2026-03-02",
        "2026-W10",
    )
    assert (visit["escalated_from_id"], visit["contact_name"], visit["operator_id"]) == (
        planned["id"],
        "测试助老员",
        None,
    )
    (sms,) = await outbox(client, desk.agents[0])
    assert (sms["to"], sms["purpose"]) == (WORKER_PHONE, "care_visit")
    assert "王阿婆" in sms["body"]
    assert "福州市鼓楼区三坊七巷1号" in sms["body"]
    (heartbeat,) = await alerts(client, desk.supervisor, "care_no_heartbeat")
    assert (heartbeat["key"], heartbeat["audience"]) == (f"care-heartbeat:{elder_id}:2026-W10", "supervisors")

    visited = await attempt(
        client, desk.agents[0], visit["id"], reached=True, channel="visit", notes="老人住院"
    )
    assert visited.json()["state"] == "done"
    assert await alerts(client, desk.supervisor, "care_unreached") == []


async def test_an_unreached_visit_alerts_the_supervisors(client: httpx.AsyncClient, desk: Desk) -> None:
    elder_id = await new_elder(client, desk.supervisor)
    await run_schedule(client, desk.supervisor)
    (planned,) = await care_calls(client, desk.agents[0])
    for _ in range(2):
        await attempt(client, desk.agents[0], planned["id"], reached=False)
    (visit,) = await care_calls(client, desk.agents[0], assignee="community_worker")

    missed = (await attempt(client, desk.agents[0], visit["id"], reached=False, channel="visit")).json()

    assert (missed["state"], missed["attempts"]) == ("scheduled", 1)
    (alert,) = await alerts(client, desk.supervisor, "care_unreached")
    assert alert["detail"] == {
        "elder_id": elder_id,
        "elder_name": planned["elder_name"],
        "care_call_id": visit["id"],
        "period": "2026-W10",
    }


async def test_no_heartbeat_alert_when_a_device_was_heard(
    client: httpx.AsyncClient, desk: Desk, app_services: AppServices, clock: FakeClock
) -> None:
    elder_id, device_id, _ = await make_elder_with_device(app_services, "860000000000123")
    async with unit_of_work(app_services.sessions) as session:
        heard = clock.now() - timedelta(hours=3)
        await session.execute(update(Device).where(Device.id == device_id).values(last_seen_at=heard))
    await run_schedule(client, desk.supervisor)
    (planned,) = await care_calls(client, desk.agents[0], elder_id=elder_id)
    for _ in range(2):
        await attempt(client, desk.agents[0], planned["id"], reached=False)

    assert len(await care_calls(client, desk.agents[0], assignee="community_worker")) == 1
    assert await alerts(client, desk.supervisor, "care_no_heartbeat") == []


async def test_no_community_worker_alerts_the_agents(client: httpx.AsyncClient, desk: Desk) -> None:
    relatives_only = [{"name": "测试儿子", "kind": "relative", "relation": "儿子", "phone": "13800000001"}]
    elder_id = await new_elder(client, desk.supervisor, contacts=relatives_only)
    await run_schedule(client, desk.supervisor)
    (planned,) = await care_calls(client, desk.agents[0])
    for _ in range(2):
        await attempt(client, desk.agents[0], planned["id"], reached=False)

    (visit,) = await care_calls(client, desk.agents[0], assignee="community_worker")
    assert (visit["contact_id"], visit["contact_name"]) == (None, None)
    assert await outbox(client, desk.agents[0]) == []
    (alert,) = await alerts(client, desk.agents[0], "care_no_worker")
    assert (alert["audience"], alert["key"]) == ("agents", f"care-no-worker:{elder_id}:2026-W10")


async def test_calls_overdue_by_more_than_a_day_are_escalated(
    client: httpx.AsyncClient, desk: Desk, app_services: AppServices, clock: FakeClock
) -> None:
    for _ in range(3):
        await new_elder(client, desk.supervisor)
    await run_schedule(client, desk.supervisor)  # due Mon, Tue, Thu
    clock.advance(timedelta(days=2).total_seconds())  # Wednesday: Monday's call is overdue by two days

    async with unit_of_work(app_services.sessions) as session:
        escalated = await care.escalate_due(session=session, clock=clock, settings=app_services.settings)
    async with unit_of_work(app_services.sessions) as session:
        again = await care.escalate_due(session=session, clock=clock, settings=app_services.settings)

    assert (escalated, again) == (1, 0)
    supervisor = await login(client, "supervisor")
    states = {
        c["due_on"]: (c["state"], c["escalation_reason"], c["overdue"])
        for c in await care_calls(client, supervisor, assignee="agent")
    }
    assert states == {
        "2026-03-02": ("escalated", "overdue", False),
        "2026-03-03": ("scheduled", "", True),
        "2026-03-05": ("scheduled", "", False),
    }
    (visit,) = await care_calls(client, supervisor, assignee="community_worker")
    assert visit["due_on"] == "2026-03-04"
    assert len(await outbox(client, supervisor)) == 1


async def test_moving_out_cancels_the_planned_call(client: httpx.AsyncClient, desk: Desk) -> None:
    elder_id = await new_elder(client, desk.supervisor)
    await run_schedule(client, desk.supervisor)
    response = await client.patch(
        f"/api/v1/elders/{elder_id}", json={"status": "moved_out"}, headers=desk.supervisor
    )
    assert response.status_code == 200, response.text

    assert await run_schedule(client, desk.supervisor) == 0
    (cancelled,) = await care_calls(client, desk.supervisor, elder_id=elder_id)
    assert cancelled["state"] == "cancelled"
