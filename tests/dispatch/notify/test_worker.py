"""The SMS sender through the real twilio client against the fake Twilio: temporary refusals (429, 5xx) are
retried with backoff within each purpose's budget, honouring Retry-After; a refused number fails at once
with its reason; retries are stored, so they survive a restart and are sent once across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.notify import service
from dispatch.notify.models import SmsMessage, SmsPurpose, SmsStatus
from dispatch.notify.sender import Sent, SmsSender, TwilioSender
from dispatch.notify.worker import SmsWorker
from dispatch.settings import Settings
from simulators.fake_twilio import FakeTwilio
from tests.factories import operator_headers

OUR_NUMBER = "+8659112349"
HANDSET = "+8613800138000"


@dataclass
class Gateway:
    """The app (its own sender stopped: the tests run senders by hand) and the fake Twilio behind it."""

    services: AppServices
    app: FastAPI
    fake: FakeTwilio
    failed: list[tuple[int, SmsStatus]] = field(default_factory=list)

    def sender(self) -> TwilioSender:
        return TwilioSender(
            account_sid=self.fake.account_sid,
            auth_token=self.fake.auth_token,
            sender=OUR_NUMBER,
            base_url=self.fake.base_url,
        )

    def worker(self, services: AppServices | None = None) -> SmsWorker:
        """A sender as a process has one, with the jitter fixed at its lowest (half the backoff)."""
        services = services or self.services

        async def failed(_session: AsyncSession, message: SmsMessage) -> None:
            self.failed.append((message.id, message.status))

        return SmsWorker(
            services.sessions,
            services.bus,
            services.clock,
            self.sender(),
            status_callback_url=None,
            on_settled=failed,
            jitter=lambda: 0.0,
        )


@pytest.fixture
async def gateway(db_settings: Settings, clock: FakeClock) -> AsyncIterator[Gateway]:
    async with FakeTwilio(status_delay_ms=1) as fake:
        settings = db_settings.model_copy(
            update={
                "twilio_account_sid": fake.account_sid,
                "twilio_auth_token": fake.auth_token,
                "twilio_from": OUR_NUMBER,
                "twilio_base_url": fake.base_url,
                "public_base_url": "http://127.0.0.1:9",  # no delivery reports come back
            }
        )
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            services: AppServices = app.state.services
            assert services.sms_worker is not None
            await services.sms_worker.stop()
            yield Gateway(services, app, fake)


async def queue(services: AppServices, purpose: SmsPurpose = SmsPurpose.help, to: str = HANDSET) -> int:
    async with unit_of_work(services.sessions) as session:
        message = await service.queue(
            session=session, clock=services.clock, to=to, body="您好", purpose=purpose, through_gateway=True
        )
        await session.flush()
        return message.id


async def stored(services: AppServices, sms_id: int) -> SmsMessage:
    async with services.sessions() as session:
        message = await session.get(SmsMessage, sms_id)
        assert message is not None
        return message


async def test_a_server_error_is_retried_after_a_growing_backoff_not_at_once(
    gateway: Gateway, clock: FakeClock
) -> None:
    services, fake, worker = gateway.services, gateway.fake, gateway.worker()
    sms_id = await queue(services)
    fake.fail(500, count=2)

    assert await worker.send_pending() == 0
    assert await worker.send_pending() == 0  # not hammered again at once
    assert fake.state.refused_total == 1
    first = await stored(services, sms_id)
    assert (first.status, first.attempts, first.error_code) == (SmsStatus.pending, 1, "20500")
    assert first.next_attempt_at == clock.now() + timedelta(seconds=1)  # half of 2 s: the jitter's floor

    clock.advance(1)
    assert await worker.send_pending() == 0
    second = await stored(services, sms_id)
    assert second.next_attempt_at == clock.now() + timedelta(seconds=2)  # the backoff doubles

    clock.advance(2)
    assert await worker.send_pending() == 1
    sent = await stored(services, sms_id)
    assert (sent.status, sent.attempts, sent.error_code, sent.next_attempt_at) == (
        SmsStatus.queued,
        3,
        None,
        None,
    )
    assert [(m.to, m.body) for m in fake.messages] == [(HANDSET, "您好")]
    assert gateway.failed == []


async def test_a_429_waits_as_long_as_retry_after_asks(gateway: Gateway, clock: FakeClock) -> None:
    services, fake, worker = gateway.services, gateway.fake, gateway.worker()
    sms_id = await queue(services)
    fake.fail(429, count=1, retry_after=30)
    await worker.send_pending()
    waiting = await stored(services, sms_id)
    assert (waiting.status, waiting.error_code) == (SmsStatus.pending, "20429")
    assert waiting.next_attempt_at == clock.now() + timedelta(seconds=30)
    clock.advance(29)
    assert await worker.send_pending() == 0
    clock.advance(1)
    assert await worker.send_pending() == 1
    assert fake.state.refused_total == 1


async def test_a_refused_number_fails_at_once_visibly_and_tells_the_domain(gateway: Gateway) -> None:
    services, fake, worker = gateway.services, gateway.fake, gateway.worker()
    sms_id = await queue(services, SmsPurpose.offer, to="13800138000")  # not E.164: Twilio's 21211
    assert await worker.send_pending() == 0
    assert await worker.send_pending() == 0
    failed = await stored(services, sms_id)
    assert (failed.status, failed.attempts, failed.error_code) == (SmsStatus.failed, 1, "21211")
    assert failed.error_message == "HTTP 400: Invalid 'To' Phone Number: 13800138000"
    assert gateway.failed == [(sms_id, SmsStatus.failed)]  # what moves an offer on to the next provider
    assert fake.messages == []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.app), base_url="http://testserver"
    ) as client:
        headers = await operator_headers(services, client, Role.agent)
        [shown] = (await client.get("/api/v1/sms", params={"status": "failed"}, headers=headers)).json()[
            "items"
        ]
    assert (shown["error_code"], shown["error_message"], shown["attempts"]) == (
        "21211",
        "HTTP 400: Invalid 'To' Phone Number: 13800138000",
        1,
    )


async def test_an_offer_gives_up_sooner_than_a_care_visit_text(gateway: Gateway, clock: FakeClock) -> None:
    services, fake, worker = gateway.services, gateway.fake, gateway.worker()
    offer = await queue(services, SmsPurpose.offer)
    visit = await queue(services, SmsPurpose.care_visit)
    fake.fail(503)  # down until told otherwise
    for _ in range(14):  # 70 seconds of a gateway that answers 503
        await worker.send_pending()
        clock.advance(5)
    given_up, still_trying = await stored(services, offer), await stored(services, visit)
    assert given_up.status == SmsStatus.failed
    assert given_up.error_code == "20503"
    assert given_up.error_message is not None
    assert given_up.error_message.startswith(f"gave up after {given_up.attempts} attempt(s): HTTP 503")
    assert 4 <= given_up.attempts <= 8  # backoff, not one attempt per pass
    assert gateway.failed == [(offer, SmsStatus.failed)]
    assert still_trying.status == SmsStatus.pending
    assert still_trying.next_attempt_at is not None
    assert still_trying.next_attempt_at > clock.now() - timedelta(seconds=5)

    fake.fail(None)
    clock.advance(120)
    assert await worker.send_pending() == 1
    assert [m.to for m in fake.messages] == [HANDSET]  # the care visit, the offer stays failed


async def test_a_retry_is_stored_so_a_restarted_process_sends_it(gateway: Gateway, clock: FakeClock) -> None:
    services, fake = gateway.services, gateway.fake
    sms_id = await queue(services)
    fake.fail(500, count=1)
    await gateway.worker().send_pending()
    engine = create_engine(services.settings)  # another process, started after the first one died
    try:
        restarted = AppServices(**{**vars(services), "sessions": create_session_factory(engine)})
        worker = gateway.worker(restarted)
        assert await worker.send_pending() == 0  # still backing off
        clock.advance(1)
        assert await worker.send_pending() == 1
    finally:
        await engine.dispose()
    assert (await stored(services, sms_id)).status == SmsStatus.queued
    assert len(fake.messages) == 1


async def test_two_processes_send_due_retries_once_each(gateway: Gateway, clock: FakeClock) -> None:
    """More than one claimed batch: the two senders share the queue, and nothing goes out twice."""
    services, fake = gateway.services, gateway.fake
    ids = [await queue(services) for _ in range(20)]
    fake.fail(500, count=20)
    await gateway.worker().send_pending()
    clock.advance(1)
    engine = create_engine(services.settings)
    try:
        other = AppServices(**{**vars(services), "sessions": create_session_factory(engine)})
        sent = await asyncio.gather(gateway.worker().send_pending(), gateway.worker(other).send_pending())
    finally:
        await engine.dispose()
    assert sum(sent) == 20
    assert len(fake.messages) == 20
    assert {(await stored(services, sms_id)).status for sms_id in ids} == {SmsStatus.queued}


async def test_a_lost_delivery_report_is_fetched_from_the_gateway(gateway: Gateway, clock: FakeClock) -> None:
    """Twilio does not retry a status callback our server failed to take: the message would stay "queued"."""
    sms_id = await queue(gateway.services, purpose=SmsPurpose.contact_alert)
    worker = gateway.worker()
    await worker.send_pending()
    await gateway.fake.wait_for_messages(to=HANDSET)
    await asyncio.sleep(0.05)  # the fake moves it to delivered (its callback has nowhere to go)
    assert (await stored(gateway.services, sms_id)).status == SmsStatus.queued
    assert await worker.ask_for_lost_reports() == 0  # not yet: reports may still come
    clock.advance(121)
    assert await worker.ask_for_lost_reports() == 1
    assert (await stored(gateway.services, sms_id)).status == SmsStatus.delivered
    assert gateway.failed == [(sms_id, SmsStatus.delivered)]  # the settled-message hook ran
    assert await worker.ask_for_lost_reports() == 0


class SlowStatusChecks:
    """The real sender, except that asking for a message's status hangs until released."""

    def __init__(self, sender: SmsSender) -> None:
        self._sender = sender
        self.asking = asyncio.Event()
        self.release = asyncio.Event()
        self.sent: list[str] = []
        self.sent_one = asyncio.Event()

    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        result = await self._sender.send(to=to, body=body, status_callback=status_callback)
        self.sent.append(to)
        self.sent_one.set()
        return result

    async def fetch(self, sid: str) -> Sent:
        self.asking.set()
        await self.release.wait()
        return await self._sender.fetch(sid)


async def test_a_hanging_status_check_does_not_hold_up_new_messages(
    gateway: Gateway, clock: FakeClock
) -> None:
    services = gateway.services
    await queue(services, purpose=SmsPurpose.contact_alert)
    first = gateway.worker()
    await first.send_pending()
    clock.advance(121)  # its report is lost: the worker will ask the gateway
    slow = SlowStatusChecks(gateway.sender())
    worker = SmsWorker(
        services.sessions, services.bus, clock, slow, status_callback_url=None, on_settled=nothing
    )
    worker.start()
    try:
        await asyncio.wait_for(slow.asking.wait(), 10)
        await queue(services, purpose=SmsPurpose.offer, to="+8613900139000")
        await asyncio.wait_for(slow.sent_one.wait(), 10)
        assert slow.sent == ["+8613900139000"]
    finally:
        slow.release.set()
        await worker.stop()


async def nothing(_session: AsyncSession, _message: SmsMessage) -> None:
    return None
