"""An agent's "notify" texts the contact (through the real twilio client to the fake Twilio), and the call's
contact ledger shows what became of each text as the carrier reports it: delivered, failed, replied."""

from __future__ import annotations

from typing import Any

import httpx

from dispatch.auth.models import Role
from tests.dispatch.conftest import OUR_NUMBER, World, eventually, texts_arrive
from tests.factories import PASSWORD, elder_payload, make_operator

SON, WORKER, DOCTOR = "+8613800000401", "+8613800000402", "+8613800000403"


async def ledger(agent: httpx.AsyncClient, call_id: int) -> dict[int, list[str]]:
    """Each contact's texts about the call, oldest first, as their states."""
    detail = (await agent.get(f"/api/v1/calls/{call_id}")).json()
    states: dict[int, list[str]] = {}
    for message in detail["contact_messages"]:
        states.setdefault(message["contact_id"], []).append(message["state"])
    return states


async def test_notify_texts_the_contact_and_the_ledger_follows_the_carrier_s_reports(world: World) -> None:
    await make_operator(world.services, "agent1", Role.agent)
    world.fake.configure(undelivered_numbers=[WORKER])
    agent = httpx.AsyncClient(base_url=world.base)
    try:
        login = await agent.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})
        assert login.status_code == 200
        contacts: list[dict[str, Any]] = [
            {"name": "王强", "kind": "relative", "relation": "儿子", "phone": SON},
            {"name": "李红", "kind": "community_worker", "relation": "助老员", "phone": WORKER},
            {"name": "赵医生", "kind": "doctor", "relation": "家庭医生", "phone": DOCTOR},
        ]
        elder = (
            await agent.post("/api/v1/elders", json=elder_payload(name="王秀兰", contacts=contacts))
        ).json()
        son, worker, doctor = (c["id"] for c in elder["contacts"])
        call = (
            await agent.post(
                "/api/v1/calls", json={"elder_id": elder["id"], "priority": "P2", "category": "fall"}
            )
        ).json()
        assert await ledger(agent, call["id"]) == {}  # a P2: nobody is told without an agent asking

        for contact_id in (son, worker):
            notified = await agent.post(f"/api/v1/calls/{call['id']}/notify", json={"contact_id": contact_id})
            assert notified.status_code == 201
            assert notified.json()["detail"]["sms_id"] > 0

        [text] = await texts_arrive(world.fake, SON)
        assert "王秀兰" in text
        assert await eventually(
            lambda: _states_are(agent, call["id"], {son: ["delivered"], worker: ["failed"]})
        )

        await world.fake.inbound(from_=SON, to=OUR_NUMBER, body="收到，马上过去")
        assert await eventually(
            lambda: _states_are(agent, call["id"], {son: ["replied"], worker: ["failed"]})
        )
        assert doctor not in await ledger(agent, call["id"])
        [row] = [
            m
            for m in (await agent.get(f"/api/v1/calls/{call['id']}")).json()["contact_messages"]
            if m["contact_id"] == worker
        ]
        assert (row["status"], row["error_code"], row["purpose"]) == (
            "undelivered",
            "30005",
            "contact_notice",
        )
    finally:
        await agent.aclose()


async def _states_are(agent: httpx.AsyncClient, call_id: int, expected: dict[int, list[str]]) -> bool:
    return await ledger(agent, call_id) == expected
