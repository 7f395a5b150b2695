"""End to end over real sockets: a watch SOS becomes a P1 call, the elder's contacts are told in call order
(a failed delivery moves to the next), the agent dispatches emergency rescue, the offers go out through the
real twilio client to the fake Twilio server, the first provider never answers, the second accepts by a
signed inbound SMS, arrives and finishes; the call's timeline has every step."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from dispatch.auth.models import Role
from simulators.watch import SimulatedWatch, WatchConfig
from tests.dispatch.conftest import OUR_NUMBER, World, eventually, texts_arrive, texts_to
from tests.factories import PASSWORD, make_elder_with_device, make_operator, provider_payload

pytestmark = pytest.mark.slow

IMEI = "860000000000777"
SON, DAUGHTER, WORKER = "+8613800000101", "+8613800000102", "+8613800000103"
NEAR, FAR = "+8613900000201", "+8613900000202"
# The watch reports a position up to several hundred metres around home: the providers cover all of it.
WIDE_AREA = {
    "type": "Polygon",
    "coordinates": [[[119.25, 26.04], [119.35, 26.04], [119.35, 26.13], [119.25, 26.13], [119.25, 26.04]]],
}
ALL_WEEK = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]


async def test_sos_to_provider_done_through_twilio(world: World) -> None:
    services, fake = world.services, world.fake
    await services.offer_processor.stop()  # the deadline is passed on the fake clock, expiry run by hand
    await make_operator(services, "agent1", Role.agent)
    await make_operator(services, "supervisor", Role.supervisor)
    contacts = [
        {"name": "儿子", "kind": "relative", "relation": "儿子", "phone": SON},
        {"name": "女儿", "kind": "relative", "relation": "女儿", "phone": DAUGHTER},
        {"name": "助老员", "kind": "community_worker", "relation": "助老员", "phone": WORKER},
    ]
    await make_elder_with_device(services, IMEI, name="林玉兰", contacts=contacts)
    fake.configure(fail_numbers=[SON])  # the son's phone is off: the daughter is next

    async with httpx.AsyncClient(base_url=world.base) as client:
        login = await client.post("/api/v1/auth/login", json={"username": "supervisor", "password": PASSWORD})
        for name, phone, lat in (("近处急救站", NEAR, 26.085), ("远处急救站", FAR, 26.090)):
            body = provider_payload(
                name=name,
                phone=phone,
                service_types=["emergency_rescue"],
                price_list=[
                    {"service_type": "emergency_rescue", "item": "出诊", "unit": "次", "price_cents": 0}
                ],
                base_location={"lon": 119.2985, "lat": lat},
                service_area=WIDE_AREA,
                working_hours=ALL_WEEK,
            )
            provider = (await client.post("/api/v1/providers", json=body)).json()
            await client.post(
                f"/api/v1/providers/{provider['id']}/status", json={"status": "active", "reason": "ok"}
            )
        assert login.status_code == 200
        await client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})

        watch = SimulatedWatch(WatchConfig(IMEI, 119.2985, 26.083), port=services.watch_port)
        await watch.connect()
        assert await watch.alarm("sos") is not None
        await watch.close()

        async def open_call() -> dict[str, Any] | None:
            items = (await client.get("/api/v1/calls", params={"open": True})).json()["items"]
            return items[0] if items else None

        call = await eventually(open_call)
        assert (call["priority"], call["elder_name"]) == ("P1", "林玉兰")
        url = f"/api/v1/calls/{call['id']}"

        # Contacts in call order: the son's SMS fails, so the daughter is told, then the community worker.
        await texts_arrive(fake, WORKER)
        assert [m.to for m in fake.messages if m.to in (SON, DAUGHTER, WORKER)] == [SON, DAUGHTER, WORKER]
        assert "林玉兰" in texts_to(fake, DAUGHTER)[0]

        await client.post(f"{url}/acknowledge")
        job = (await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"})).json()
        assert [o["provider_name"] for o in job["offers"]] == ["近处急救站"]
        await texts_arrive(fake, NEAR)

        world.clock.advance(121)  # the near provider never answers
        await services.offer_processor.expire_once()
        offer_text = (await texts_arrive(fake, FAR))[0]
        code = re.search(r"接 (\d{4})", offer_text)
        assert code is not None

        for text in (f"接 {code[1]}", f"到 {code[1]}", f"完成 {code[1]}"):
            answer = await fake.inbound(from_=FAR, to=OUR_NUMBER, body=text)
            assert answer.status_code == 200
        confirm = await texts_arrive(fake, FAR, containing="电话")
        assert "+861390591" in confirm[0]  # the elder's phone, now that the provider has the job

        detail = (await client.get(url)).json()
        assert detail["call"]["state"] == "on_scene"
        kinds = [e["kind"] for e in detail["timeline"]]
        assert [k for k in kinds if not k.startswith("contact")] == [
            "opened",
            "state",
            "state",
            "dispatch",
            "offer",
            "offer_expired",
            "offer",
            "offer_accepted",
            "provider_arrived",
            "state",
            "provider_done",
        ]
        contact_lines = [
            (e["kind"], e["detail"].get("name"))
            for e in detail["timeline"]
            if e["kind"].startswith("contact")
        ]
        assert contact_lines[:3] == [
            ("contact_alert", "儿子"),
            ("contact_failed", "儿子"),
            ("contact_alert", "女儿"),
        ]
        [job] = (await client.get(f"{url}/jobs")).json()
        assert (job["state"], [o["state"] for o in job["offers"]]) == ("completed", ["expired", "done"])
        delivered = (await client.get("/api/v1/sms", params={"status": "delivered", "limit": 100})).json()
        assert delivered["total"] >= 4
