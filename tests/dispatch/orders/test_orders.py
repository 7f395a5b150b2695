"""Service orders through the SMS outbox: taken, offered in their window, accepted (with the listed price),
arrived, done, followed up; cancelled, escalated when nobody takes them, and the board's views."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.localtime import at_local, local_date
from tests.devices.test_http_api import signed
from tests.dispatch.offers.test_offers import reply
from tests.factories import elder_payload, login, make_elder_with_device, provider_payload, read_outbox

CLEANER = "+8613900000031"
OTHER_CLEANER = "+8613900000032"
DAYTIME = [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "08:00", "end": "20:00"}]


async def cleaner(
    client: httpx.AsyncClient,
    supervisor: dict[str, str],
    name: str,
    phone: str,
    lat: float = 26.084,
    **extra: Any,
) -> dict[str, Any]:
    body = provider_payload(
        name=name,
        phone=phone,
        service_types=["cleaning"],
        price_list=[{"service_type": "cleaning", "item": "日常保洁2小时", "unit": "次", "price_cents": 8000}],
        base_location={"lon": 119.2985, "lat": lat},
        working_hours=DAYTIME,
        **extra,
    )
    provider: dict[str, Any] = (await client.post("/api/v1/providers", json=body, headers=supervisor)).json()
    activated = await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "active", "reason": "ok"},
        headers=supervisor,
    )
    assert activated.status_code == 200, activated.text
    return provider


def tomorrow(clock: FakeClock, start: str = "09:00", end: str = "11:00") -> dict[str, str]:
    day = local_date(clock.now()) + timedelta(days=1)
    return {"window_start": at_local(day, start).isoformat(), "window_end": at_local(day, end).isoformat()}


async def outbox_to(client: httpx.AsyncClient, headers: dict[str, str], number: str) -> list[str]:
    return [m["body"] for m in reversed(await read_outbox(client, headers)) if m["to"] == number]


async def new_order(
    client: httpx.AsyncClient, agent: dict[str, str], clock: FakeClock, **extra: Any
) -> dict[str, Any]:
    elder = (await client.post("/api/v1/elders", json=elder_payload(name="陈秀英"), headers=agent)).json()
    body = {"elder_id": elder["id"], "service_type": "cleaning", **tomorrow(clock), "notes": "厨房", **extra}
    response = await client.post("/api/v1/service-orders", json=body, headers=agent)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_an_order_is_offered_in_its_window_accepted_at_the_listed_price_and_followed_up(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    provider = await cleaner(client, supervisor, "洁家保洁", CLEANER)
    order = await new_order(client, agent, clock)
    assert (order["state"], order["elder_name"], order["payment_method"]) == (
        "scheduled",
        "陈秀英",
        "subsidy",
    )
    assert [o["provider_name"] for o in order["job"]["offers"]] == ["洁家保洁"]
    [offer_text] = await outbox_to(client, agent, CLEANER)
    assert "保洁" in offer_text
    assert "03-03 09:00-11:00" in offer_text
    code = re.search(r"接 (\d{4})", offer_text)
    assert code is not None

    await reply(client, agent, CLEANER, f"接 {code[1]}")
    url = f"/api/v1/service-orders/{order['id']}"
    accepted = (await client.get(url, headers=agent)).json()
    assert (accepted["state"], accepted["provider_id"], accepted["provider_name"]) == (
        "scheduled",
        provider["id"],
        "洁家保洁",
    )
    assert (accepted["price_item"], accepted["price_cents"], accepted["subsidy_cents"]) == (
        "日常保洁2小时",
        8000,
        8000,
    )
    assert accepted["accepted_at"] is not None

    clock.advance(24 * 3600)
    agent = await login(client, "agent1")  # a new shift
    await reply(client, agent, CLEANER, f"到 {code[1]}")
    assert (await client.get(url, headers=agent)).json()["state"] == "in_progress"
    clock.advance(3600)
    await reply(client, agent, CLEANER, f"完成 {code[1]}")
    done = (await client.get(url, headers=agent)).json()
    assert done["state"] == "completed"
    assert [h["kind"] for h in done["history"]] == [
        "requested",
        "dispatch",
        "offer",
        "offer_accepted",
        "provider_arrived",
        "provider_done",
    ]

    report = await app_services.desk.run_once()
    assert report["follow_ups_created"] == 1
    [follow_up] = (await client.get("/api/v1/follow-ups", params={"state": "pending"}, headers=agent)).json()[
        "items"
    ]
    assert (follow_up["kind"], follow_up["order_id"], follow_up["provider_name"]) == (
        "order",
        order["id"],
        "洁家保洁",
    )
    assert follow_up["elder_phone"].count("*") == 4  # masked in the list
    assert follow_up["subject"] == "保洁 03-03 09:00"
    assert follow_up["due_at"].startswith("2026-03-05T02:00")  # 48 hours after completion
    assert (await app_services.desk.run_once())["follow_ups_created"] == 0  # once

    recorded = await client.post(
        f"/api/v1/follow-ups/{follow_up['id']}",
        json={"reached": True, "satisfaction": 5, "comment": "很干净"},
        headers=agent,
    )
    assert recorded.status_code == 200, recorded.text
    assert (await client.get(url, headers=agent)).json()["state"] == "followed_up"
    rated = (await client.get(f"/api/v1/providers/{provider['id']}", headers=agent)).json()
    assert (rated["rating"], rated["rating_count"]) == (round((4.0 * 5 + 5) / 6, 2), 1)


async def test_cancelling_withdraws_the_offer_and_the_provider_is_told(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    await cleaner(client, supervisor, "洁家保洁", CLEANER)
    order = await new_order(client, agent, clock)
    url = f"/api/v1/service-orders/{order['id']}"
    cancelled = await client.post(f"{url}/cancel", json={"reason": "家属已安排"}, headers=agent)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["state"], body["reason"], body["job"]["state"]) == ("cancelled", "家属已安排", "cancelled")
    assert body["job"]["offers"][0]["state"] == "withdrawn"
    assert len(await outbox_to(client, agent, CLEANER)) == 2  # the offer, then the withdrawal
    again = await client.post(f"{url}/cancel", json={"reason": "again"}, headers=agent)
    assert again.status_code == 409


async def test_nobody_to_take_it_sends_it_back_to_the_agents_with_an_alert(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    order = await new_order(client, agent, clock)  # no cleaning provider at all
    assert order["state"] == "requested"
    assert order["escalated_at"] is not None
    assert order["job"]["state"] == "exhausted"
    alerts = (await client.get("/api/v1/alerts", headers=agent)).json()["items"]
    assert [(a["kind"], a["detail"]["order_id"]) for a in alerts] == [("order_unaccepted", order["id"])]

    await cleaner(client, supervisor, "新来的保洁", CLEANER)
    redispatched = await client.post(f"/api/v1/service-orders/{order['id']}/dispatch", headers=agent)
    assert redispatched.status_code == 200, redispatched.text
    assert (redispatched.json()["state"], redispatched.json()["escalated_at"]) == ("scheduled", None)


async def test_an_offer_nobody_answers_escalates_well_before_the_window(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    await app_services.offer_processor.stop()
    await cleaner(client, supervisor, "慢回复保洁", CLEANER)
    order = await new_order(client, agent, clock, **tomorrow(clock, "14:00", "16:00"))
    assert (await app_services.desk.run_once())["orders_escalated"] == 0
    clock.advance((29 - 2) * 3600 - 60)  # 11:59 tomorrow: more than two hours before 14:00
    assert (await app_services.desk.run_once())["orders_escalated"] == 0
    clock.advance(120)
    assert (await app_services.desk.run_once())["orders_escalated"] == 1
    assert (await app_services.desk.run_once())["orders_escalated"] == 0  # once
    agent = await login(client, "agent1")
    escalated = (await client.get(f"/api/v1/service-orders/{order['id']}", headers=agent)).json()
    assert escalated["escalation_reason"] == "not accepted 119 min before the window"
    assert (escalated["escalation_code"], escalated["escalation_params"]) == (
        "not_accepted_before_window",
        {"minutes": 119},
    )
    assert escalated["history"][-1]["kind"] == "escalated"


async def test_the_board_shows_today_overdue_and_open_orders(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    await cleaner(client, supervisor, "洁家保洁", CLEANER)
    today = await new_order(
        client,
        agent,
        clock,
        **tomorrow(clock, "09:00", "11:00")
        | {
            "window_start": at_local(local_date(clock.now()), "10:00").isoformat(),
            "window_end": at_local(local_date(clock.now()), "12:00").isoformat(),
        },
    )
    later = await new_order(client, agent, clock)

    async def board(view: str) -> list[int]:
        page = (await client.get("/api/v1/service-orders", params={"view": view}, headers=agent)).json()
        return [o["id"] for o in page["items"]]

    assert await board("today") == [today["id"]]
    assert await board("open") == [today["id"], later["id"]]
    assert await board("overdue") == []
    clock.advance(3600 + 60)  # 10:01 and nobody has accepted today's
    assert await board("overdue") == [today["id"]]
    listed = (await client.get("/api/v1/service-orders", params={"view": "overdue"}, headers=agent)).json()
    assert listed["items"][0]["overdue"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"service_type": "emergency_rescue"}, "emergency rescue"),
        ({"window_end": "2026-03-03T00:00:00Z"}, "window_end must be after window_start"),
        ({"window_start": "2026-03-03T09:00:00"}, "timezone"),
    ],
)
async def test_bad_orders_are_refused_with_the_reason(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], change: dict[str, str], message: str
) -> None:
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    body = {"elder_id": elder["id"], "service_type": "cleaning", **tomorrow(clock), **change}
    response = await client.post("/api/v1/service-orders", json=body, headers=agent)
    assert response.status_code == 422
    assert message in response.text


async def test_orders_need_a_login_and_a_past_window_is_refused(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str]
) -> None:
    client.cookies.clear()  # the login's session cookie would authenticate too
    assert (await client.get("/api/v1/service-orders")).status_code == 401
    assert (await client.post("/api/v1/service-orders", json={})).status_code == 401
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    past = {
        "elder_id": elder["id"],
        "service_type": "cleaning",
        "window_start": (clock.now() - timedelta(hours=3)).isoformat(),
        "window_end": (clock.now() - timedelta(hours=1)).isoformat(),
    }
    response = await client.post("/api/v1/service-orders", json=past, headers=agent)
    assert response.status_code == 422
    assert (response.json()["reason"], response.json()["message"]) == (
        "window_over",
        "the requested window is already over",
    )
    missing = await client.post("/api/v1/service-orders", json={**past, "elder_id": 999999}, headers=agent)
    assert missing.status_code == 404


async def test_an_elder_asks_for_a_service_in_the_app_and_the_desk_dispatches_it(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    await cleaner(client, supervisor, "洁家保洁", CLEANER)
    elder_id, _, secret = await make_elder_with_device(
        app_services, "phone-000777", kind="phone", name="林阿婆"
    )
    event = {
        "event_type": "service_request",
        "time": clock.now().isoformat(),
        "idempotency_key": "request-1",
        "service_request": {"service_type": "cleaning", **tomorrow(clock), "notes": "擦窗户"},
    }
    sent = await client.post("/api/v1/device-events", **signed(secret, event, clock, device="phone-000777"))
    assert sent.status_code == 202, sent.text

    async def app_orders() -> list[dict[str, Any]]:
        page = (
            await client.get("/api/v1/service-orders", params={"elder_id": elder_id}, headers=agent)
        ).json()
        return list(page["items"])

    async with asyncio.timeout(5):
        while not (orders := await app_orders()):  # noqa: ASYNC110 - the rules consumer runs in the background
            await asyncio.sleep(0.02)
    [order] = orders
    assert (order["source"], order["state"], order["notes"], order["created_by"]) == (
        "app",
        "requested",
        "擦窗户",
        "elder-app",
    )
    assert (await app_services.desk.run_once())["orders_dispatched"] == 1
    assert (await client.get(f"/api/v1/service-orders/{order['id']}", headers=agent)).json()[
        "state"
    ] == "scheduled"
    assert "03-03 09:00-11:00" in (await outbox_to(client, agent, CLEANER))[0]
    assert (await app_services.desk.run_once())["orders_dispatched"] == 0


async def test_an_app_request_without_its_details_is_refused(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    _, _, secret = await make_elder_with_device(app_services, "phone-000778", kind="phone")
    event = {"event_type": "service_request", "time": clock.now().isoformat(), "idempotency_key": "request-2"}
    refused = await client.post(
        "/api/v1/device-events", **signed(secret, event, clock, device="phone-000778")
    )
    assert refused.status_code == 422
    assert "service_request goes with" in refused.text


async def test_a_provider_who_never_came_fails_the_order_and_its_completion_rate(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    provider = await cleaner(client, supervisor, "失约保洁", CLEANER)
    order = await new_order(client, agent, clock)
    code = re.search(r"接 (\d{4})", (await outbox_to(client, agent, CLEANER))[0])
    assert code is not None
    await reply(client, agent, CLEANER, f"接 {code[1]}")
    failed = await client.post(
        f"/api/v1/service-orders/{order['id']}/fail", json={"reason": "服务商未上门"}, headers=agent
    )
    assert failed.status_code == 200, failed.text
    assert (failed.json()["state"], failed.json()["reason"]) == ("failed", "服务商未上门")
    assert failed.json()["job"]["offers"][0]["state"] == "withdrawn"
    assert f"单号{code[1]}已由其他服务商接单或已取消" in (await outbox_to(client, agent, CLEANER))[-1]
    quality = (await client.get("/api/v1/quality/providers", headers=supervisor)).json()["items"]
    [figures] = [q["figures"] for q in quality if q["provider_id"] == provider["id"]]
    assert (figures["orders_failed"], figures["completion_rate"]) == (1, 0.0)


async def test_a_same_day_order_gets_its_offers_a_chance_before_it_escalates(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    await app_services.offer_processor.stop()
    await cleaner(client, supervisor, "慢回复保洁", CLEANER)
    today = local_date(clock.now())
    window = {
        "window_start": at_local(today, "10:00").isoformat(),
        "window_end": at_local(today, "12:00").isoformat(),
    }
    await new_order(client, agent, clock, **window)  # taken at 09:00 for 10:00: already within two hours
    assert (await app_services.desk.run_once())["orders_escalated"] == 0
    clock.advance(10 * 60)
    assert (await app_services.desk.run_once())["orders_escalated"] == 1


async def test_a_severely_disabled_elder_s_nursing_goes_only_to_a_qualified_provider(
    client: httpx.AsyncClient, clock: FakeClock, agent: dict[str, str], supervisor: dict[str, str]
) -> None:
    async def nursing_provider(name: str, phone: str, lat: float, qualifications: list[str]) -> int:
        body = provider_payload(
            name=name,
            phone=phone,
            service_types=["nursing"],
            qualifications=qualifications,
            price_list=[
                {"service_type": "nursing", "item": "上门护理1小时", "unit": "次", "price_cents": 9000}
            ],
            base_location={"lon": 119.2985, "lat": lat},
            working_hours=DAYTIME,
        )
        provider = (await client.post("/api/v1/providers", json=body, headers=supervisor)).json()
        status = {"status": "active", "reason": "ok"}
        assert (
            await client.post(f"/api/v1/providers/{provider['id']}/status", json=status, headers=supervisor)
        ).status_code == 200
        return int(provider["id"])

    near = await nursing_provider("近处家政", CLEANER, 26.083, ["健康证"])
    qualified = await nursing_provider("持证护理站", OTHER_CLEANER, 26.09, ["养老护理员证"])
    payload = elder_payload(name="林桂英")
    payload["health"]["self_care_ability"] = 3
    elder = (await client.post("/api/v1/elders", json=payload, headers=agent)).json()
    body = {"elder_id": elder["id"], "service_type": "nursing", **tomorrow(clock)}
    order = (await client.post("/api/v1/service-orders", json=body, headers=agent)).json()
    job = order["job"]
    assert [r["provider_id"] for r in job["ranking"]] == [qualified]
    assert [(e["provider_id"], e["reason"]) for e in job["exclusions"]] == [(near, "unqualified")]
