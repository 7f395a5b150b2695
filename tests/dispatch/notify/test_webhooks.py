"""Twilio's webhooks: on only with an auth token, never without a valid signature, idempotent on retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from dispatch.api.app import create_app
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory
from dispatch.notify import service as sms
from dispatch.notify.models import SmsMessage, SmsPurpose, SmsStatus
from dispatch.settings import Settings
from tests.factories import PASSWORD, make_operator

TOKEN = "test-auth-token"
BASE = "https://dispatch.example.cn"
STRANGER = "+8613700000999"


@pytest.fixture
async def signed_app(db_settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """Webhooks enabled (a token), sending still through the outbox (no SID or sender number)."""
    settings = db_settings.model_copy(update={"twilio_auth_token": TOKEN, "public_base_url": BASE})
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def twilio(signed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=signed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def signed(path: str, form: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(BASE + path, form)}


def inbound(body: str, sid: str = "SM" + "1" * 32, sender: str = STRANGER) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+8659112349",
        "Body": body,
    }


async def messages(client: httpx.AsyncClient, signed_app: FastAPI) -> list[dict[str, object]]:
    await make_operator(signed_app.state.services, "agent1", Role.agent)
    await client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD})
    items: list[dict[str, object]] = (await client.get("/api/v1/sms")).json()["items"]
    return items


async def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(
    twilio: httpx.AsyncClient, signed_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    form = inbound("接 1234")
    wrong_key = await twilio.post(
        "/webhooks/twilio/sms", data=form, headers=signed("/webhooks/twilio/sms", form, "x")
    )
    unsigned = await twilio.post("/webhooks/twilio/sms", data=form)
    tampered = await twilio.post(
        "/webhooks/twilio/sms",
        data={**form, "Body": "完成 1234"},
        headers=signed("/webhooks/twilio/sms", form),
    )
    status_form = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "failed", "ErrorCode": "30003"}
    bad_status = await twilio.post(
        "/webhooks/twilio/status", data=status_form, headers={"X-Twilio-Signature": "AAAA"}
    )
    assert [r.status_code for r in (wrong_key, unsigned, tampered, bad_status)] == [403, 403, 403, 403]
    assert wrong_key.json()["code"] == "forbidden"
    assert "bad signature" in caplog.text
    assert await messages(twilio, signed_app) == []


async def test_a_signed_message_is_taken_once_and_an_unreadable_one_gets_help(
    twilio: httpx.AsyncClient, signed_app: FastAPI
) -> None:
    form = inbound("你好")
    for _ in range(2):  # Twilio retries a webhook when it got no answer in time
        response = await twilio.post(
            "/webhooks/twilio/sms", data=form, headers=signed("/webhooks/twilio/sms", form)
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        assert "<Response>" in response.text
    unknown_code = inbound("接 1234", sid="SM" + "3" * 32)
    await twilio.post(
        "/webhooks/twilio/sms", data=unknown_code, headers=signed("/webhooks/twilio/sms", unknown_code)
    )
    stored = await messages(twilio, signed_app)
    assert [
        (m["direction"], m["purpose"], m["body"] if m["direction"] == "inbound" else m["to"]) for m in stored
    ] == [
        ("outbound", "help", STRANGER),
        ("inbound", "reply", "接 1234"),
        ("outbound", "help", STRANGER),
        ("inbound", "reply", "你好"),
    ]
    assert "接 单号" in str(stored[0]["body"])


async def test_without_an_auth_token_the_webhooks_are_not_there(client: httpx.AsyncClient) -> None:
    form = inbound("接 1234")
    response = await client.post(
        "/webhooks/twilio/sms", data=form, headers=signed("/webhooks/twilio/sms", form)
    )
    assert response.status_code == 404
    assert (await client.post("/webhooks/twilio/status", data={})).status_code == 404


async def test_a_delivery_report_that_overtakes_the_senders_note_of_the_sid_still_lands(
    twilio: httpx.AsyncClient, signed_app: FastAPI
) -> None:
    form = inbound("你好")
    await twilio.post("/webhooks/twilio/sms", data=form, headers=signed("/webhooks/twilio/sms", form))
    [help_text, _] = await messages(twilio, signed_app)
    path = f"/webhooks/twilio/status?sms_id={help_text['id']}"
    report = {"MessageSid": "SM" + "4" * 32, "MessageStatus": "delivered"}
    for status in ("delivered", "sent"):  # a late "sent" does not take it back
        report["MessageStatus"] = status
        response = await twilio.post(path, data=report, headers=signed(path, report))
        assert response.status_code == 204
    [stored, _] = (await twilio.get("/api/v1/sms")).json()["items"]
    assert (stored["id"], stored["status"]) == (help_text["id"], "delivered")


async def test_a_final_status_is_never_replaced_by_a_late_report(
    twilio: httpx.AsyncClient, signed_app: FastAPI
) -> None:
    form = inbound("你好")
    await twilio.post("/webhooks/twilio/sms", data=form, headers=signed("/webhooks/twilio/sms", form))
    [help_text, _] = await messages(twilio, signed_app)
    path = f"/webhooks/twilio/status?sms_id={help_text['id']}"
    sid = "SM" + "5" * 32
    for status, code in (("delivered", ""), ("undelivered", "30005"), ("failed", "30003"), ("sent", "")):
        report = {"MessageSid": sid, "MessageStatus": status, **({"ErrorCode": code} if code else {})}
        response = await twilio.post(path, data=report, headers=signed(path, report))
        assert response.status_code == 204
    [stored, _] = (await twilio.get("/api/v1/sms")).json()["items"]
    assert (stored["status"], stored["error_code"]) == ("delivered", None)


async def test_crossing_reports_from_two_processes_leave_the_final_status(pg_db_settings: Settings) -> None:
    """On PostgreSQL, where two writers can cross (SQLite has one)."""
    clock = FakeClock()
    engine = create_engine(pg_db_settings)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:
            message = await sms.queue(
                session=session,
                clock=clock,
                to=STRANGER,
                body="hi",
                purpose=SmsPurpose.help,
                through_gateway=True,
            )
            await session.flush()
            await sms.note_sent(session=session, clock=clock, sms_id=message.id, sid="SM" + "6" * 32)
            await session.commit()
        async with sessions() as first, sessions() as second:
            delivered = await sms.record_status(
                session=first, clock=clock, sid="SM" + "6" * 32, status=SmsStatus.delivered, error_code=None
            )
            late = asyncio.create_task(
                sms.record_status(
                    session=second, clock=clock, sid="SM" + "6" * 32, status=SmsStatus.sent, error_code=None
                )
            )
            await waiting_for_a_lock(engine)  # the late report is held by the first one's row lock
            await first.commit()
            assert await late is None
            await second.commit()
        async with sessions() as session:
            stored = await session.get(SmsMessage, message.id)
        assert delivered is not None
        assert stored is not None
        assert stored.status == SmsStatus.delivered
    finally:
        await engine.dispose()


async def test_a_failure_report_that_overtakes_the_senders_note_keeps_its_error_code(
    db_settings: Settings,
) -> None:
    clock = FakeClock()
    engine = create_engine(db_settings)
    sessions = create_session_factory(engine)
    sid = "SM" + "7" * 32
    try:
        async with sessions() as session:
            message = await sms.queue(
                session=session,
                clock=clock,
                to=STRANGER,
                body="hi",
                purpose=SmsPurpose.help,
                through_gateway=True,
            )
            await session.commit()
            [claimed] = await sms.claim_due(session=session, clock=clock, stale_before=clock.now(), limit=1)
            await session.commit()
        async with sessions() as session:  # the carrier's report lands before the sender notes the sid
            await sms.record_status(
                session=session,
                clock=clock,
                sid=sid,
                status=SmsStatus.undelivered,
                error_code="30005",
                sms_id=claimed.id,
            )
            await session.commit()
        async with sessions() as session:
            await sms.note_sent(session=session, clock=clock, sms_id=claimed.id, sid=sid)
            await session.commit()
        async with sessions() as session:
            stored = await session.get(SmsMessage, message.id)
        assert stored is not None
        assert (stored.status, stored.error_code) == (SmsStatus.undelivered, "30005")
    finally:
        await engine.dispose()


async def waiting_for_a_lock(engine: AsyncEngine) -> None:
    async with asyncio.timeout(5), engine.connect() as connection:
        waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
        while not await connection.scalar(waiting):  # noqa: ASYNC110 - polling another connection's state
            await asyncio.sleep(0.01)


async def test_signed_fields_that_do_not_fit_are_refused_not_a_500(
    twilio: httpx.AsyncClient, signed_app: FastAPI
) -> None:
    """Found by fuzzing: a From past 20 characters or a long ErrorCode broke PostgreSQL's insert (500), and
    an `sms_id` of `²` (a digit to `isdigit`, not to `int`) or past the id range broke both databases."""
    too_long = [
        ("/webhooks/twilio/sms", inbound("你好", sender="+86" + "1" * 30)),
        ("/webhooks/twilio/sms", inbound("你好", sid="SM" + "5" * 80)),
        (
            "/webhooks/twilio/status",
            {"MessageSid": "SM" + "6" * 32, "MessageStatus": "failed", "ErrorCode": "9" * 40},
        ),
    ]
    for path, form in too_long:
        response = await twilio.post(path, data=form, headers=signed(path, form))
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), form
    report = {"MessageSid": "SM" + "7" * 32, "MessageStatus": "delivered"}
    for sms_id in ("²", str(2**31), str(2**64)):  # names no message: ignored like any unknown report
        path = f"/webhooks/twilio/status?{urlencode({'sms_id': sms_id})}"
        response = await twilio.post(path, data=report, headers=signed(path, report))
        assert response.status_code == 204, sms_id
    assert await messages(twilio, signed_app) == []
