"""Calls end to end in one process: device events through the rules, the agents' actions over HTTP,
escalation on the fake clock, crash recovery and at-least-once processing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from devices.watch import codec
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.calls.models import CallEntry
from dispatch.calls.processor import CallProcessor
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Elder
from dispatch.ingest import service as ingest
from dispatch.ingest.events import EventType, IncomingEvent, Position
from dispatch.ingest.service import Submission, find_device
from simulators.watch import position_block
from tests.factories import make_elder_with_device, operator_headers, read_outbox

IMEI = "860000000000555"
WHEN = datetime(2026, 3, 2, 0, 59, tzinfo=UTC)


@pytest.fixture
async def elder_id(app_services: AppServices) -> int:
    await app_services.processor.stop()  # the tests drive processing step by step
    elder, _, _ = await make_elder_with_device(app_services, IMEI, name="林玉兰")
    return elder


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


async def store(services: AppServices, kind: EventType, key: str, **data: Any) -> int:
    """A device event stored as the gateway stores it (and queued for the rules, as the writer does)."""
    async with services.sessions() as session:
        device = await find_device(session=session, imei=IMEI)
        assert device is not None
        [result] = await ingest.store(
            session=session,
            silent_after=3,
            submissions=[
                Submission(
                    device=device,
                    message_key=key,
                    received_at=services.clock.now(),
                    events=[IncomingEvent(kind, WHEN, Position(119.2991, 26.0833, True), data)],
                )
            ],
        )
        await session.commit()
    for message in ingest.rule_work([result]):
        await services.bus.append("device-events", message)
    return result.new_event_ids[0]


async def process(services: AppServices) -> None:
    while await services.processor.consume_once(block_ms=1):
        pass


async def calls(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    page = (await client.get("/api/v1/calls", params=params, headers=headers)).json()
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_watch_sos_over_tcp_opens_a_p1_call_and_a_second_sos_joins_it(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", app_services.watch_port)
    for minute in (0, 1):
        block = position_block(WHEN.replace(minute=minute), 26.0833, 119.2991, status=1 << 16)
        writer.write(codec.encode_frame("3G", IMEI, None, ("AL," + block).encode()))
        assert await reader.readuntil(b"]") == f"[3G*{IMEI}*0002*AL]".encode()
    writer.close()
    await process(app_services)
    [call] = await calls(client, agent, open=True)
    assert (call["priority"], call["category"], call["state"], call["elder_name"]) == (
        "P1",
        "sos",
        "new",
        "林玉兰",
    )
    assert call["position"] == {"lon": 119.2991, "lat": 26.0833, "fixed": True}
    assert call["ack_deadline_at"] == "2026-03-02T01:00:30+00:00"
    detail = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()
    assert [(e["kind"], e["text"]) for e in detail["timeline"] if e["kind"] != "contact_alert"] == [
        ("opened", "SOS button"),
        ("alarm", "SOS button"),
    ]
    # Without an SMS gateway the contacts' alerts all go to the outbox at once, in call order.
    alerts = [e["detail"]["name"] for e in detail["timeline"] if e["kind"] == "contact_alert"]
    assert alerts == ["测试儿子", "测试助老员"]
    outbox = await read_outbox(client, agent)
    assert [(m["to"], m["status"]) for m in reversed(outbox)] == [
        ("+8613800000001", "outbox"),
        ("+8613800000002", "outbox"),
    ]
    assert "林玉兰" in outbox[0]["body"]
    assert "119.299100,26.083300" in outbox[0]["body"]


async def test_a_higher_priority_alarm_raises_the_open_call(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    await store(app_services, EventType.low_battery, "battery")
    await process(app_services)
    assert [(c["priority"], c["category"]) for c in await calls(client, agent)] == [("P4", "low_battery")]
    for n in range(3):  # a heart rate must stay over the limit for three readings
        await store(app_services, EventType.vitals, f"hr{n}", heart_rate=140)
    await store(app_services, EventType.fall, "fall")
    await store(app_services, EventType.heartbeat, "hb")  # not for the rules
    await process(app_services)
    [call] = await calls(client, agent)
    assert (call["priority"], call["category"]) == ("P1", "fall")
    timeline = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()["timeline"]
    assert [(e["kind"], e["detail"].get("raised_from")) for e in timeline] == [
        ("opened", None),
        ("alarm", "P4"),
        ("alarm", "P2"),
        ("contact_alert", None),  # raised to P1: the contacts are told
        ("contact_alert", None),
    ]
    assert timeline[1]["text"] == "heart_rate 140 > 120"


async def test_a_heart_rate_over_the_limit_for_three_readings_opens_a_p2_call_that_resolves_when_it_settles(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    clock = app_services.clock
    assert isinstance(clock, FakeClock)
    for n, rate in enumerate((130, 131)):
        await store(app_services, EventType.vitals, f"up{n}", heart_rate=rate)
        clock.advance(60)
    await process(app_services)
    assert await calls(client, agent) == []  # two readings over the limit prove little
    await store(app_services, EventType.vitals, "up2", heart_rate=133)
    await process(app_services)
    [call] = await calls(client, agent, open=True)
    assert (call["priority"], call["category"], call["reason"]) == ("P2", "vitals", "heart_rate 133 > 120")

    for n, rate in enumerate((118, 100, 118, 98, 96)):  # 118: back under 120 but not by the 5 bpm margin
        clock.advance(60)
        await store(app_services, EventType.vitals, f"down{n}", heart_rate=rate)
        await process(app_services)
        if n < 4:
            assert [c["state"] for c in await calls(client, agent, open=True)] == ["new"], rate
    detail = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()
    assert (detail["call"]["state"], detail["call"]["outcome"]) == ("cancelled", "condition_cleared")
    assert [(e["kind"], e["text"]) for e in detail["timeline"]][-2:] == [
        ("condition_cleared", "heart_rate 96"),
        ("state", "the condition cleared by itself"),
    ]


async def test_an_elder_set_to_alarm_on_one_reading_gets_a_call_from_one_reading(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    async with app_services.sessions() as session:
        await session.execute(
            update(Elder)
            .where(Elder.id == elder_id)
            .values(alarm_overrides={"spo2": {"raise_after_readings": 1}})
        )
        await session.commit()
    await store(app_services, EventType.vitals, "hr", heart_rate=140)  # the default still holds here
    await store(app_services, EventType.vitals, "spo2", spo2=84)
    await process(app_services)
    [call] = await calls(client, agent)
    assert (call["priority"], call["reason"]) == ("P2", "spo2 84 < 90")


async def test_a_low_battery_at_night_becomes_a_call_at_seven_in_the_morning(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int
) -> None:
    clock = app_services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(14.5 * 3600)  # 09:00 -> 23:30 in Shanghai
    await store(app_services, EventType.low_battery, "night1")
    clock.advance(3600)
    await store(app_services, EventType.low_battery, "night2")  # one waiting call is enough
    await process(app_services)
    await app_services.processor.escalate_once()
    night_shift = await operator_headers(app_services, client, Role.agent, "night")
    assert await calls(client, night_shift) == []

    clock.advance(6.5 * 3600 - 1)  # 06:59:59
    await app_services.processor.escalate_once()
    day_shift = await operator_headers(app_services, client, Role.agent, "day")
    assert await calls(client, day_shift) == []
    clock.advance(1)
    await app_services.processor.escalate_once()
    await app_services.processor.escalate_once()
    [call] = await calls(client, day_shift)
    assert (call["priority"], call["category"], call["reason"]) == (
        "P4",
        "low_battery",
        "battery low (reported 23:30, held over the quiet hours)",
    )
    [opened] = (await client.get(f"/api/v1/calls/{call['id']}", headers=day_shift)).json()["timeline"]
    assert {key: opened["detail"].get(key) for key in ("reason_code", "reason_params")} == {
        "reason_code": "battery_low",
        "reason_params": {"held_from": "23:30"},
    }


async def test_the_agent_handles_a_call_through_its_states(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    await store(app_services, EventType.sos, "sos")
    await process(app_services)
    [call] = await calls(client, agent)
    url = f"/api/v1/calls/{call['id']}"
    acked = (await client.post(f"{url}/acknowledge", headers=agent)).json()
    assert (acked["state"], acked["claimed_by_name"], acked["ack_deadline_at"]) == (
        "acknowledged",
        "agent1",
        None,
    )
    again = await client.post(f"{url}/acknowledge", headers=agent)
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert (again.json()["reason"], again.json()["params"]) == (
        "call_transition",
        {"from": "acknowledged", "to": "acknowledged"},
    )
    assert (
        await client.post(f"{url}/notes", json={"text": "女儿已在路上"}, headers=agent)
    ).status_code == 201
    for state in ("dispatched", "on_scene", "resolved"):
        clock.advance(60)
        moved = await client.post(f"{url}/transition", json={"state": state}, headers=agent)
        assert moved.json()["state"] == state
    assert (
        await client.post(f"{url}/transition", json={"state": "closed"}, headers=agent)
    ).status_code == 422
    closed = (await client.post(f"{url}/close", json={"outcome": "helped_at_home"}, headers=agent)).json()
    assert (closed["state"], closed["outcome"]) == ("closed", "helped_at_home")
    timeline = [
        e for e in (await client.get(url, headers=agent)).json()["timeline"] if e["kind"] != "contact_alert"
    ]
    assert [e["kind"] for e in timeline] == [
        "opened",
        "state",
        "note",
        "state",
        "state",
        "state",
        "state",
    ]
    assert [e["username"] for e in timeline[1:]] == ["agent1"] * 6
    await store(app_services, EventType.sos, "sos-2")  # the elder's next alarm opens a new call
    await process(app_services)
    assert [c["state"] for c in await calls(client, agent)] == [
        "closed",
        "new",
    ]  # same priority: oldest first


async def test_two_agents_cannot_work_the_same_call_unless_one_takes_over(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    other = await operator_headers(app_services, client, Role.agent, "agent2")
    await store(app_services, EventType.sos, "sos")
    await process(app_services)
    [call] = await calls(client, agent)
    assert (await client.post(f"/api/v1/calls/{call['id']}/claim", headers=agent)).status_code == 200
    refused = await client.post(f"/api/v1/calls/{call['id']}/claim", headers=other)
    assert refused.status_code == 409
    assert "agent1" in refused.json()["message"]
    taken = await client.post(f"/api/v1/calls/{call['id']}/claim", json={"take_over": True}, headers=other)
    assert taken.json()["claimed_by_name"] == "agent2"


async def test_unacknowledged_p1_escalates_to_all_agents_then_supervisors(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    subscription = await app_services.bus.subscribe("console")
    await store(app_services, EventType.fall, "fall")
    await process(app_services)
    processor = app_services.processor
    clock.advance(29)
    await processor.escalate_once()
    clock.advance(1)
    await processor.escalate_once()
    clock.advance(30)
    await processor.escalate_once()
    clock.advance(300)
    await processor.escalate_once()
    [call] = await calls(client, agent)
    assert call["escalation_level"] == 2
    timeline = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()["timeline"]
    assert [(e["kind"], e["detail"].get("level"), e["at"]) for e in timeline if e["kind"] == "escalated"] == [
        ("escalated", 1, "2026-03-02T01:00:30Z"),
        ("escalated", 2, "2026-03-02T01:01:00Z"),
    ]
    messages = []
    async with asyncio.timeout(5):
        async for message in subscription:
            if message.get("change") != "contact_alert":
                messages.append((message["type"], message.get("level")))
            if len(messages) == 3:
                break
    await subscription.close()
    assert messages == [("call", None), ("escalation", 1), ("escalation", 2)]


async def test_an_acknowledged_call_does_not_escalate(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    await store(app_services, EventType.sos, "sos")
    await process(app_services)
    [call] = await calls(client, agent)
    await client.post(f"/api/v1/calls/{call['id']}/acknowledge", headers=agent)
    clock.advance(600)
    await app_services.processor.escalate_once()
    [call] = await calls(client, agent)
    assert call["escalation_level"] == 0


async def test_escalation_fires_once_with_two_processes(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    await store(app_services, EventType.sos, "sos")
    await process(app_services)
    clock.advance(30)
    other_engine = create_engine(app_services.settings)  # the second process's own connections
    other = CallProcessor(
        create_session_factory(other_engine), app_services.bus, clock, consumer="other", p1_ack_seconds=30
    )
    try:
        await asyncio.gather(app_services.processor.escalate_once(), other.escalate_once())
    finally:
        await other_engine.dispose()
    async with app_services.sessions() as session:
        entries = list(await session.scalars(select(CallEntry).where(CallEntry.kind == "escalated")))
    assert [e.detail["level"] for e in entries] == [1]


async def test_events_stored_before_a_crash_are_processed_after_restart_once(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    # The server stored the SOS and acknowledged the watch, then died before the rules ran: the bus
    # message is gone (the in-process bus died with it), the event is in the database, unprocessed.
    async with app_services.sessions() as session:
        device = await find_device(session=session, imei=IMEI)
        assert device is not None
        await ingest.store(
            session=session,
            silent_after=3,
            submissions=[
                Submission(
                    device=device,
                    message_key="lost",
                    received_at=clock.now(),
                    events=[IncomingEvent(EventType.sos, WHEN, None, {})],
                )
            ],
        )
        await session.commit()
    assert await calls(client, agent) == []
    restarted = CallProcessor(
        app_services.sessions, app_services.bus, clock, consumer="restarted", p1_ack_seconds=30
    )
    assert await restarted.recover() == 1
    assert await restarted.recover() == 0
    assert [c["category"] for c in await calls(client, agent)] == ["sos"]


async def test_processing_twice_changes_nothing(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    first = await store(app_services, EventType.sos, "sos")
    second = await store(app_services, EventType.fall, "fall")
    await app_services.processor.process([first, second])
    await app_services.processor.process([first, second])  # a redelivery after a crash before the ack
    [call] = await calls(client, agent)
    timeline = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()["timeline"]
    # The contacts were told once, not once per delivery.
    assert [e["kind"] for e in timeline] == ["opened", "contact_alert", "contact_alert", "alarm"]


async def test_work_of_a_dead_consumer_is_swept_a_few_seconds_later(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    await store(app_services, EventType.sos, "sos")
    taken = await app_services.bus.read("device-events", "alarm-rules", "dead-process")
    assert len(taken) == 1  # ... and the process dies before handling it
    survivor = CallProcessor(
        app_services.sessions, app_services.bus, clock, consumer="survivor", p1_ack_seconds=30
    )
    assert await survivor.sweep_once() == 0  # it may still be in the other process's hands
    clock.advance(3)
    assert await survivor.sweep_once() == 1
    assert [c["category"] for c in await calls(client, agent)] == ["sos"]
    assert await survivor.sweep_once() == 0


async def test_agents_open_calls_by_hand(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    body = {"elder_id": elder_id, "priority": "P3", "category": "service_request", "reason": "想预约助浴"}
    created = await client.post("/api/v1/calls", json=body, headers=agent)
    assert created.status_code == 201
    assert (created.json()["source"], created.json()["priority"]) == ("inbound_phone", "P3")
    assert (await client.post("/api/v1/calls", json=body, headers=agent)).status_code == 409
    assert (
        await client.post("/api/v1/calls", json={**body, "priority": "P9"}, headers=agent)
    ).status_code == 422


async def test_agents_notify_contacts_and_dispatch_where_nobody_can_go(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    call = (
        await client.post(
            "/api/v1/calls", json={"elder_id": elder_id, "priority": "P2", "category": "fall"}, headers=agent
        )
    ).json()
    contacts = (await client.get(f"/api/v1/elders/{elder_id}/contacts", headers=agent)).json()
    notified = await client.post(
        f"/api/v1/calls/{call['id']}/notify", json={"contact_id": contacts[1]["id"]}, headers=agent
    )
    assert notified.status_code == 201
    detail = notified.json()["detail"]
    [text] = (await client.get("/api/v1/sms", headers=agent)).json()["items"]
    assert detail == {
        "contact_id": contacts[1]["id"],
        "name": "测试助老员",
        "relation": "助老员",
        "phone": "138****0002",
        "sms_id": text["id"],
    }
    assert (text["purpose"], text["status"]) == ("contact_notice", "outbox")
    stranger = await client.post(
        f"/api/v1/calls/{call['id']}/notify", json={"contact_id": 999999}, headers=agent
    )
    assert stranger.status_code == 404

    too_early = await client.post(
        f"/api/v1/calls/{call['id']}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent
    )
    assert too_early.status_code == 409  # a new call is acknowledged first
    await client.post(f"/api/v1/calls/{call['id']}/acknowledge", headers=agent)
    unknown = await client.post(
        f"/api/v1/calls/{call['id']}/dispatch", json={"service_type": "teleport"}, headers=agent
    )
    assert unknown.status_code == 422
    dispatched = await client.post(
        f"/api/v1/calls/{call['id']}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent
    )
    # No provider in this city: the job goes straight back to the agents, saying why.
    job = dispatched.json()
    assert (dispatched.status_code, job["state"], job["offers"]) == (201, "exhausted", [])
    assert job["reason"] == "no eligible provider (0 considered and excluded)"
    assert (job["reason_code"], job["reason_params"]) == ("no_eligible_provider", {"considered": 0})
    detail = (await client.get(f"/api/v1/calls/{call['id']}", headers=agent)).json()
    assert detail["call"]["state"] == "dispatched"
    timeline = detail["timeline"]
    assert [e["kind"] for e in timeline] == [
        "opened",
        "notify",
        "state",
        "state",
        "dispatch",
        "dispatch_failed",
    ]
    assert timeline[4]["detail"]["service_type"] == "emergency_rescue"


async def test_one_console_message_per_call_and_transaction(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    subscription = await app_services.bus.subscribe("console")
    await store(app_services, EventType.sos, "sos")
    await process(app_services)
    await store(app_services, EventType.low_battery, "battery")
    await process(app_services)
    received = []
    async with asyncio.timeout(5):
        async for message in subscription:
            received.append((message["change"], message["changes"], message["call"]["priority"]))
            if len(received) == 2:
                break
    await subscription.close()
    # Opening the call and texting both contacts is one transaction: the consoles get it once.
    assert received == [
        ("opened", ["opened", "contact_alert", "contact_alert"], "P1"),
        ("alarm", ["alarm"], "P1"),
    ]


async def test_an_event_that_always_fails_is_parked_without_blocking_the_next_one(
    app_services: AppServices, client: httpx.AsyncClient, elder_id: int, agent: dict[str, str]
) -> None:
    async with app_services.sessions() as session:  # stored data the rules choke on
        await session.execute(update(Elder).values(safe_area={"type": "Polygon", "coordinates": "bad"}))
        await session.commit()
    poison = await store(app_services, EventType.position, "poison")
    sos = await store(app_services, EventType.sos, "sos")
    await app_services.processor.process([poison, sos])
    assert [c["category"] for c in await calls(client, agent)] == ["sos"]  # the SOS did not wait
    for _ in range(4):  # the sweeper's later tries
        await app_services.processor.process([poison])
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    parked = (await client.get("/api/v1/device-events/parked", headers=supervisor)).json()
    assert [(e["id"], e["rule_attempts"]) for e in parked["items"]] == [(poison, 5)]
    assert parked["items"][0]["park_reason"]
    assert (await client.get("/api/v1/device-events/parked", headers=agent)).status_code == 403
    alerts = (await client.get("/api/v1/alerts", headers=supervisor)).json()["items"]
    assert [(a["kind"], a["audience"]) for a in alerts] == [("event_parked", "supervisors")]
    assert await app_services.processor.process([poison]) == 0  # parked: left alone
    unparked = await client.post(f"/api/v1/device-events/{poison}/unpark", headers=supervisor)
    assert (unparked.status_code, unparked.json()["rule_attempts"]) == (200, 0)


async def test_an_app_service_request_processed_by_two_processes_at_once_becomes_one_order(
    app_services: AppServices,
    client: httpx.AsyncClient,
    elder_id: int,
    agent: dict[str, str],
    clock: FakeClock,
) -> None:
    window = {"window_start": "2026-03-03T01:00:00+00:00", "window_end": "2026-03-03T03:00:00+00:00"}
    request = await store(
        app_services,
        EventType.service_request,
        "meal",
        service_request={"service_type": "meal_assistance", **window},
    )
    other = CallProcessor(app_services.sessions, app_services.bus, clock, consumer="other", p1_ack_seconds=30)
    await asyncio.gather(app_services.processor.process([request]), other.process([request]))
    orders = (await client.get("/api/v1/service-orders", headers=agent)).json()
    assert [(o["elder_id"], o["service_type"], o["source"]) for o in orders["items"]] == [
        (elder_id, "meal_assistance", "app")
    ]
