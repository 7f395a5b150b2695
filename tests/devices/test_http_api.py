"""The phone / app gateway: per-device HMAC signatures, replay window, validation, idempotency, storage."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from devices.http_api import signature
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.elders.models import Device
from dispatch.ingest.models import DeviceEvent
from tests.dispatch.conftest import eventually
from tests.factories import make_elder_with_device, operator_headers

PHONE = "phone-000123"


@pytest.fixture
async def phone(app_services: AppServices) -> tuple[int, str]:
    elder_id, _, secret = await make_elder_with_device(app_services, PHONE, kind="phone")
    return elder_id, secret


def sos_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "event_type": "sos",
        "time": "2026-03-02T09:00:00+08:00",
        "idempotency_key": "sos-1",
        "position": {"lon": 119.2985, "lat": 26.083, "fixed": True, "accuracy_m": 12.5},
        "battery": 64,
        "firmware": "ElderApp 2.3.1",
    }
    body.update(overrides)
    return body


def signed(
    secret: str, body: dict[str, Any] | bytes, clock: FakeClock, *, skew: int = 0, device: str = PHONE
) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int(clock.now().timestamp()) + skew)
    return {
        "content": raw,
        "headers": {
            "X-Device-Id": device,
            "X-Timestamp": timestamp,
            "X-Signature": signature(secret, timestamp, raw),
            "Content-Type": "application/json",
        },
    }


async def count_events(services: AppServices) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(DeviceEvent)) or 0)


async def test_signed_sos_is_stored_before_the_answer(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    elder_id, secret = phone
    response = await client.post("/api/v1/device-events", **signed(secret, sos_body(), clock))
    assert response.status_code == 202
    assert response.json()["duplicate"] is False
    [event_id] = response.json()["event_ids"]
    async with app_services.sessions() as session:
        event = await session.get(DeviceEvent, event_id)
        device = await session.scalar(select(Device).where(Device.imei == PHONE))
    assert event is not None
    assert device is not None
    assert (event.type, event.elder_id, event.lon, event.lat, event.fixed) == (
        "sos",
        elder_id,
        119.2985,
        26.083,
        True,
    )
    assert event.device_time is not None
    assert event.device_time.isoformat() == "2026-03-02T01:00:00+00:00"
    assert event.received_at == clock.now()
    assert event.data == {"source": "phone", "battery": 64, "accuracy_m": 12.5}
    assert device.firmware == "ElderApp 2.3.1"
    assert (device.last_seen_at, device.battery, device.last_lon, device.last_fixed) == (
        clock.now(),
        64,
        119.2985,
        True,
    )


async def test_a_retry_is_stored_once(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    _, secret = phone
    first = await client.post("/api/v1/device-events", **signed(secret, sos_body(), clock))
    clock.advance(5)
    again = await client.post("/api/v1/device-events", **signed(secret, sos_body(), clock))
    assert again.status_code == 202
    assert again.json() == {"event_ids": [], "duplicate": True}
    other = await client.post(
        "/api/v1/device-events", **signed(secret, sos_body(idempotency_key="sos-2"), clock)
    )
    assert other.json()["duplicate"] is False
    assert first.json()["event_ids"] != other.json()["event_ids"]
    assert await count_events(app_services) == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["headers"].update({"X-Signature": "0" * 64}), "bad signature"),
        (lambda r: r.update({"content": r["content"].replace(b"sos-1", b"sos-9")}), "bad signature"),
        (lambda r: r["headers"].update({"X-Device-Id": "phone-unknown"}), "unknown or disabled device"),
        (lambda r: r["headers"].pop("X-Signature"), "headers are required"),
        (lambda r: r["headers"].update({"X-Timestamp": "yesterday"}), "Unix seconds"),
    ],
)
async def test_bad_credentials_get_401_and_store_nothing(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    phone: tuple[int, str],
    mutate: Any,
    message: str,
) -> None:
    request = signed(phone[1], sos_body(), clock)
    mutate(request)
    response = await client.post("/api/v1/device-events", **request)
    assert response.status_code == 401
    assert message in response.json()["message"]
    assert await count_events(app_services) == 0


@pytest.mark.parametrize("skew", [-301, 301])
async def test_outside_the_replay_window_a_position_is_refused(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str], skew: int
) -> None:
    body = sos_body(event_type="position")
    response = await client.post("/api/v1/device-events", **signed(phone[1], body, clock, skew=skew))
    assert response.status_code == 401
    assert "replay window" in response.json()["message"]
    assert await count_events(app_services) == 0
    inside = await client.post("/api/v1/device-events", **signed(phone[1], body, clock, skew=skew // 2))
    assert inside.status_code == 202


@pytest.mark.parametrize("event_type", ["sos", "fall"])
@pytest.mark.parametrize("skew", [-86_400 * 400, -3600, 301, 86_400 * 3])
async def test_an_alarm_from_a_phone_with_a_wrong_clock_is_taken_and_the_skew_flagged(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    phone: tuple[int, str],
    event_type: str,
    skew: int,
) -> None:
    """The replay window protects signatures, not alarms: the idempotency key still refuses a replay."""
    request = signed(phone[1], sos_body(event_type=event_type), clock, skew=skew)
    response = await client.post("/api/v1/device-events", **request)
    assert response.status_code == 202
    assert (response.json()["duplicate"], response.json()["clock_skew_s"]) == (False, skew)
    [event_id] = response.json()["event_ids"]
    async with app_services.sessions() as session:
        event = await session.get(DeviceEvent, event_id)
    assert event is not None
    assert (event.type, event.data["clock_skew_s"]) == (event_type, skew)

    clock.advance(600)  # the same request captured and replayed later changes nothing
    replayed = await client.post("/api/v1/device-events", **request)
    assert (replayed.status_code, replayed.json()["event_ids"], replayed.json()["duplicate"]) == (
        202,
        [],
        True,
    )
    assert await count_events(app_services) == 1


async def test_an_sos_from_a_phone_a_year_behind_opens_a_p1_call(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    elder_id, secret = phone
    agent = await operator_headers(app_services, client, Role.agent)
    body = sos_body(time="2025-03-02T09:00:00+08:00")
    sent = await client.post("/api/v1/device-events", **signed(secret, body, clock, skew=-86_400 * 365))
    assert sent.status_code == 202

    async def opened() -> list[dict[str, Any]]:
        page = await client.get("/api/v1/calls", params={"elder_id": elder_id}, headers=agent)
        items: list[dict[str, Any]] = page.json()["items"]
        return items

    [call] = await eventually(opened)
    assert (call["priority"], call["category"], call["state"]) == ("P1", "sos", "new")


async def test_an_alarm_with_a_wrong_clock_still_needs_a_good_signature(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    request = signed(phone[1], sos_body(), clock, skew=-3600)
    request["headers"]["X-Signature"] = "0" * 64
    response = await client.post("/api/v1/device-events", **request)
    assert (response.status_code, response.json()["message"]) == (401, "bad signature")
    assert await count_events(app_services) == 0


async def test_a_body_over_the_limit_gets_413_before_it_is_read_whole(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    limit = app_services.settings.device_event_max_bytes
    padded = sos_body(firmware=None, idempotency_key="k" * 64)
    raw = json.dumps(padded).encode()
    raw = raw[:-1] + b" " * (limit + 1 - len(raw)) + b"}"  # valid JSON, one byte over
    declared = await client.post("/api/v1/device-events", **signed(phone[1], raw, clock))
    assert (declared.status_code, declared.json()["code"]) == (413, "payload_too_large")

    async def chunks() -> Any:  # no Content-Length: counted while it streams
        for start in range(0, len(raw), 4096):
            yield raw[start : start + 4096]

    request = signed(phone[1], raw, clock)
    streamed = await client.post("/api/v1/device-events", content=chunks(), headers=request["headers"])
    assert streamed.status_code == 413
    assert await count_events(app_services) == 0
    just_fits = raw[:-2] + b"}"
    assert (
        await client.post("/api/v1/device-events", **signed(phone[1], just_fits, clock))
    ).status_code == 202


async def test_a_disabled_device_is_refused(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    supervisor = await operator_headers(app_services, client, Role.supervisor)
    device = (await client.get("/api/v1/devices", params={"q": PHONE}, headers=supervisor)).json()["items"][0]
    await client.patch(f"/api/v1/devices/{device['id']}", json={"status": "disabled"}, headers=supervisor)
    response = await client.post("/api/v1/device-events", **signed(phone[1], sos_body(), clock))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (sos_body(position={"lon": 200, "lat": 26}), "less than or equal to 180"),
        (sos_body(time="2026-03-02T09:00:00"), "timezone"),
        (sos_body(event_type="teleport"), "sos"),
        (sos_body(event_type="silent"), "not sent by devices"),
        ({"event_type": "vitals", "time": "2026-03-02T01:00:00Z", "idempotency_key": "v"}, "needs vitals"),
        (
            {
                "event_type": "vitals",
                "time": "2026-03-02T01:00:00Z",
                "idempotency_key": "v",
                "vitals": {"systolic": 150},
            },
            "both systolic and diastolic",
        ),
        (
            {
                "event_type": "vitals",
                "time": "2026-03-02T01:00:00Z",
                "idempotency_key": "v",
                "vitals": {"heart_rate": 400},
            },
            "less than or equal to 250",
        ),
        (b"{not json", "JSON"),
    ],
)
async def test_invalid_bodies_get_422(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    phone: tuple[int, str],
    body: dict[str, Any] | bytes,
    message: str,
) -> None:
    response = await client.post("/api/v1/device-events", **signed(phone[1], body, clock))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert message in response.json()["message"]
    assert await count_events(app_services) == 0


async def test_vitals_and_the_event_list(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock, phone: tuple[int, str]
) -> None:
    elder_id, secret = phone
    vitals = {
        "event_type": "vitals",
        "time": "2026-03-02T01:00:00Z",
        "idempotency_key": "v1",
        "vitals": {"heart_rate": 131, "systolic": 150, "diastolic": 95, "spo2": 93, "temperature": 37.9},
    }
    await client.post("/api/v1/device-events", **signed(secret, sos_body(), clock))
    clock.advance(60)
    await client.post("/api/v1/device-events", **signed(secret, vitals, clock))
    assert (await client.get("/api/v1/device-events", params={"imei": PHONE})).status_code == 401
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    page = (await client.get("/api/v1/device-events", params={"imei": PHONE}, headers=agent)).json()
    assert page["total"] == 2
    newest, oldest = page["items"]
    assert newest["type"] == "vitals"
    assert newest["data"] == {
        "source": "phone",
        "heart_rate": 131,
        "systolic": 150,
        "diastolic": 95,
        "spo2": 93,
        "temperature": 37.9,
    }
    assert newest["position"] is None
    assert newest["received_at"] == "2026-03-02T01:01:00Z"
    assert oldest["type"] == "sos"
    assert oldest["position"] == {"lon": 119.2985, "lat": 26.083, "fixed": True}
    assert oldest["elder_id"] == elder_id
    only_sos = (
        await client.get("/api/v1/device-events", params={"elder_id": elder_id, "type": "sos"}, headers=agent)
    ).json()
    assert [e["type"] for e in only_sos["items"]] == ["sos"]
    admin = await operator_headers(app_services, client, Role.admin)
    audit = (await client.get("/api/v1/audit", params={"action": "device_event.read"}, headers=admin)).json()
    assert audit["total"] == 2
    assert audit["items"][-1]["username"] == "agent1"
