"""Complaints through the API: intake and auto-assignment, notes, resolution with the SMS reply, who may do
what, and escalation of overdue complaints on the fake clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dispatch.alerts.models import Alert
from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.clock import FakeClock
from dispatch.complaints import service as complaints
from dispatch.complaints.models import ComplaintSource, ComplaintTarget
from dispatch.complaints.schemas import ComplaintCreate
from dispatch.db.session import unit_of_work
from dispatch.followups.models import FollowUp, FollowUpKind, FollowUpState
from tests.conftest import START
from tests.factories import (
    elder_payload,
    login,
    make_operator,
    operator_headers,
    provider_payload,
    read_outbox,
)

COMPLAINANT = "+8613800001234"


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


@pytest.fixture
async def supervisor(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.supervisor, "sup1")


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/api/v1/auth/me", headers=headers)).json()
    return body


async def a_provider(client: httpx.AsyncClient, supervisor: dict[str, str]) -> dict[str, Any]:
    provider: dict[str, Any] = (
        await client.post("/api/v1/providers", json=provider_payload(), headers=supervisor)
    ).json()
    return provider


async def complain(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> httpx.Response:
    body = {
        "source": "phone",
        "target": "provider",
        "text": "送餐迟到一个小时，饭菜已凉",
        "complainant_name": "李女士",
        "complainant_phone": "13800001234",
        **overrides,
    }
    return await client.post("/api/v1/complaints", json=body, headers=headers)


async def test_a_complaint_goes_to_the_supervisor_is_investigated_and_resolved_with_an_sms(
    client: httpx.AsyncClient, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    provider = await a_provider(client, supervisor)
    sup = await me(client, supervisor)

    created = await complain(client, agent, provider_id=provider["id"])

    assert created.status_code == 201, created.text
    complaint = created.json()
    assert complaint["state"] == "assigned"
    assert (complaint["assigned_to"], complaint["assigned_name"]) == (sup["id"], "sup1")
    assert complaint["due_at"] == (START + timedelta(hours=72)).isoformat().replace("+00:00", "Z")
    assert (complaint["complainant_phone"], complaint["created_by"]) == (COMPLAINANT, "agent1")
    assert (complaint["overdue"], complaint["escalation_level"], complaint["upheld"]) == (False, 0, None)
    url = f"/api/v1/complaints/{complaint['id']}"

    noted = await client.post(f"{url}/notes", json={"text": "已致电服务商核实"}, headers=supervisor)
    assert noted.status_code == 201
    assert [(n["by"], n["text"]) for n in noted.json()["notes"]] == [("sup1", "已致电服务商核实")]

    refused = await client.post(
        f"{url}/resolve", json={"resolution": "x", "upheld": True, "informed_how": "sms"}, headers=agent
    )
    assert refused.status_code == 403

    resolved = await client.post(
        f"{url}/resolve",
        json={"resolution": "情况属实，已责令服务商整改并扣减评分。", "upheld": True, "informed_how": "sms"},
        headers=supervisor,
    )
    assert resolved.status_code == 200, resolved.text
    done = resolved.json()
    assert (done["state"], done["upheld"], done["informed_how"]) == ("resolved", True, "sms")
    assert done["informed_at"] == done["resolved_at"] == START.isoformat().replace("+00:00", "Z")

    replies = [m for m in await read_outbox(client, agent) if m["purpose"] == "complaint_reply"]
    assert [m["to"] for m in replies] == [COMPLAINANT]
    assert replies[0]["body"] == (
        f"【12349】李女士您好，您反映的问题（编号{complaint['id']}）已处理："
        "情况属实，已责令服务商整改并扣减评分。感谢您的监督，如有疑问请致电12349。"
    )

    again = await client.post(
        f"{url}/resolve",
        json={"resolution": "x", "upheld": False, "informed_how": "phone"},
        headers=supervisor,
    )
    assert again.status_code == 409
    listed = await client.get(
        "/api/v1/complaints", params={"state": "resolved", "provider_id": provider["id"]}, headers=agent
    )
    assert [c["id"] for c in listed.json()["items"]] == [complaint["id"]]


async def test_complaints_go_to_the_supervisor_with_the_fewest_unresolved(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    second = await operator_headers(app_services, client, Role.supervisor, "sup2")
    await make_operator(app_services, "sup3", Role.supervisor)
    async with unit_of_work(app_services.sessions) as session:  # an inactive supervisor gets none
        sup3 = await session.scalar(select(Operator).where(Operator.username == "sup3"))
        assert sup3 is not None
        sup3.active = False

    names = []
    for _ in range(3):
        response = await complain(client, agent, target="service", text="热线等待太久")
        names.append(response.json()["assigned_name"])
    assert names == ["sup1", "sup2", "sup1"]

    mine = await client.get("/api/v1/complaints", params={"mine": "true"}, headers=second)
    assert [c["assigned_name"] for c in mine.json()["items"]] == ["sup2"]


async def test_without_a_supervisor_a_complaint_stays_open_until_assigned(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str]
) -> None:
    admin = await operator_headers(app_services, client, Role.admin, "admin1")
    created = (await complain(client, agent, target="service", text="建议增加夜间服务")).json()
    assert (created["state"], created["assigned_to"]) == ("open", None)
    url = f"/api/v1/complaints/{created['id']}"

    assert (await client.post(f"{url}/notes", json={"text": "我来看看"}, headers=agent)).status_code == 403
    agent_id = (await me(client, agent))["id"]
    not_a_manager = await client.post(f"{url}/assign", json={"operator_id": agent_id}, headers=admin)
    assert not_a_manager.status_code == 422
    by_agent = await client.post(f"{url}/assign", json={"operator_id": agent_id}, headers=agent)
    assert by_agent.status_code == 403

    admin_id = (await me(client, admin))["id"]
    new_due = (START + timedelta(days=1)).isoformat()
    assigned = await client.post(
        f"{url}/assign", json={"operator_id": admin_id, "due_at": new_due}, headers=admin
    )
    assert assigned.status_code == 200
    assert (assigned.json()["state"], assigned.json()["assigned_name"]) == ("assigned", "admin1")
    assert assigned.json()["due_at"] == new_due.replace("+00:00", "Z")


async def test_who_a_complaint_is_against_must_be_named(
    client: httpx.AsyncClient, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    no_provider = await complain(client, agent, target="provider")
    no_agent = await complain(client, agent, target="agent")
    unknown = await complain(client, agent, provider_id=99999)
    bad_phone = await complain(client, agent, target="service", complainant_phone="12")
    sms_without_phone = (await complain(client, agent, target="service", complainant_phone=None)).json()
    no_number = await client.post(
        f"/api/v1/complaints/{sms_without_phone['id']}/resolve",
        json={"resolution": "已答复", "upheld": False, "informed_how": "sms"},
        headers=supervisor,
    )

    assert [r.status_code for r in (no_provider, no_agent, unknown, bad_phone)] == [422, 422, 404, 422]
    assert no_number.status_code == 422
    assert no_number.json()["detail"] != ""


async def test_a_complaint_from_a_follow_up_takes_its_elder_provider_and_order(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    provider = await a_provider(client, supervisor)
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    now = app_services.clock.now()
    async with unit_of_work(app_services.sessions) as session:
        follow_up = FollowUp(
            kind=FollowUpKind.call,
            elder_id=elder["id"],
            elder_name=elder["name"],
            provider_id=provider["id"],
            provider_name=provider["name"],
            subject="助餐",
            state=FollowUpState.done,
            due_at=now,
            next_attempt_at=now,
            satisfaction=1,
            created_at=now,
            updated_at=now,
        )
        session.add(follow_up)
        await session.flush()
        complaint = await complaints.create(
            session=session,
            clock=app_services.clock,
            actor=Actor.system("test"),
            data=ComplaintCreate(
                source=ComplaintSource.follow_up,
                target=ComplaintTarget.provider,
                text="态度差",
                follow_up_id=follow_up.id,
            ),
            due_hours=24,
        )
        assert (complaint.elder_id, complaint.provider_id, complaint.follow_up_id) == (
            elder["id"],
            provider["id"],
            follow_up.id,
        )
        assert complaint.target == ComplaintTarget.provider
        assert complaint.due_at == now + timedelta(hours=24)
        assert complaint.complainant_phone == ""


async def test_overdue_complaints_escalate_once_a_level_each_day(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    complaint = (await complain(client, agent, target="service", text="回访电话太多")).json()

    async def escalate() -> int:
        async with unit_of_work(app_services.sessions) as session:
            return await complaints.escalate_overdue(session=session, clock=clock)

    assert await escalate() == 0
    clock.advance(72 * 3600)  # exactly due: not yet overdue
    assert await escalate() == 0
    clock.advance(1)
    assert await escalate() == 1
    assert await escalate() == 0  # still level 1
    agent = await login(client, "agent1")  # the morning's login has expired
    overdue = await client.get("/api/v1/complaints", params={"overdue": "true"}, headers=agent)
    assert [(c["id"], c["escalation_level"]) for c in overdue.json()["items"]] == [(complaint["id"], 1)]
    not_overdue = await client.get("/api/v1/complaints", params={"overdue": "false"}, headers=agent)
    assert not_overdue.json()["total"] == 0

    clock.advance(24 * 3600)
    assert await escalate() == 1
    assert await escalate() == 0

    async with unit_of_work(app_services.sessions) as session:
        alerts = list(await session.scalars(select(Alert).order_by(Alert.id)))
    assert [(a.kind, a.key, a.audience.value, a.detail["level"]) for a in alerts] == [
        ("complaint_overdue", f"complaint:{complaint['id']}:1", "supervisors", 1),
        ("complaint_overdue", f"complaint:{complaint['id']}:2", "supervisors", 2),
    ]
    agent = await login(client, "agent1")
    detail = (await client.get(f"/api/v1/complaints/{complaint['id']}", headers=agent)).json()
    assert (detail["escalation_level"], detail["overdue"]) == (2, True)
    assert detail["escalated_at"] == clock.now().isoformat().replace("+00:00", "Z")

    resolved = await client.post(
        f"/api/v1/complaints/{complaint['id']}/resolve",
        json={"resolution": "已调整回访频次", "upheld": False, "informed_how": "phone"},
        headers=await login(client, "sup1"),
    )
    assert resolved.json()["state"] == "resolved"
    clock.advance(7 * 24 * 3600)
    assert await escalate() == 0  # resolved ones never escalate


async def test_a_pause_escalates_straight_to_the_level_due_with_one_alert(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, agent: dict[str, str]
) -> None:
    complaint = (await complain(client, agent, target="service", text="系统故障")).json()
    clock.advance((72 + 50) * 3600)  # 50 hours past due: the third day
    async with unit_of_work(app_services.sessions) as session:
        assert await complaints.escalate_overdue(session=session, clock=clock) == 1
        keys = list(await session.scalars(select(Alert.key)))
    assert keys == [f"complaint:{complaint['id']}:3"]
    assert complaints.overdue_level(START, START) == 0
    assert complaints.overdue_level(START, START + timedelta(hours=24)) == 1
    assert complaints.overdue_level(START, START + timedelta(hours=24, seconds=1)) == 2


async def test_an_agent_cannot_read_complaints_about_themselves(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    colleague = await operator_headers(app_services, client, Role.agent, "agent2")
    about_agent1 = (
        await complain(client, colleague, target="agent", operator_id=(await me(client, agent))["id"])
    ).json()
    other = (await complain(client, colleague, target="service", text="热线等待太久")).json()

    assert (await client.get(f"/api/v1/complaints/{about_agent1['id']}", headers=agent)).status_code == 403
    for query in ({}, {"target": "agent"}):
        listed = (await client.get("/api/v1/complaints", params=query, headers=agent)).json()
        assert about_agent1["id"] not in [c["id"] for c in listed["items"]]
    assert [c["id"] for c in (await client.get("/api/v1/complaints", headers=agent)).json()["items"]] == [
        other["id"]
    ]
    for reader in (colleague, supervisor):
        read = await client.get(f"/api/v1/complaints/{about_agent1['id']}", headers=reader)
        assert read.status_code == 200
        total = (await client.get("/api/v1/complaints", headers=reader)).json()["total"]
        assert total == 2


async def test_lists_mask_the_complainant_phone_and_a_full_read_is_audited(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    created = (await complain(client, agent, target="service", text="热线等待太久")).json()
    [listed] = (await client.get("/api/v1/complaints", headers=agent)).json()["items"]
    assert listed["complainant_phone"] == "138****1234"
    assert "13800001234" not in (await client.get("/api/v1/complaints", headers=supervisor)).text

    full = (await client.get(f"/api/v1/complaints/{created['id']}", headers=agent)).json()
    assert full["complainant_phone"] == COMPLAINANT
    admin = await operator_headers(app_services, client, Role.admin, "admin1")
    log = (await client.get("/api/v1/audit", params={"action": "complaint.read"}, headers=admin)).json()
    assert [(e["username"], e["entity_id"]) for e in log["items"]] == [("agent1", str(created["id"]))]
