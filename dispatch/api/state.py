"""What the running application holds: built once in the lifespan, kept on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devices.watch.server import WatchServer
from dispatch.auth.ratelimit import LoginThrottle
from dispatch.bus.base import EventBus
from dispatch.calls.processor import CallProcessor
from dispatch.clock import Clock
from dispatch.console.hub import ConsoleHub
from dispatch.desk.processor import ServiceDesk
from dispatch.ingest.secrets import DeviceSecretBox
from dispatch.ingest.writer import EventWriter
from dispatch.notify.worker import SmsWorker
from dispatch.offers.matcher import ProviderMatcher
from dispatch.offers.processor import OfferProcessor
from dispatch.payments.platform import PaymentPlatform
from dispatch.settings import Settings
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.recordings import RecordingKeeper
from dispatch.voice.stats import VoiceMetrics


@dataclass
class AppServices:
    """The shared parts every request may use."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]  # claiming: for work that reads, then changes what it read
    readers: async_sessionmaker[AsyncSession]  # for requests that only read
    bus: EventBus
    login_throttle: LoginThrottle
    device_secrets: DeviceSecretBox
    metrics: CollectorRegistry
    writer: EventWriter
    watch: WatchServer
    watch_port: int
    processor: CallProcessor
    console_hub: ConsoleHub
    matcher: ProviderMatcher
    offer_processor: OfferProcessor
    desk: ServiceDesk
    sms_worker: SmsWorker | None  # None: no gateway configured, messages stay in the outbox
    voice: VoiceDesk | None = None  # None: no telephony configured, phone calls are logged by hand
    recordings: RecordingKeeper | None = None  # fetches call recordings, deletes them past retention
    voice_metrics: VoiceMetrics | None = None  # the hotline's gauges, refreshed at each /metrics scrape
    payment_platform: PaymentPlatform | None = None  # None: no online payment (the embedded default)
