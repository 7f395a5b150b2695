"""End to end over real sockets, the service desk's whole loop: an agent takes a cleaning request by phone
for tomorrow 09:00-11:00; the offer goes out through the real twilio client to the fake Twilio server; the
provider accepts, arrives and finishes by signed inbound SMS; the follow-up appears; the agent records 2/5
with a complaint; the supervisor investigates, upholds it and the elder is told by SMS; the provider's
rating and quality figures show it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatch.auth.models import Role
from dispatch.localtime import at_local, local_date
from tests.dispatch.conftest import OUR_NUMBER, World, texts_arrive
from tests.factories import PASSWORD, elder_payload, make_operator, provider_payload

pytestmark = pytest.mark.slow

CLEANER = "+8613900000301"
ELDER_PHONE = "+8613905918888"
DAYTIME = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "08:00", "end": "20:00"}]


async def logged_in(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base)
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return client


async def provider_figures(supervisor: httpx.AsyncClient, provider_id: int) -> dict[str, Any]:
    items = (await supervisor.get("/api/v1/quality/providers")).json()["items"]
    [quality] = [item for item in items if item["provider_id"] == provider_id]
    return dict(quality["figures"])


async def test_a_cleaning_order_from_request_to_a_rated_and_resolved_complaint(world: World) -> None:
    services, fake, clock = world.services, world.fake, world.clock
    await make_operator(services, "agent1", Role.agent)
    await make_operator(services, "supervisor", Role.supervisor)
    agent = await logged_in(world.base, "agent1")
    supervisor = await logged_in(world.base, "supervisor")
    try:
        body = provider_payload(
            name="洁家保洁",
            phone=CLEANER,
            service_types=["cleaning"],
            price_list=[
                {"service_type": "cleaning", "item": "日常保洁2小时", "unit": "次", "price_cents": 8000}
            ],
            working_hours=DAYTIME,
        )
        provider = (await supervisor.post("/api/v1/providers", json=body)).json()
        activated = await supervisor.post(
            f"/api/v1/providers/{provider['id']}/status", json={"status": "active", "reason": "准入审核通过"}
        )
        assert activated.status_code == 200, activated.text
        before = await provider_figures(supervisor, provider["id"])
        elder = (
            await agent.post("/api/v1/elders", json=elder_payload(name="陈秀英", phone=ELDER_PHONE))
        ).json()

        # The elder rings: cleaning tomorrow between 9 and 11.
        tomorrow = local_date(clock.now()) + timedelta(days=1)
        order = (
            await agent.post(
                "/api/v1/service-orders",
                json={
                    "elder_id": elder["id"],
                    "service_type": "cleaning",
                    "window_start": at_local(tomorrow, "09:00").isoformat(),
                    "window_end": at_local(tomorrow, "11:00").isoformat(),
                    "notes": "厨房和卫生间",
                },
            )
        ).json()
        assert order["state"] == "scheduled"
        offer_text = (await texts_arrive(fake, CLEANER, "接"))[0]
        assert "03-03 09:00-11:00" in offer_text
        code = re.search(r"接 (\d{4})", offer_text)
        assert code is not None

        assert (await fake.inbound(from_=CLEANER, to=OUR_NUMBER, body=f"接 {code[1]}")).status_code == 200
        confirmation = (await texts_arrive(fake, CLEANER, "电话"))[0]
        assert ELDER_PHONE in confirmation
        url = f"/api/v1/service-orders/{order['id']}"
        accepted = (await agent.get(url)).json()
        assert (accepted["state"], accepted["provider_name"], accepted["price_cents"]) == (
            "scheduled",
            "洁家保洁",
            8000,
        )

        clock.advance(24 * 3600 + 20 * 60)  # tomorrow 09:20
        await agent.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})
        await supervisor.post("/api/v1/auth/login", json={"username": "supervisor", "password": PASSWORD})
        assert (await fake.inbound(from_=CLEANER, to=OUR_NUMBER, body=f"到 {code[1]}")).status_code == 200
        assert (await agent.get(url)).json()["state"] == "in_progress"
        clock.advance(2 * 3600)
        assert (await fake.inbound(from_=CLEANER, to=OUR_NUMBER, body=f"完成 {code[1]}")).status_code == 200
        assert (await agent.get(url)).json()["state"] == "completed"

        # The service desk's timer opens the follow-up; it is on the agent's worklist.
        await services.desk.run_once()
        [follow_up] = (
            await agent.get("/api/v1/follow-ups", params={"state": "pending", "due": "now"})
        ).json()["items"]
        assert (follow_up["order_id"], follow_up["provider_id"]) == (order["id"], provider["id"])
        recorded = (
            await agent.post(
                f"/api/v1/follow-ups/{follow_up['id']}",
                json={
                    "reached": True,
                    "satisfaction": 2,
                    "comment": "来晚了，卫生间没打扫",
                    "complaint": {"text": "卫生间没有打扫，服务人员态度差"},
                },
            )
        ).json()
        assert (recorded["state"], recorded["satisfaction"]) == ("done", 2)
        assert (await agent.get(url)).json()["state"] == "followed_up"

        complaint_url = f"/api/v1/complaints/{recorded['complaint_id']}"
        complaint = (await supervisor.get(complaint_url)).json()
        assert (complaint["state"], complaint["assigned_name"], complaint["provider_id"]) == (
            "assigned",
            "supervisor",
            provider["id"],
        )
        assert (complaint["source"], complaint["target"], complaint["order_id"]) == (
            "follow_up",
            "provider",
            order["id"],
        )
        noted = await supervisor.post(f"{complaint_url}/notes", json={"text": "已联系服务商核实：卫生间漏做"})
        assert noted.status_code == 201, noted.text
        resolved = await supervisor.post(
            f"{complaint_url}/resolve",
            json={"resolution": "服务商免费返工一次并扣减当月评分", "upheld": True, "informed_how": "sms"},
        )
        assert resolved.status_code == 200, resolved.text
        assert (resolved.json()["state"], resolved.json()["upheld"]) == ("resolved", True)
        assert await texts_arrive(fake, ELDER_PHONE, "返工")  # the elder is told the outcome

        rated = (await agent.get(f"/api/v1/providers/{provider['id']}")).json()
        assert (rated["rating"], rated["rating_count"]) == (round((4.0 * 5 + 2) / 6, 2), 1)
        after = await provider_figures(supervisor, provider["id"])
        assert (before["satisfaction"], before["upheld_complaints"], before["orders_done"]) == (None, 0, 0)
        assert (after["satisfaction"], after["upheld_complaints"], after["orders_done"]) == (2.0, 1, 1)
        assert (after["acceptance_rate"], after["completion_rate"], after["late_rate"]) == (1.0, 1.0, 0.0)
    finally:
        await agent.aclose()
        await supervisor.aclose()
