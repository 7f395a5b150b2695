"""The demo's simulators: every demo watch and phone reporting to the running server, a fake Twilio
carrying the texts and the hotline's calls (the operators' desk phones answer by themselves), and the demo
providers answering their offers by SMS."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from dispatch.auth.models import Operator
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Device, DeviceKind, DeviceStatus, Elder
from dispatch.ingest.secrets import box_for
from dispatch.providers.models import Provider
from dispatch.settings import Settings
from simulators.fake_twilio import FakeTwilio
from simulators.fake_wechatpay.keys import KEYSET_FILE, generate_keys, load_keys
from simulators.fake_wechatpay.server import FakeWeChatPay
from simulators.phone import SimulatedPhone
from simulators.provider import Behaviour, SimulatedProviders
from simulators.watch import WatchConfig, run_fleet

logger = logging.getLogger(__name__)


async def demo_devices(settings: Settings) -> list[tuple[str, DeviceKind, str, float, float]]:
    """(imei, kind, secret, home lon, home lat) of every active device (the secret opened: it is stored
    sealed)."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(
                select(Device.imei, Device.kind, Device.secret, Elder.home_lon, Elder.home_lat)
                .join(Elder, Elder.id == Device.elder_id)
                .where(Device.status == DeviceStatus.active)
            )
            box = box_for(settings)
            return [
                (imei, DeviceKind(kind), box.open(secret), lon, lat) for imei, kind, secret, lon, lat in rows
            ]
    finally:
        await engine.dispose()


async def run_demo_devices(settings: Settings, *, http_url: str, watch_port: int, time_scale: float) -> None:
    """Run the demo's watches (TCP) and phones (HTTP) until cancelled; their alarms come at the rate and mix
    of `demo_life` on a clock `time_scale` times faster than real life."""
    devices = await demo_devices(settings)
    watches = [
        WatchConfig(imei, lon, lat, heartbeat_s=60, position_s=300)
        for imei, kind, _, lon, lat in devices
        if kind is DeviceKind.watch
    ]
    logger.info("demo: %d simulated watches and %d phones", len(watches), len(devices) - len(watches))
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as client, asyncio.TaskGroup() as group:
        group.create_task(run_fleet(watches, "127.0.0.1", watch_port, time_scale=time_scale))
        for imei, kind, secret, lon, lat in devices:
            if kind is not DeviceKind.watch:
                group.create_task(SimulatedPhone(client, imei, secret, (lon, lat)).run(period_s=300))


DEMO_SMS_NUMBER = "+8659112349"  # the 12349 number: texts and the hotline's calls
DESK_PHONE_ANSWERS_AFTER_S = 3.0  # a headset in auto-answer mode


async def demo_desk_phones(settings: Settings) -> list[str]:
    """The phones the hotline rings: every operator's that has one."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            phones = await session.scalars(select(Operator.phone).where(Operator.phone.is_not(None)))
            return sorted({phone for phone in phones if phone})
    finally:
        await engine.dispose()


@asynccontextmanager
async def fake_sms_gateway(
    settings: Settings, public_url: str
) -> AsyncIterator[tuple[Settings, FakeTwilio | None]]:
    """Settings that send texts and make the hotline's calls through a fake Twilio started here, unless a
    real Twilio is configured. The operators' desk phones answer a few seconds after they ring."""
    if settings.twilio_enabled:
        yield settings, None
        return
    voice_number = settings.voice_number or DEMO_SMS_NUMBER
    fake = FakeTwilio(
        status_delay_ms=300,
        voice_webhook_url=f"{public_url}/webhooks/twilio/voice",
        voice_status_url=f"{public_url}/webhooks/twilio/voice/status",
        voice_number=voice_number,
    )
    await fake.start()
    fake.configure(sms_webhook_url=f"{public_url}/webhooks/twilio/sms")
    desk_phones = await demo_desk_phones(settings)
    fake.set_phones(
        {phone: {"answer": True, "answer_after_s": DESK_PHONE_ANSWERS_AFTER_S} for phone in desk_phones}
    )
    logger.info(
        "demo: texts and hotline calls (%s) go through a fake Twilio at %s; %d desk phones answer by themselves",
        voice_number,
        fake.base_url,
        len(desk_phones),
    )
    try:
        yield (
            settings.model_copy(
                update={
                    "twilio_account_sid": fake.account_sid,
                    "twilio_auth_token": fake.auth_token,
                    "twilio_from": DEMO_SMS_NUMBER,
                    "twilio_base_url": fake.base_url,
                    "public_base_url": public_url,
                    "voice_number": voice_number,
                }
            ),
            fake,
        )
    finally:
        await fake.stop()


FAMILY_PAYS_AFTER_S = 20.0  # a relative scans the QR code and pays this long after it was shown


@asynccontextmanager
async def fake_payment_platform(settings: Settings) -> AsyncIterator[tuple[Settings, FakeWeChatPay | None]]:
    """Settings that take online payments through a fake WeChat Pay started here (its keys kept in the data
    directory), unless a real WeChat Pay merchant is configured."""
    if settings.wechatpay_mchid:
        yield settings, None
        return
    keys_dir = settings.data_dir / "fake-wechatpay"
    keys = load_keys(keys_dir) if (keys_dir / KEYSET_FILE).exists() else generate_keys()
    async with FakeWeChatPay(keys, refund_delay_s=2.0) as fake:
        logger.info("demo: online payments go through a fake WeChat Pay at %s", fake.base_url)
        yield settings.model_copy(update=keys.settings_update(keys_dir, fake.base_url)), fake


async def run_demo_families(fake: FakeWeChatPay, *, period_s: float = 5.0) -> None:
    """The families of the demo pay every QR code shown to them, a little while after it was shown."""
    while True:
        await asyncio.sleep(period_s)
        now = datetime.now(UTC)
        for trade in list(fake.trades.values()):
            if trade.state == "NOTPAY" and (now - trade.created_at).total_seconds() >= FAMILY_PAYS_AFTER_S:
                fake.pay(trade.out_trade_no)


def provider_behaviour(provider_id: int) -> Behaviour:
    """Most demo providers accept within half a minute; some decline, a few never answer. Those who accept
    arrive 5-15 minutes after a service order's window opens (after the accept, for an emergency) and are
    done 10-90 minutes later."""
    rng = random.Random(provider_id)
    roll = rng.random()
    if roll < 0.1:
        return Behaviour("silent")
    if roll < 0.25:
        return Behaviour("decline", answer_after_s=rng.uniform(5, 20))
    return Behaviour(
        "accept",
        answer_after_s=rng.uniform(5, 30),
        arrive_after_s=rng.uniform(300, 900),
        done_after_s=rng.uniform(600, 5400),
        keeps_window=True,
    )


async def run_demo_providers(settings: Settings, fake: FakeTwilio) -> None:
    """The demo providers, answering their offers through the fake Twilio until cancelled."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = (await session.execute(select(Provider.id, Provider.phone))).all()
    finally:
        await engine.dispose()
    behaviours = {phone: provider_behaviour(provider_id) for provider_id, phone in rows}
    logger.info("demo: %d simulated providers answer their offers by SMS", len(behaviours))
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=30) as client:
        await SimulatedProviders(client, DEMO_SMS_NUMBER, behaviours).run()
