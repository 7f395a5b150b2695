"""The application factory: wires settings, database, Redis, rate limits, routers and error handling."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.http_api import router as device_gateway_router
from devices.watch.directory import DeviceDirectory
from devices.watch.media import MediaQuota
from devices.watch.router import router as watch_commands_router
from devices.watch.server import GatewayParts, WatchMetrics, WatchServer
from dispatch.admin.router import router as admin_router
from dispatch.alerts.router import router as alerts_router
from dispatch.api import health
from dispatch.api.errors import document_errors, install_error_handlers
from dispatch.api.nul import RefuseNul
from dispatch.api.state import AppServices
from dispatch.assessments.router import router as assessments_router
from dispatch.audit.router import router as audit_router
from dispatch.auth.ratelimit import (
    BackoffPolicy,
    FailureStore,
    LoginThrottle,
    MemoryFailureStore,
    RedisFailureStore,
)
from dispatch.auth.router import router as auth_router
from dispatch.bus.base import EventBus
from dispatch.bus.fallback import FallbackBus
from dispatch.bus.memory import MemoryBus
from dispatch.bus.redis import RedisBus, redis_client
from dispatch.calls.conditions import QuietHours
from dispatch.calls.processor import CallProcessor
from dispatch.calls.router import router as calls_router
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.carecalls.router import router as care_calls_router
from dispatch.clock import Clock, SystemClock
from dispatch.complaints.router import router as complaints_router
from dispatch.console.hub import ConsoleHub
from dispatch.console.static import mount_console
from dispatch.console.ws import router as console_router
from dispatch.db.session import create_engine, create_session_factory
from dispatch.desk.processor import ServiceDesk
from dispatch.elders.router import router as elders_router
from dispatch.evidence.router import router as evidence_router
from dispatch.followups.router import router as follow_ups_router
from dispatch.history.router import router as history_router
from dispatch.ingest.events import RULES_STREAM
from dispatch.ingest.router import router as device_events_router
from dispatch.ingest.secrets import box_for
from dispatch.ingest.silent import SilentDeviceMonitor
from dispatch.ingest.writer import EventWriter
from dispatch.jobpage.router import router as job_page_router
from dispatch.ledger.router import router as ledger_router
from dispatch.localtime import parse_hours
from dispatch.notify.models import SmsMessage
from dispatch.notify.retry import policy_with
from dispatch.notify.router import router as sms_router
from dispatch.notify.sender import TwilioSender
from dispatch.notify.service import options_for
from dispatch.notify.webhooks import router as twilio_webhooks
from dispatch.notify.worker import SmsWorker
from dispatch.offers.deliveries import message_report_overdue, message_settled
from dispatch.offers.matcher import ProviderMatcher
from dispatch.offers.processor import OfferProcessor
from dispatch.offers.router import router as offers_router
from dispatch.orders.router import router as orders_router
from dispatch.payments.router import router as payments_router
from dispatch.payments.webhooks import router as wechatpay_webhooks
from dispatch.payments.wechat import platform_from_settings
from dispatch.providers.coverage_router import router as coverage_router
from dispatch.providers.router import router as providers_router
from dispatch.quality.router import router as quality_router
from dispatch.search.router import router as search_router
from dispatch.settings import Settings
from dispatch.settlement.router import router as settlement_router
from dispatch.subsidies.router import router as allowance_router
from dispatch.voice.control import router as voice_control_router
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.recordings import RecordingKeeper
from dispatch.voice.router import router as voice_router
from dispatch.voice.stats import VoiceMetrics
from dispatch.voice.telephony import TwilioTelephony
from dispatch.voice.webhooks import router as voice_webhooks

logger = logging.getLogger(__name__)


def _rate_limit_storage(settings: Settings) -> Storage:
    if settings.redis_url:
        return RedisStorage(f"async+{settings.redis_url}", implementation="redispy", key_prefix="dispatch")
    return MemoryStorage()


def _login_throttle(settings: Settings, clock: Clock, store: FailureStore) -> LoginThrottle:
    policy = BackoffPolicy(
        free_failures=settings.login_free_failures,
        base_seconds=settings.login_backoff_base_seconds,
        max_seconds=settings.login_backoff_max_seconds,
    )
    return LoginThrottle(
        store=store,
        policy=policy,
        clock=clock,
        address_limiter=MovingWindowRateLimiter(_rate_limit_storage(settings)),
        address_limit=settings.login_rate_limit,
    )


def _sms_worker(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus, clock: Clock
) -> SmsWorker | None:
    """A sender through Twilio when it is configured; without one, messages stay in the outbox."""
    if not settings.twilio_enabled:
        return None
    sender = TwilioSender(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        base_url=settings.twilio_base_url or None,
    )
    options = options_for(settings)

    async def settled(session: AsyncSession, message: SmsMessage) -> None:
        await message_settled(session=session, clock=clock, message=message, options=options)

    async def overdue(session: AsyncSession, message: SmsMessage) -> None:
        await message_report_overdue(session=session, clock=clock, message=message, options=options)

    callback = settings.public_base_url.rstrip("/") + "/webhooks/twilio/status"
    return SmsWorker(
        sessions,
        bus,
        clock,
        sender,
        status_callback_url=callback,
        on_settled=settled,
        on_report_overdue=overdue,
        policy=policy_with(settings.sms_retry_budgets),
        report_lost_after=timedelta(seconds=settings.sms_report_lost_seconds),
        sending_stale_after=timedelta(seconds=settings.sms_sending_stale_seconds),
    )


def _voice_desk(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus, clock: Clock
) -> VoiceDesk | None:
    """The hotline through Twilio Voice when it is configured; without it calls are logged by hand."""
    if not settings.voice_enabled:
        return None
    telephony = TwilioTelephony(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        caller_id=settings.voice_number,
        base_url=settings.twilio_base_url or None,
    )
    return VoiceDesk(sessions, bus, clock, settings, telephony)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """A ready-to-serve application; everything it holds is built in the lifespan, none at import."""
    registry = CollectorRegistry()
    http_metrics = health.HttpMetrics(registry)

    watch_metrics = WatchMetrics(registry)
    voice_metrics = VoiceMetrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_clock = clock or SystemClock()
        engine = create_engine(settings)
        sessions = create_session_factory(engine, claiming=True)
        readers = create_session_factory(engine)
        shared_bus: EventBus = RedisBus.from_url(settings.redis_url) if settings.redis_url else MemoryBus()
        bus = FallbackBus(shared_bus)
        # Device messages get their own connections: busy operators never delay an alarm's acknowledgement.
        ingest_engine = create_engine(settings, pre_ping=False, pool_size=settings.ingest_writers)
        writer = EventWriter(
            ingest_engine,
            max_delay=settings.ingest_batch_max_delay_ms / 1000,
            max_size=settings.ingest_batch_max_size,
            silent_after=settings.silent_after_missed_heartbeats,
            concurrency=1 if settings.is_sqlite else settings.ingest_writers,
            device_state_interval=settings.device_state_flush_seconds,
            bus=bus,
        )
        watch = WatchServer(
            GatewayParts(
                clock=the_clock,
                directory=DeviceDirectory(sessions, bus=bus),
                writer=writer,
                metrics=watch_metrics,
                media_dir=settings.data_dir / "media",
                media_quota=MediaQuota(
                    clip_max_bytes=settings.media_clip_max_bytes,
                    device_daily_bytes=settings.media_device_daily_bytes,
                ),
                idle_timeout=settings.watch_idle_timeout_seconds,
                dedupe_seconds=settings.watch_dedupe_seconds,
            )
        )
        silent = SilentDeviceMonitor(
            sessions, the_clock, silent_after=settings.silent_after_missed_heartbeats, bus=bus
        )
        sms_options = options_for(settings)
        processor = CallProcessor(
            sessions,
            bus,
            the_clock,
            consumer=f"{socket.gethostname()}-{os.getpid()}",
            p1_ack_seconds=settings.p1_ack_seconds,
            sms=sms_options,
            sweep_after_seconds=settings.rules_sweep_after_seconds,
            park_after_attempts=settings.rules_park_after_attempts,
            consumers=1 if settings.is_sqlite else settings.rules_consumers,
            quiet=QuietHours(*parse_hours(settings.quiet_hours)),
        )
        offer_processor = OfferProcessor(sessions, bus, the_clock, options=sms_options)
        matcher = ProviderMatcher(speed_kmh=settings.travel_speed_kmh)
        payment_platform = platform_from_settings(settings)
        desk = ServiceDesk(sessions, bus, the_clock, settings, matcher, payment_platform)
        sms_worker = _sms_worker(settings, sessions, bus, the_clock)
        voice = _voice_desk(settings, sessions, bus, the_clock)
        recordings = RecordingKeeper(sessions, bus, the_clock, settings)
        console_hub = ConsoleHub(bus)
        bus.when_publish_fails(CONSOLE_CHANNEL, console_hub.deliver_local)
        bus.when_append_fails(RULES_STREAM, processor.take_local)
        login_failures = (
            RedisFailureStore(redis_client(settings.redis_url))
            if settings.redis_url
            else MemoryFailureStore()
        )
        await console_hub.start()
        writer.start()
        watch_port = await watch.start(settings.watch_host, settings.watch_port)
        silent.start()
        processor.start()
        offer_processor.start()
        desk.start()
        if sms_worker:
            sms_worker.start()
        if voice:
            voice.start()
        recordings.start()
        app.state.services = AppServices(
            settings=settings,
            clock=the_clock,
            engine=engine,
            sessions=sessions,
            readers=readers,
            bus=bus,
            login_throttle=_login_throttle(settings, the_clock, login_failures),
            device_secrets=box_for(settings),
            metrics=registry,
            writer=writer,
            watch=watch,
            watch_port=watch_port,
            processor=processor,
            console_hub=console_hub,
            matcher=matcher,
            desk=desk,
            offer_processor=offer_processor,
            sms_worker=sms_worker,
            voice=voice,
            recordings=recordings,
            voice_metrics=voice_metrics,
            payment_platform=payment_platform,
        )
        logger.info(
            "dispatch server ready (database: %s, bus: %s, watch port %d)",
            engine.url.get_backend_name(),
            "redis" if settings.redis_url else "in-process",
            watch_port,
        )
        try:
            yield
        finally:
            await watch.stop()
            await processor.stop()
            await offer_processor.stop()
            await desk.stop()
            if sms_worker:
                await sms_worker.stop()
            if voice:
                await voice.stop()
            await recordings.stop()
            await console_hub.stop()
            await silent.stop()
            await writer.stop()
            await ingest_engine.dispose()
            if isinstance(login_failures, RedisFailureStore):
                await login_failures.close()
            await bus.close()
            await engine.dispose()

    app = FastAPI(title="Elder dispatch", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    document_errors(app)
    app.add_middleware(RefuseNul)
    app.add_middleware(http_metrics.middleware)
    app.include_router(health.router)
    app.include_router(auth_router)
    app.include_router(elders_router)
    app.include_router(providers_router)
    app.include_router(audit_router)
    app.include_router(device_events_router)
    app.include_router(calls_router)
    app.include_router(console_router)
    app.include_router(device_gateway_router)
    app.include_router(watch_commands_router)
    app.include_router(offers_router)
    app.include_router(sms_router)
    app.include_router(twilio_webhooks)
    app.include_router(voice_webhooks)
    app.include_router(voice_control_router)
    app.include_router(orders_router)
    app.include_router(follow_ups_router)
    app.include_router(complaints_router)
    app.include_router(care_calls_router)
    app.include_router(quality_router)
    app.include_router(alerts_router)
    app.include_router(coverage_router)
    app.include_router(voice_router)
    app.include_router(search_router)
    app.include_router(assessments_router)
    app.include_router(history_router)
    app.include_router(admin_router)
    app.include_router(payments_router)
    app.include_router(wechatpay_webhooks)
    app.include_router(allowance_router)
    app.include_router(ledger_router)
    app.include_router(settlement_router)
    app.include_router(evidence_router)
    app.include_router(job_page_router)
    mount_console(app)
    return app
