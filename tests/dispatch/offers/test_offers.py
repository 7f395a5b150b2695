"""Dispatch through the SMS outbox (no gateway): the nearest providers get offers, declines and silence
move the job on, the first to accept gets it, and replies move the call. Fake clock for the deadlines."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import insert

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.notify.service import SmsOptions
from dispatch.offers import service as offers
from dispatch.offers.models import Offer, OfferState
from tests.factories import AREA, elder_payload, provider_payload, read_outbox

ALL_WEEK = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]
STRANGER = "+8613700000999"


async def rescue_provider(
    client: httpx.AsyncClient, supervisor: dict[str, str], name: str, phone: str, lat: float
) -> dict[str, Any]:
    body = provider_payload(
        name=name,
        phone=phone,
        service_types=["emergency_rescue"],
        price_list=[{"service_type": "emergency_rescue", "item": "出诊", "unit": "次", "price_cents": 0}],
        base_location={"lon": 119.2985, "lat": lat},
        service_area=AREA,
        working_hours=ALL_WEEK,
        capacity=3,
    )
    provider: dict[str, Any] = (await client.post("/api/v1/providers", json=body, headers=supervisor)).json()
    await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "active", "reason": "admitted"},
        headers=supervisor,
    )
    return provider


async def outbox(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Outbox messages, oldest first."""
    return list(reversed(await read_outbox(client, headers)))


async def acknowledged_fall(
    client: httpx.AsyncClient, agent: dict[str, str], **elder: Any
) -> tuple[dict[str, Any], str]:
    """A new elder's P1 fall call, acknowledged: the elder and the call's URL."""
    created: dict[str, Any] = (
        await client.post("/api/v1/elders", json=elder_payload(**elder), headers=agent)
    ).json()
    call = (
        await client.post(
            "/api/v1/calls",
            json={"elder_id": created["id"], "priority": "P1", "category": "fall"},
            headers=agent,
        )
    ).json()
    url = f"/api/v1/calls/{call['id']}"
    await client.post(f"{url}/acknowledge", headers=agent)
    return created, url


async def reply(client: httpx.AsyncClient, headers: dict[str, str], sender: str, text: str) -> dict[str, Any]:
    response = await client.post("/api/v1/sms/replies", json={"from": sender, "body": text}, headers=headers)
    assert response.status_code == 201, response.text
    outcome: dict[str, Any] = response.json()
    return outcome


async def test_a_job_cascades_through_declines_and_silence_to_the_provider_who_accepts(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    await app_services.offer_processor.stop()  # the test expires offers itself
    # Along the meridian through the elder's home one degree is 111,195 m (mean Earth radius 6,371,008.8 m).
    near = await rescue_provider(client, supervisor, "近处急救站", "+8613900000001", 26.085)
    middle = await rescue_provider(client, supervisor, "中间急救站", "+8613900000002", 26.090)
    far = await rescue_provider(client, supervisor, "远处急救站", "+8613900000003", 26.095)
    elder, url = await acknowledged_fall(client, agent, name="王秀英")

    job = (
        await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    ).json()
    assert [(r["rank"], r["provider_id"], r["distance_m"]) for r in job["ranking"]] == [
        (1, near["id"], 222),
        (2, middle["id"], 778),
        (3, far["id"], 1334),
    ]
    # An emergency goes to two providers at once.
    assert [(o["provider_id"], o["state"]) for o in job["offers"]] == [
        (near["id"], "offered"),
        (middle["id"], "offered"),
    ]
    codes = {o["provider_id"]: o["code"] for o in job["offers"]}
    sent = await outbox(client, agent)
    offers_sent = [m for m in sent if m["purpose"] == "offer"]
    assert [m["to"] for m in offers_sent] == [near["phone"], middle["phone"]]
    assert f"接 {codes[near['id']]}" in offers_sent[0]["body"]
    assert elder["phone"] not in offers_sent[0]["body"]  # the elder's phone goes only to who accepts

    assert (await reply(client, agent, near["phone"], f"拒 {codes[near['id']]}"))["detail"] == "declined"
    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert [(o["provider_id"], o["state"]) for o in job["offers"]] == [
        (near["id"], "declined"),
        (middle["id"], "offered"),
        (far["id"], "offered"),
    ]
    codes[far["id"]] = job["offers"][2]["code"]

    clock.advance(121)
    assert await app_services.offer_processor.expire_once() >= 0
    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert [o["state"] for o in job["offers"]] == ["declined", "expired", "expired"]
    assert (job["state"], job["reason"]) == ("exhausted", "none of the 3 provider(s) asked accepted in time")
    assert (job["reason_code"], job["reason_params"]) == ("nobody_accepted_in_time", {"asked": 3})


async def test_the_first_to_accept_gets_the_job_and_its_replies_move_the_call(
    client: httpx.AsyncClient,
    app_services: AppServices,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    near = await rescue_provider(client, supervisor, "近处急救站", "+8613900000001", 26.085)
    middle = await rescue_provider(client, supervisor, "中间急救站", "+8613900000002", 26.090)
    elder, url = await acknowledged_fall(client, agent, name="王秀英")
    job = (
        await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    ).json()
    code_near, code_middle = (o["code"] for o in job["offers"])
    again = await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    assert again.status_code == 409

    stranger = await reply(client, agent, STRANGER, f"接 {code_middle}")
    assert stranger == {"handled": False, "detail": "not the provider's number"}
    assert (await reply(client, agent, middle["phone"], f"Y {code_middle}"))["detail"] == "accepted"
    late = await reply(client, agent, near["phone"], f"接 {code_near}")
    assert late == {"handled": False, "detail": f"job {code_near} is no longer this provider's"}

    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert job["state"] == "assigned"
    assert [o["state"] for o in job["offers"]] == ["withdrawn", "accepted"]
    sent = await outbox(client, agent)
    by_purpose = {(m["purpose"], m["to"]): m["body"] for m in sent}
    assert code_near in by_purpose[("withdraw", near["phone"])]
    confirm = by_purpose[("confirm", middle["phone"])]
    assert elder["phone"] in confirm
    assert "119.298500,26.083000" in confirm
    # The late acceptance is told again that the job went to someone else, not that it was not understood.
    assert [m["purpose"] for m in sent if m["to"] == near["phone"]] == ["offer", "withdraw", "withdraw"]

    assert (await reply(client, agent, middle["phone"], f"到 {code_middle}"))["detail"] == "arrived"
    assert (await client.get(url, headers=agent)).json()["call"]["state"] == "on_scene"
    assert (await reply(client, agent, middle["phone"], f"完成 {code_middle}"))["detail"] == "done"
    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert (job["state"], job["offers"][1]["state"]) == ("completed", "done")

    garbage = await reply(client, agent, middle["phone"], "师傅已经到了")
    assert garbage == {"handled": False, "detail": "not understood"}
    timeline = [e["kind"] for e in (await client.get(url, headers=agent)).json()["timeline"]]
    assert timeline == [
        "opened",
        "state",
        "state",
        "dispatch",
        "offer",
        "offer",
        "offer_accepted",
        "provider_arrived",
        "state",
        "provider_done",
    ]


async def test_a_home_service_goes_to_one_provider_at_a_time(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    for name, phone, lat in (("甲助餐", "+8613900000011", 26.084), ("乙助餐", "+8613900000012", 26.086)):
        body = provider_payload(
            name=name, phone=phone, base_location={"lon": 119.2985, "lat": lat}, working_hours=ALL_WEEK
        )
        provider = (await client.post("/api/v1/providers", json=body, headers=supervisor)).json()
        await client.post(
            f"/api/v1/providers/{provider['id']}/status",
            json={"status": "active", "reason": "ok"},
            headers=supervisor,
        )
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    call = (
        await client.post(
            "/api/v1/calls",
            json={"elder_id": elder["id"], "priority": "P3", "category": "service_request"},
            headers=agent,
        )
    ).json()
    await client.post(f"/api/v1/calls/{call['id']}/acknowledge", headers=agent)
    job = (
        await client.post(
            f"/api/v1/calls/{call['id']}/dispatch", json={"service_type": "meal_assistance"}, headers=agent
        )
    ).json()
    assert [o["provider_name"] for o in job["offers"]] == ["甲助餐"]
    assert job["parallel"] == 1


async def test_two_providers_accepting_at_once_cannot_both_get_the_job(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    first = await rescue_provider(client, supervisor, "甲急救站", "+8613900000001", 26.085)
    second = await rescue_provider(client, supervisor, "乙急救站", "+8613900000002", 26.090)
    _, url = await acknowledged_fall(client, agent)
    job = (
        await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    ).json()
    codes = [o["code"] for o in job["offers"]]
    options = SmsOptions(through_gateway=False, language="zh")

    async def accept(phone: str, code: str) -> str:
        async with app_services.sessions() as session:
            outcome = await offers.handle_reply(
                session=session,
                clock=app_services.clock,
                from_number=phone,
                text=f"接 {code}",
                options=options,
            )
            await session.commit()
            return outcome.detail

    outcomes = await asyncio.gather(accept(first["phone"], codes[0]), accept(second["phone"], codes[1]))
    # Whichever wins, the other is told the job is gone (PostgreSQL runs them side by side, SQLite in turn).
    assert outcomes.count("accepted") == 1
    [lost] = [o for o in outcomes if o != "accepted"]
    assert lost in (
        "too late: the job was taken",
        f"job {codes[0]} is no longer this provider's",
        f"job {codes[1]} is no longer this provider's",
    )
    [job] = (await client.get(f"{url}/jobs", headers=agent)).json()
    assert job["state"] == "assigned"
    assert sorted(o["state"] for o in job["offers"]) == ["accepted", "withdrawn"]
    confirmations = [m for m in await outbox(client, agent) if m["purpose"] == "confirm"]
    assert len(confirmations) == 1  # only the winner learns the elder's phone


async def test_handing_a_call_to_120_records_it_and_gives_the_summary_to_read_out(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    elder = (await client.post("/api/v1/elders", json=elder_payload(name="王秀英"), headers=agent)).json()
    call = (
        await client.post(
            "/api/v1/calls",
            json={"elder_id": elder["id"], "priority": "P1", "category": "fall"},
            headers=agent,
        )
    ).json()
    response = await client.post(f"/api/v1/calls/{call['id']}/handoff-120", headers=agent)
    assert response.status_code == 201
    handoff = response.json()
    assert handoff["sms_to"] is None  # no 120 number configured: nothing texted
    summary = handoff["summary"]
    for fact in (
        "王秀英",
        "女",
        "跌倒",
        "福州市鼓楼区测试路1号101室",
        "119.298500,26.083000",
        "高血压",
        "青霉素",
        "测试儿子",
    ):
        assert fact in summary
    timeline = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()["timeline"]
    assert (timeline[-1]["kind"], timeline[-1]["text"], timeline[-1]["detail"]) == (
        "handoff_120",
        "",  # the summary holds health data: the timeline keeps none of it
        {"sms_to": None, "sms_id": None},
    )
    assert [m for m in await outbox(client, agent) if m["purpose"] == "handoff"] == []


async def test_codes_grow_to_five_digits_once_every_four_digit_code_is_live(
    client: httpx.AsyncClient, app_services: AppServices, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    await rescue_provider(client, supervisor, "甲急救站", "+8613900000001", 26.085)
    caterer = (await client.post("/api/v1/providers", json=provider_payload(), headers=supervisor)).json()
    _, url = await acknowledged_fall(client, agent)
    [first] = (
        await client.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
    ).json()["offers"]
    now = app_services.clock.now()
    job_id = (await client.get(f"{url}/jobs", headers=agent)).json()[0]["id"]
    held = [
        {
            "job_id": job_id,
            "provider_id": caterer["id"],
            "provider_name": caterer["name"],
            "provider_phone": caterer["phone"],
            "rank": 0,
            "distance_m": 0,
            "code": str(code),
            "state": OfferState.accepted,
            "offered_at": now,
            "updated_at": now,
        }
        for code in range(1000, 10000)
        if str(code) != first["code"]
    ]
    async with app_services.sessions() as session:  # accepted orders for the days ahead hold every code
        await session.execute(insert(Offer), held)
        await session.commit()
    _, second_url = await acknowledged_fall(client, agent)
    second = await client.post(
        f"{second_url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent
    )
    assert second.status_code == 201, second.text
    assert len(second.json()["offers"][0]["code"]) == 5
