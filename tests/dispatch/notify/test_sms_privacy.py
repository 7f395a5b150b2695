"""What the SMS lists and a call's timeline show of personal texts: lists mask them, the 120 hand-off is a
reference on the timeline, and reading one message whole is audited (as the health record is)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dispatch.api.app import create_app
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.notify.masking import list_body
from dispatch.notify.models import SmsPurpose
from dispatch.settings import Settings
from tests.factories import elder_payload, operator_headers

CENTRE_120 = "+8659112120"
HEALTH_FACTS = ("高血压", "青霉素", "苯磺酸氨氯地平片", "13800000001")


@pytest.fixture
async def app(db_settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """The app with a 120 centre's SMS number, so a hand-off is also texted (to the outbox)."""
    application = create_app(db_settings.model_copy(update={"handoff_sms_to": CENTRE_120}), clock=clock)
    async with application.router.lifespan_context(application):
        yield application


async def handed_to_120(client: httpx.AsyncClient, agent: dict[str, str]) -> tuple[dict[str, Any], str]:
    """A P1 fall of 王秀英 handed to 120: the call and the summary read out."""
    elder = (await client.post("/api/v1/elders", json=elder_payload(name="王秀英"), headers=agent)).json()
    call = (
        await client.post(
            "/api/v1/calls",
            json={"elder_id": elder["id"], "priority": "P1", "category": "fall"},
            headers=agent,
        )
    ).json()
    handoff = await client.post(f"/api/v1/calls/{call['id']}/handoff-120", headers=agent)
    assert handoff.status_code == 201
    summary: str = handoff.json()["summary"]
    assert all(fact in summary for fact in ("王秀英", *HEALTH_FACTS))
    return call, summary


async def audit_of(client: httpx.AsyncClient, admin: dict[str, str], action: str) -> list[tuple[str, str]]:
    log = (await client.get("/api/v1/audit", params={"action": action}, headers=admin)).json()
    return [(e["username"], e["entity_id"]) for e in log["items"]]


async def test_the_timeline_keeps_a_reference_to_the_handoff_not_the_health_data(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    agent = await operator_headers(app.state.services, client, Role.agent, "agent1")
    admin = await operator_headers(app.state.services, client, Role.admin, "admin")
    call, summary = await handed_to_120(client, agent)

    detail = await client.get(f"/api/v1/calls/{call['id']}", headers=agent)
    assert not any(fact in detail.text for fact in HEALTH_FACTS)
    [entry] = [e for e in detail.json()["timeline"] if e["kind"] == "handoff_120"]
    assert entry["text"] == ""
    assert entry["detail"]["sms_to"] == CENTRE_120
    message = await client.get(f"/api/v1/sms/{entry['detail']['sms_id']}", headers=agent)
    assert (message.json()["body"], message.json()["purpose"]) == (summary, "handoff")
    assert await audit_of(client, admin, "call.handoff_120") == [("agent1", str(call["id"]))]


async def test_sms_lists_mask_personal_texts_and_a_whole_read_is_audited(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    agent = await operator_headers(app.state.services, client, Role.agent, "agent1")
    admin = await operator_headers(app.state.services, client, Role.admin, "admin")
    _, summary = await handed_to_120(client, agent)

    for path in ("/api/v1/sms/outbox", "/api/v1/sms"):
        listed = await client.get(path, headers=agent)
        assert not any(fact in listed.text for fact in ("王秀英", *HEALTH_FACTS))
        [item] = listed.json()["items"]
        assert (item["to"], item["status"], item["body"], item["body_masked"]) == (
            CENTRE_120,
            "outbox",
            "【12349转120】…",
            True,
        )
        assert item["created_at"]
    assert await audit_of(client, admin, "sms.read") == []

    whole = (await client.get(f"/api/v1/sms/{item['id']}", headers=agent)).json()
    assert (whole["body"], whole["body_masked"]) == (summary, False)
    assert await audit_of(client, admin, "sms.read") == [("agent1", str(item["id"]))]
    assert (await client.get("/api/v1/sms/99999", headers=agent)).status_code == 404


@pytest.mark.parametrize(
    ("purpose", "body", "listed"),
    [
        (SmsPurpose.offer, "【12349派单】助餐，地点：福州市鼓楼区测试路1号101室", "【12349派单】…"),
        (
            SmsPurpose.confirm,
            "【12349】单号4821已派给贵单位：助餐，老人王秀英，电话13905910001",
            "【12349】…",
        ),
        (
            SmsPurpose.contact_alert,
            "【12349紧急提醒】您的家人王秀英于09:00发出SOS求救报警。",
            "【12349紧急提醒】…",
        ),
        (SmsPurpose.care_visit, "【12349探访】请尽快上门探访王秀英", "【12349探访】…"),
        (SmsPurpose.complaint_reply, "【12349】李女士您好", "【12349】…"),
        (SmsPurpose.handoff, "没有标签的文字", "…"),
        (SmsPurpose.withdraw, "【12349】单号4821已由其他服务商接单或已取消，无需前往，谢谢。", None),
        (SmsPurpose.help, "【12349】未能识别您的回复。请回复：接 单号（接单）", None),
        (SmsPurpose.reply, "接 4821", None),
        (
            SmsPurpose.reply,
            "老人电话是13905910001，身份证350102194005170011",
            "老人电话是139****0001，身份证350***********0011",
        ),
    ],
)
def test_what_a_list_shows_of_each_kind_of_text(purpose: SmsPurpose, body: str, listed: str | None) -> None:
    assert list_body(purpose, body) == (body if listed is None else listed)
