"""The relatives' alert chain through the real twilio client against a fake Twilio whose delivery reports
never arrive: each step has a deadline (the next contact is told when it passes, once across processes), a
late report does not take the step again, and the chain stops once the call is a false alarm."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.calls import contacts
from dispatch.calls import service as calls_service
from dispatch.calls.models import CallEntry, CallSource
from dispatch.calls.rules import CallCategory
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.notify.models import SmsMessage
from dispatch.notify.service import options_for
from dispatch.notify.worker import SmsWorker
from dispatch.settings import Settings
from simulators.fake_twilio import FakeTwilio
from tests.factories import make_elder_with_device, operator_headers

OUR_NUMBER = "+8659112349"
PUBLIC = "http://127.0.0.1:9"  # nothing listens there: the fake's delivery reports never reach us
SON, DAUGHTER, NEPHEW, WORKER = "+8613800000201", "+8613800000202", "+8613800000203", "+8613800000204"
STEP = 60


@dataclass
class Chain:
    services: AppServices
    app: FastAPI
    fake: FakeTwilio
    other: SmsWorker  # the sender of a second server process on the same database
    call_id: int


def app_for(settings: Settings, fake: FakeTwilio, clock: FakeClock) -> FastAPI:
    return create_app(
        settings.model_copy(
            update={
                "twilio_account_sid": fake.account_sid,
                "twilio_auth_token": fake.auth_token,
                "twilio_from": OUR_NUMBER,
                "twilio_base_url": fake.base_url,
                "public_base_url": PUBLIC,
                "contact_step_seconds": STEP,
                "sms_report_lost_seconds": 3600,  # no report at all here: the step deadlines are the subject
            }
        ),
        clock=clock,
    )


async def running(stack: AsyncExitStack, app: FastAPI) -> AppServices:
    """Enter the app's lifespan with its own SMS timer stopped: the tests run it by hand."""
    await stack.enter_async_context(app.router.lifespan_context(app))
    services: AppServices = app.state.services
    assert services.sms_worker is not None
    await services.sms_worker.stop()
    return services


@pytest.fixture
async def chain(db_settings: Settings, clock: FakeClock) -> AsyncIterator[Chain]:
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeTwilio(status_delay_ms=1))
        app = app_for(db_settings, fake, clock)
        services = await running(stack, app)
        other = await running(stack, app_for(db_settings, fake, clock))
        assert other.sms_worker is not None
        people = [("儿子", SON), ("女儿", DAUGHTER), ("外甥", NEPHEW)]
        elder_id, _, _ = await make_elder_with_device(
            services,
            "860000000000321",
            name="陈秀英",
            contacts=[
                *({"name": n, "kind": "relative", "relation": n, "phone": p} for n, p in people),
                {"name": "助老员", "kind": "community_worker", "relation": "助老员", "phone": WORKER},
            ],
        )
        async with unit_of_work(services.sessions) as session:
            call = await calls_service.open_call(
                session=session,
                clock=clock,
                actor=Actor.system("test"),
                elder_id=elder_id,
                priority=1,
                category=CallCategory.sos,
                source=CallSource.device_alarm,
                reason="SOS",
            )
            await contacts.alert_contacts(
                session=session, clock=clock, call=call, options=options_for(services.settings)
            )
        yield Chain(services, app, fake, other.sms_worker, call.id)


def texted(fake: FakeTwilio) -> list[str]:
    return [m.to for m in fake.messages]


async def contact_lines(services: AppServices, call_id: int) -> list[tuple[str, str]]:
    async with services.sessions() as session:
        entries = await session.scalars(
            select(CallEntry).where(CallEntry.call_id == call_id).order_by(CallEntry.id)
        )
        return [(e.kind, e.detail.get("name", "")) for e in entries if e.kind.startswith("contact")]


async def test_each_step_moves_on_without_a_report_once_and_stops_at_a_false_alarm(
    chain: Chain, clock: FakeClock
) -> None:
    services, fake, other = chain.services, chain.fake, chain.other
    worker = services.sms_worker
    assert worker is not None
    await worker.run_once()
    assert texted(fake) == [SON]

    clock.advance(STEP - 1)
    await worker.run_once()
    assert texted(fake) == [SON]  # the son's step still has a second to go
    clock.advance(1)
    await worker.run_once()
    assert texted(fake) == [SON, DAUGHTER]

    clock.advance(STEP)  # both processes' timers see the daughter's step run out: one takes it
    assert sorted([await worker.settle_overdue_reports(), await other.settle_overdue_reports()]) == [0, 1]
    await worker.run_once()
    assert texted(fake) == [SON, DAUGHTER, NEPHEW]

    await late_report(chain, SON, "delivered")  # the son's phone was on after all: noted, no step taken
    await worker.run_once()
    assert texted(fake) == [SON, DAUGHTER, NEPHEW]

    await false_alarm(chain)
    clock.advance(STEP)
    await worker.run_once()
    assert texted(fake) == [SON, DAUGHTER, NEPHEW]  # the community worker is not told
    assert await contact_lines(services, chain.call_id) == [
        ("contact_alert", "儿子"),
        ("contact_no_report", "儿子"),
        ("contact_alert", "女儿"),
        ("contact_no_report", "女儿"),
        ("contact_alert", "外甥"),
        ("contact_reached", "儿子"),
        ("contact_no_report", "外甥"),
        ("contacts_stopped", ""),
    ]
    clock.advance(10 * STEP)
    await worker.run_once()
    assert len(await contact_lines(services, chain.call_id)) == 8  # nothing left waiting


async def test_a_failed_alert_moves_on_at_once(chain: Chain, clock: FakeClock) -> None:
    services, fake = chain.services, chain.fake
    worker = services.sms_worker
    assert worker is not None
    fake.configure(fail_numbers=[SON])
    await worker.run_once()
    await late_report(chain, SON, "failed")
    await worker.run_once()
    assert texted(fake) == [SON, DAUGHTER]
    clock.advance(STEP)  # the son's step was taken by his failure: only the daughter's runs out
    await worker.run_once()
    assert texted(fake) == [SON, DAUGHTER, NEPHEW]


async def late_report(chain: Chain, to: str, status: str) -> None:
    """Twilio's signed status callback for the message to `to`, as it reaches the webhook."""
    async with chain.services.sessions() as session:
        message = await session.scalar(select(SmsMessage).where(SmsMessage.to_number == to))
    assert message is not None
    assert message.sid is not None
    path = f"/webhooks/twilio/status?sms_id={message.id}"
    form = {"MessageSid": message.sid, "MessageStatus": status}
    signature = RequestValidator(chain.fake.auth_token).compute_signature(PUBLIC + path, form)
    async with client_of(chain.app) as client:
        answer = await client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 204


async def false_alarm(chain: Chain) -> None:
    async with client_of(chain.app) as client:
        headers = await operator_headers(chain.services, client, Role.agent)
        url = f"/api/v1/calls/{chain.call_id}"
        assert (await client.post(f"{url}/acknowledge", headers=headers)).status_code == 200
        answer = await client.post(f"{url}/transition", json={"state": "false_alarm"}, headers=headers)
    assert answer.status_code == 200, answer.text


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
