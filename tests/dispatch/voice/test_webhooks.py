"""The voice webhooks over HTTP (signed forms posted to the app, signatures computed with the library's
RequestValidator), the agents' states and dialling out. The REST side points at a closed port: whatever
the server asks of Twilio fails (as in an outage) and must not disturb what the webhooks answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Operator, Role
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.settings import Settings
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import CallbackTask, PhoneCall, PhoneCallState, PhoneCategory, Recording
from tests.dispatch.voice.conftest import VOICE
from tests.factories import elder_payload, operator_headers

BASE = str(VOICE["public_base_url"])
TOKEN = str(VOICE["twilio_auth_token"])
CALLER = "+8613700000123"


@pytest.fixture
async def voice_app(db_settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    settings = db_settings.model_copy(update={**VOICE, "twilio_base_url": "http://127.0.0.1:9"})
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def twilio(voice_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=voice_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def services_of(app: FastAPI) -> AppServices:
    services: AppServices = app.state.services
    return services


def desk_of(app: FastAPI) -> VoiceDesk:
    desk = services_of(app).voice
    assert desk is not None
    return desk


async def post_signed(
    client: httpx.AsyncClient, path: str, form: dict[str, str], *, token: str = TOKEN, **query: object
) -> httpx.Response:
    url = path + ("?" + urlencode({k: str(v) for k, v in query.items()}) if query else "")
    signature = RequestValidator(token).compute_signature(BASE + url, form)
    return await client.post(url, data=form, headers={"X-Twilio-Signature": signature})


def incoming(sid: str = "CA" + "1" * 32, caller: str = CALLER) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": str(VOICE["twilio_account_sid"]),
        "From": caller,
        "To": "+8659112349",
        "CallStatus": "ringing",
    }


async def phone_calls(app: FastAPI) -> list[PhoneCall]:
    async with unit_of_work(services_of(app).sessions) as session:
        return list((await session.scalars(select(PhoneCall).order_by(PhoneCall.id))).all())


async def test_voice_webhooks_are_off_without_telephony(client: httpx.AsyncClient) -> None:
    response = await post_signed(client, "/webhooks/twilio/voice", incoming())
    assert response.status_code == 404


async def test_a_forged_signature_is_refused_and_nothing_stored(
    twilio: httpx.AsyncClient, voice_app: FastAPI
) -> None:
    for path in (
        "/webhooks/twilio/voice",
        "/webhooks/twilio/voice/status",
        "/webhooks/twilio/voice/recording",
    ):
        response = await post_signed(twilio, path, incoming(), token="not-the-token")
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"
    assert await phone_calls(voice_app) == []


async def test_an_incoming_call_gets_the_greeting_and_menu_once(
    twilio: httpx.AsyncClient, voice_app: FastAPI
) -> None:
    first = await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    again = await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/xml")
    assert again.text == first.text
    [phone_call] = await phone_calls(voice_app)
    assert (phone_call.state, phone_call.from_number, phone_call.twilio_sid) == (
        PhoneCallState.menu,
        CALLER,
        "CA" + "1" * 32,
    )
    twiml = first.text
    assert '<Say language="zh-CN">您好，这里是12349养老服务热线。</Say>' in twiml
    assert (
        f'<Gather action="{BASE}/webhooks/twilio/voice?step=menu&amp;phone_call_id={phone_call.id}" method="POST" numDigits="1" timeout="6">'
        in twiml
    )
    # no key pressed: the emergency path comes right after the menu
    assert twiml.endswith(
        f'</Gather><Redirect method="POST">{BASE}/webhooks/twilio/voice?step=emergency&amp;phone_call_id={phone_call.id}</Redirect></Response>'
    )


async def test_no_key_is_an_emergency_and_the_caller_joins_a_recorded_conference(
    twilio: httpx.AsyncClient, voice_app: FastAPI
) -> None:
    await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    [phone_call] = await phone_calls(voice_app)
    response = await post_signed(
        twilio, "/webhooks/twilio/voice", incoming(), step="emergency", phone_call_id=phone_call.id
    )
    await desk_of(voice_app).settle()
    [queued] = await phone_calls(voice_app)
    assert (queued.state, queued.category, queued.queue_rank) == (
        PhoneCallState.queued,
        PhoneCategory.emergency,
        0,
    )
    assert f">pc-{phone_call.id}</Conference></Dial>" in response.text
    assert 'record="record-from-start"' in response.text
    assert (
        f'recordingStatusCallback="{BASE}/webhooks/twilio/voice/recording?phone_call_id={phone_call.id}"'
        in response.text
    )
    assert 'startConferenceOnEnter="false"' in response.text
    assert 'endConferenceOnExit="true"' in response.text


async def test_menu_key_two_is_home_service(twilio: httpx.AsyncClient, voice_app: FastAPI) -> None:
    await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    [phone_call] = await phone_calls(voice_app)
    await post_signed(
        twilio,
        "/webhooks/twilio/voice",
        {**incoming(), "Digits": "2"},
        step="menu",
        phone_call_id=phone_call.id,
    )
    await post_signed(
        twilio,
        "/webhooks/twilio/voice",
        {**incoming(), "Digits": "4"},
        step="menu",
        phone_call_id=phone_call.id,
    )
    [queued] = await phone_calls(voice_app)
    assert (queued.category, queued.queue_rank) == (
        PhoneCategory.home_service,
        1,
    )  # the repeat changed nothing


async def test_fields_too_long_are_refused(twilio: httpx.AsyncClient, voice_app: FastAPI) -> None:
    response = await post_signed(twilio, "/webhooks/twilio/voice", incoming(sid="CA" + "9" * 80))
    assert response.status_code == 422
    assert await phone_calls(voice_app) == []


async def test_a_recording_is_noted_once(twilio: httpx.AsyncClient, voice_app: FastAPI) -> None:
    await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    [phone_call] = await phone_calls(voice_app)
    form = {
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": "http://fake/rec.wav",
        "RecordingStatus": "completed",
        "RecordingDuration": "42",
    }
    for _ in range(2):
        response = await post_signed(
            twilio, "/webhooks/twilio/voice/recording", form, phone_call_id=phone_call.id
        )
        assert response.status_code == 204
    async with unit_of_work(services_of(voice_app).sessions) as session:
        rows = (await session.scalars(select(Recording))).all()
    assert [(r.phone_call_id, r.duration_s, r.state.value) for r in rows] == [(phone_call.id, 42, "pending")]


async def test_agents_set_their_state_and_see_the_wallboard(
    twilio: httpx.AsyncClient, voice_app: FastAPI
) -> None:
    services = services_of(voice_app)
    agent = await operator_headers(services, twilio, Role.agent, "seat1")
    admin = await operator_headers(services, twilio, Role.admin, "boss")
    response = await twilio.put("/api/v1/agents/me/state", json={"state": "ready"}, headers=agent)
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["has_phone"]) == ("ready", False)
    assert (
        await twilio.put("/api/v1/agents/me/state", json={"state": "on_call"}, headers=agent)
    ).status_code == 422
    assert (
        await twilio.put("/api/v1/agents/me/state", json={"state": "ready"}, headers=admin)
    ).status_code == 409
    listed = await twilio.get("/api/v1/agents", headers=agent)
    assert [(i["display_name"], i["state"]) for i in listed.json()["items"]] == [("seat1", "ready")]
    await twilio.post("/api/v1/auth/logout", headers=agent)
    listed = await twilio.get("/api/v1/agents", headers=admin)
    assert [i["state"] for i in listed.json()["items"]] == ["offline"]


async def test_dialling_out_needs_a_phone_and_telephony(
    twilio: httpx.AsyncClient, voice_app: FastAPI, client: httpx.AsyncClient, app_services: AppServices
) -> None:
    agent = await operator_headers(services_of(voice_app), twilio, Role.agent, "nophone")
    response = await twilio.post("/api/v1/phone-calls/dial", json={"to": "13900000001"}, headers=agent)
    assert response.status_code == 409
    assert "no phone" in response.json()["message"]

    admin = await operator_headers(services_of(voice_app), twilio, Role.admin, "admin")
    async with unit_of_work(services_of(voice_app).sessions) as session:
        operator = await session.scalar(select(Operator).where(Operator.username == "nophone"))
        assert operator is not None
    patched = await twilio.patch(
        f"/api/v1/operators/{operator.id}", json={"phone": "+86 591 0000 1111"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["phone"] == "+8659100001111"
    refused = await twilio.patch(f"/api/v1/operators/{operator.id}", json={"phone": "call me"}, headers=admin)
    assert refused.status_code == 422
    response = await twilio.post("/api/v1/phone-calls/dial", json={"to": "13900000001"}, headers=agent)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["direction"], body["to"], body["state"], body["agent"]) == (
        "outbound",
        "+8613900000001",
        "ringing",
        "nophone",
    )
    await desk_of(voice_app).settle()  # ringing the agent fails (Twilio unreachable): the call failed
    [failed] = await phone_calls(voice_app)
    assert (failed.state, failed.outcome.value if failed.outcome else None) == (
        PhoneCallState.ended,
        "failed",
    )

    plain = await operator_headers(app_services, client, Role.agent, "plain")
    response = await client.post("/api/v1/phone-calls/dial", json={"to": "13900000001"}, headers=plain)
    assert response.status_code == 409
    assert response.json()["message"] == "no telephony; log the call by hand"


async def test_only_the_agent_on_a_call_or_a_supervisor_controls_it(
    twilio: httpx.AsyncClient, voice_app: FastAPI
) -> None:
    services = services_of(voice_app)
    other = await operator_headers(services, twilio, Role.agent, "other")
    supervisor = await operator_headers(services, twilio, Role.supervisor, "sup")
    await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    [phone_call] = await phone_calls(voice_app)
    path = f"/api/v1/phone-calls/{phone_call.id}/hold"
    assert (await twilio.post(path, json={"on": True}, headers=other)).status_code == 403
    response = await twilio.post(path, json={"on": True}, headers=supervisor)
    assert response.status_code == 409  # allowed, but the call is not in progress
    assert "not in progress" in response.json()["message"]
    assert (
        await twilio.post("/api/v1/phone-calls/999/hold", json={"on": True}, headers=supervisor)
    ).status_code == 404


async def test_a_devices_sim_number_is_kept_normalised(
    client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    elder = await client.post("/api/v1/elders", json=elder_payload(), headers=agent)
    assert elder.status_code == 201, elder.text
    body = {
        "imei": "861234567890123",
        "elder_id": elder.json()["id"],
        "kind": "watch",
        "phone": "147 0000 0001",
    }
    created = await client.post("/api/v1/devices", json=body, headers=agent)
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "+8614700000001"


async def test_an_agent_leg_joins_only_while_the_offer_is_theirs(
    twilio: httpx.AsyncClient, voice_app: FastAPI
) -> None:
    await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    [phone_call] = await phone_calls(voice_app)
    async with unit_of_work(services_of(voice_app).sessions) as session:
        row = await session.get(PhoneCall, phone_call.id)
        assert row is not None
        row.state, row.offered_agent_id = PhoneCallState.ringing, None
    leg = {**incoming(sid="CA" + "2" * 32), "CallStatus": "in-progress"}
    late = await post_signed(
        twilio, "/webhooks/twilio/voice", leg, leg="agent", phone_call_id=phone_call.id, operator_id=5
    )
    assert late.text.endswith("<Response><Hangup /></Response>")


async def test_a_caller_hanging_up_in_the_queue_leaves_a_callback_task(
    twilio: httpx.AsyncClient, voice_app: FastAPI, clock: FakeClock
) -> None:
    await post_signed(twilio, "/webhooks/twilio/voice", incoming())
    [phone_call] = await phone_calls(voice_app)
    await post_signed(
        twilio, "/webhooks/twilio/voice", incoming(), step="emergency", phone_call_id=phone_call.id
    )
    clock.advance(40)
    for _ in range(2):
        gone = await post_signed(
            twilio,
            "/webhooks/twilio/voice/status",
            {**incoming(), "CallStatus": "completed", "CallDuration": "48"},
        )
        assert gone.status_code == 204
    await desk_of(voice_app).settle()
    [ended] = await phone_calls(voice_app)
    assert (ended.state, ended.outcome.value if ended.outcome else None) == (
        PhoneCallState.ended,
        "abandoned",
    )
    async with unit_of_work(services_of(voice_app).sessions) as session:
        tasks = (await session.scalars(select(CallbackTask))).all()
    assert [(t.phone_call_id, t.number, t.state.value) for t in tasks] == [(phone_call.id, CALLER, "open")]
