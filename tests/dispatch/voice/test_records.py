"""Phone calls on record through the API: logged by hand with the caller looked up by number, masked in
lists, whole (and audited) when read, linked records checked, the caller card, and call-back tasks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch.api.state import AppServices
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.voice import callbacks
from dispatch.voice.models import CallbackState, PhoneCategory, PhoneOutcome
from tests.conftest import START
from tests.dispatch.voice.phone_calls import add_phone_call
from tests.factories import elder_payload, operator_headers


@pytest.fixture
async def agent(client: httpx.AsyncClient, app_services: AppServices) -> dict[str, str]:
    return await operator_headers(app_services, client, Role.agent, "agent1")


async def an_elder(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/elders", json=elder_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    elder: dict[str, Any] = response.json()
    return elder


async def log_call(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> httpx.Response:
    body = {"direction": "inbound", "number": "13905919999", "category": "enquiry", "outcome": "answered"}
    body.update(overrides)
    return await client.post("/api/v1/phone-calls", json=body, headers=headers)


async def audited(services: AppServices, action: str, entity_id: int) -> int:
    async with services.readers() as session:
        count = await session.scalar(
            select(func.count()).where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
        )
    return int(count or 0)


async def test_a_call_logged_by_hand_finds_the_elder_by_number(
    client: httpx.AsyncClient, agent: dict[str, str], clock: FakeClock
) -> None:
    elder = await an_elder(client, agent, phone="13905918888")

    response = await log_call(client, agent, number="0139 0591 8888", talk_seconds=125, note="问补贴")

    assert response.status_code == 201, response.text
    call = response.json()
    assert call["elder_id"] == elder["id"]
    assert call["caller_kind"] == "elder"
    assert call["by_hand"] is True
    assert call["agent"] == "agent1"
    assert call["from"] == "+8613905918888"
    assert call["state"] == "ended"
    assert call["talk_seconds"] == 125
    assert datetime.fromisoformat(call["answered_at"]) == START - timedelta(seconds=125)
    assert datetime.fromisoformat(call["ended_at"]) == START
    assert call["queued_at"] is None


async def test_a_relative_calling_is_the_contact_of_their_elder(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    elder = await an_elder(
        client,
        agent,
        contacts=[{"name": "女儿", "kind": "relative", "relation": "女儿", "phone": "13800007777"}],
    )

    call = (await log_call(client, agent, number="+8613800007777", category="home_service")).json()

    assert (call["elder_id"], call["caller_kind"]) == (elder["id"], "contact")
    assert call["contact_id"] is not None


async def test_an_unknown_number_is_logged_as_unknown(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    call = (await log_call(client, agent, direction="outbound", outcome="no_answer", talk_seconds=30)).json()

    assert (call["elder_id"], call["caller_kind"], call["to"], call["from"]) == (
        None,
        "unknown",
        "+8613905919999",
        "",
    )
    assert call["talk_seconds"] == 0  # nobody answered: no talk, whatever was typed
    assert call["answered_at"] is None


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"order_id": 999}, 404),
        ({"call_id": 999}, 404),
        ({"elder_id": 999}, 404),
        ({"complaint_id": 999}, 404),
        ({"number": "not a number"}, 422),
        ({"outcome": "maybe"}, 422),
        ({"talk_seconds": -1}, 422),
        ({"started_at": "2026-03-02T10:00:00"}, 422),  # no time zone
        ({"started_at": (START + timedelta(hours=1)).isoformat()}, 422),
    ],
)
async def test_bad_logs_are_refused_with_a_4xx(
    client: httpx.AsyncClient, agent: dict[str, str], overrides: dict[str, Any], status: int
) -> None:
    response = await log_call(client, agent, **overrides)

    assert response.status_code == status, response.text


async def test_lists_mask_numbers_and_a_read_is_whole_and_audited(
    client: httpx.AsyncClient, agent: dict[str, str], app_services: AppServices
) -> None:
    logged = (await log_call(client, agent, number="13905911234")).json()

    listed = (await client.get("/api/v1/phone-calls", headers=agent)).json()
    read = await client.get(f"/api/v1/phone-calls/{logged['id']}", headers=agent)

    assert [item["from"] for item in listed["items"]] == ["139****1234"]
    assert read.status_code == 200
    assert read.json()["from"] == "+8613905911234"
    assert await audited(app_services, "phone_call.read", logged["id"]) == 1
    assert (await client.get("/api/v1/phone-calls/999", headers=agent)).status_code == 404


async def test_lists_filter_and_page_by_id(client: httpx.AsyncClient, agent: dict[str, str]) -> None:
    ids = [(await log_call(client, agent, direction=d)).json()["id"] for d in ("inbound", "outbound") * 3]

    first = (await client.get("/api/v1/phone-calls", params={"limit": 2}, headers=agent)).json()
    second = (
        await client.get(
            "/api/v1/phone-calls", params={"limit": 2, "before": first["next_before"]}, headers=agent
        )
    ).json()
    outbound = (
        await client.get("/api/v1/phone-calls", params={"direction": "outbound"}, headers=agent)
    ).json()

    assert [i["id"] for i in first["items"]] == ids[::-1][:2]
    assert [i["id"] for i in second["items"]] == ids[::-1][2:4]
    assert [i["id"] for i in outbound["items"]] == ids[1::2][::-1]
    assert outbound["next_before"] is None
    assert (first["total"], second["total"], outbound["total"]) == (6, 6, 3)
    refused = await client.get("/api/v1/phone-calls", params={"state": "sleeping"}, headers=agent)
    assert refused.status_code == 422


async def test_the_caller_card_shows_the_elder_and_is_audited(
    client: httpx.AsyncClient, agent: dict[str, str], app_services: AppServices
) -> None:
    elder = await an_elder(client, agent, phone="13905916666", dialect="福州话")
    opened = await client.post(
        "/api/v1/calls", json={"elder_id": elder["id"], "category": "sos", "priority": "P1"}, headers=agent
    )
    assert opened.status_code == 201, opened.text
    earlier = (await log_call(client, agent, number="13905916666", category="home_service")).json()
    now = (await log_call(client, agent, number="13905916666")).json()

    response = await client.get(f"/api/v1/phone-calls/{now['id']}/caller", headers=agent)

    assert response.status_code == 200, response.text
    card = response.json()
    assert card["caller_kind"] == "elder"
    assert card["number"] == "+8613905916666"
    # Born 1940-05-17 (the factory's ID number); the clock says 2026-03-02: 85, not yet 86.
    assert {k: card["elder"][k] for k in ("id", "age", "dialect", "conditions", "allergies")} == {
        "id": elder["id"],
        "age": 85,
        "dialect": "福州话",
        "conditions": ["高血压"],
        "allergies": ["青霉素"],
    }
    assert [c["id"] for c in card["open_calls"]] == [opened.json()["id"]]
    assert {(r["kind"], r["id"]) for r in card["recent"]} == {
        ("phone_call", earlier["id"]),
        ("call", opened.json()["id"]),
    }
    assert await audited(app_services, "phone_call.caller_card", now["id"]) == 1


async def test_callbacks_put_an_open_alarm_first_then_the_oldest(
    client: httpx.AsyncClient, agent: dict[str, str], app_services: AppServices, clock: FakeClock
) -> None:
    elder = await an_elder(client, agent)
    await client.post("/api/v1/calls", json={"elder_id": elder["id"], "category": "sos"}, headers=agent)
    async with unit_of_work(app_services.sessions) as session:
        unknown = await add_phone_call(
            session, at=clock.now(), outcome=PhoneOutcome.abandoned, category=PhoneCategory.enquiry
        )
        first = await callbacks.create(session=session, clock=clock, phone_call=unknown)
        again = await callbacks.create(session=session, clock=clock, phone_call=unknown)
        clock.advance(60)
        alarmed = await add_phone_call(
            session, at=clock.now(), outcome=PhoneOutcome.abandoned, elder_id=elder["id"]
        )
        second = await callbacks.create(session=session, clock=clock, phone_call=alarmed)
        first_id, second_id = first.id, second.id
        assert again.id == first_id

    listed = (await client.get("/api/v1/callbacks", params={"state": "open"}, headers=agent)).json()

    assert [(t["id"], t["alarm_open"]) for t in listed["items"]] == [(second_id, True), (first_id, False)]
    assert listed["items"][1]["number"] == "137****0000"

    done = await client.post(f"/api/v1/callbacks/{first_id}/done", json={"note": "已回电"}, headers=agent)
    twice = await client.post(f"/api/v1/callbacks/{first_id}/done", json={}, headers=agent)
    missing = await client.post("/api/v1/callbacks/999/done", json={}, headers=agent)

    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["done_by"], done.json()["outcome_note"]) == (
        CallbackState.done,
        "agent1",
        "已回电",
    )
    assert (twice.status_code, missing.status_code) == (409, 404)
    still_open = (await client.get("/api/v1/callbacks", headers=agent)).json()
    assert [t["id"] for t in still_open["items"]] == [second_id]
