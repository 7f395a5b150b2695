"""Settings: every variable is read from the environment (or a `.env` file) with the prefix `DISPATCH_`."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "insecure-dev-secret-change-me"  # noqa: S105 - refused in production below


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    """All configuration of the server; see the README for each variable and its default."""

    model_config = SettingsConfigDict(env_prefix="DISPATCH_", env_file=".env", extra="ignore")

    environment: Environment = Environment.development
    data_dir: Path = Path("./var")
    database_url: str = ""
    database_schema: str = ""
    # A request waits this long for a pooled database connection, then gets 503 (the server is overloaded).
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    redis_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    # Fernet keys sealing device secrets at rest, newest first; empty: one derived from secret_key.
    device_secret_keys: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    cookie_secure: bool = False
    console_ticket_seconds: int = Field(
        default=30, ge=5, le=300
    )  # a one-time /ws/console ticket lives this long
    console_session_check_seconds: float = Field(default=30.0, gt=0)  # an open console re-checks its session
    # Failed logins: a (username, address) pair waits after this many, twice as long after each further one.
    login_free_failures: int = Field(default=5, ge=1)
    login_backoff_base_seconds: float = Field(default=2.0, gt=0)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0)
    login_rate_limit: str = "60/minute"  # failed logins per client address, whatever the username
    log_level: str = "INFO"
    watch_host: str = "0.0.0.0"  # noqa: S104 - devices connect from the mobile network
    watch_port: int = Field(default=5093, ge=0, le=65535)
    watch_idle_timeout_seconds: int = Field(default=1200, ge=10)
    device_replay_window_seconds: int = Field(default=300, ge=5)
    watch_dedupe_seconds: int = Field(default=300, ge=60)  # a watch frame resent within this is the same
    device_event_max_bytes: int = Field(default=64 * 1024, ge=1024)  # a phone's request body; larger: 413
    media_clip_max_bytes: int = Field(default=32 * 1024, ge=1)  # one voice clip from a watch
    media_device_daily_bytes: int = Field(default=2 * 1024 * 1024, ge=0)  # a watch's clips per (UTC) day
    ingest_batch_max_delay_ms: float = Field(default=2.0, ge=0)
    ingest_batch_max_size: int = Field(default=500, ge=1)
    ingest_writers: int = Field(default=4, ge=1, le=64)
    device_state_flush_seconds: float = Field(default=1.0, gt=0, le=60)
    silent_after_missed_heartbeats: int = Field(default=3, ge=1)
    p1_ack_seconds: int = Field(default=30, ge=1)
    sms_report_lost_seconds: float = Field(default=120, gt=0)  # no report this long: ask the gateway
    sms_sending_stale_seconds: float = Field(
        default=60, gt=0
    )  # a send claimed this long ago died with its sender
    rules_consumers: int = Field(default=3, ge=1, le=32)  # concurrent rule transactions (PostgreSQL)
    rules_sweep_after_seconds: float = Field(default=3.0, gt=0, le=600)
    rules_park_after_attempts: int = Field(default=5, ge=1)
    # SMS: through Twilio when the SID, token and sender are all set, else into the console's outbox.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_base_url: str = ""  # empty: Twilio itself; the demo and tests point it at simulators.fake_twilio
    public_base_url: str = "http://127.0.0.1:8000"  # how Twilio reaches our webhooks (signatures cover it)
    sms_language: str = "zh"
    # Online payment: WeChat Pay (Native QR codes) when the merchant is configured, else none (the default).
    wechatpay_mchid: str = ""
    wechatpay_appid: str = ""
    wechatpay_private_key_path: str = ""  # the merchant's API key (PEM, PKCS#8): it signs our requests
    wechatpay_cert_serial_no: str = ""  # the serial number of the merchant's API certificate
    wechatpay_apiv3_key: str = ""  # 32 characters: decrypts notifications (secret)
    wechatpay_public_key_path: str = ""  # the platform's public key (PEM): checks answers and notifications
    wechatpay_public_key_id: str = ""  # its id, PUB_KEY_ID_...
    wechatpay_base_url: str = "https://api.mch.weixin.qq.com"  # the demo and tests point it at the fake
    wechatpay_notify_window_seconds: int = Field(default=300, ge=5)  # notifications further from now: refused
    # The provider's job page (/p/<token>, linked from the offer SMS).
    job_link_grace_hours: int = Field(default=12, ge=0, le=24 * 30)  # a link lives this long past the job
    checkin_far_meters: int = Field(default=300, ge=10)  # a check-in further from the home is flagged
    job_photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)  # one service photo
    confirm_code_max_attempts: int = Field(default=5, ge=1, le=20)  # wrong codes before it is locked
    # Voice (the hotline): on when the Twilio SID and token and the hotline's number are all set.
    voice_number: str = ""  # the hotline's number at Twilio (calls to agents come from it)
    voice_offer_seconds: int = Field(default=20, ge=5, le=120)  # ring an agent this long, then the next
    voice_wait_alert_seconds: int = Field(default=60, ge=5)  # a caller waiting this long: supervisors told
    wrap_up_seconds: int = Field(default=30, ge=0, le=3600)  # after-call work, then ready again
    recording_retention_days: int = Field(default=180, ge=1)  # call recordings' audio is deleted after this
    voice_greeting_url: str = ""  # a recorded greeting (played) instead of the spoken text
    voice_tick_seconds: float = Field(default=1.0, gt=0)  # how often the voice timer looks (offers, wrap-ups)
    voice_reconcile_seconds: int = Field(default=120, ge=10)  # an open call this quiet: its legs looked up
    emergency_number: str = "120"  # added to a call's conference by the agent's "120" button
    # Seconds after queuing within which a message the gateway refused for now (429, 5xx) is retried, per
    # purpose, e.g. {"offer": 30}; the rest keep dispatch.notify.retry's defaults.
    sms_retry_budgets: dict[str, int] = {}
    # P3/P4 alarms (device silent, battery low, watch off) arriving in these Shanghai hours become calls when
    # they end ("HH:MM-HH:MM"; equal times: no quiet hours). Per elder: Elder.alarm_overrides["quiet_hours"].
    quiet_hours: str = "22:00-07:00"
    contact_step_seconds: int = Field(default=60, ge=5)  # no final status by then: the next contact is told
    offer_timeout_seconds: int = Field(default=120, ge=10)
    offer_timeouts: dict[str, int] = {}  # per service type, e.g. {"meal_assistance": 900}
    emergency_parallel_offers: int = Field(default=2, ge=1, le=10)
    travel_speed_kmh: float = Field(default=20.0, gt=0)
    handoff_sms_to: str = ""  # the 120 centre's SMS number for location summaries; empty: none sent
    # Service desk: orders, follow-ups, care calls, complaints, coverage and quality.
    desk_tick_seconds: float = Field(default=30.0, gt=0)  # how often the service-desk timers look
    plan_horizon_days: int = Field(default=2, ge=1, le=31)  # recurring plans make orders this far ahead
    order_escalate_before_minutes: int = Field(default=120, ge=0)  # unaccepted this close to start: alert
    followup_due_hours_emergency: int = Field(default=24, ge=1)
    followup_due_hours_service: int = Field(default=48, ge=1)
    followup_max_attempts: int = Field(default=3, ge=1)
    followup_retry_minutes: int = Field(default=120, ge=1)
    rating_prior: float = Field(default=4.0, ge=1, le=5)  # the Bayesian rating's prior mean ...
    rating_prior_weight: int = Field(default=5, ge=0)  # ... worth this many scores
    care_max_attempts: int = Field(default=2, ge=1)  # unreached this often: the community worker visits
    care_heartbeat_hours: int = Field(default=24, ge=1)  # no device heard from for this long: alert too
    complaint_due_hours: int = Field(default=72, ge=1)
    coverage_minimum: int = Field(default=2, ge=1)  # active providers per district and required type
    coverage_circle_minutes: int = Field(default=15, ge=1)
    quality_min_sample: int = Field(default=5, ge=1)  # offers or orders before a figure can flag
    quality_min_acceptance_rate: float = Field(default=0.5, ge=0, le=1)
    quality_min_completion_rate: float = Field(default=0.8, ge=0, le=1)
    quality_max_late_rate: float = Field(default=0.2, ge=0, le=1)
    quality_min_satisfaction: float = Field(default=3.0, ge=1, le=5)
    quality_max_upheld_complaints: int = Field(default=1, ge=0)
    # Map tiles for the console, e.g. "https://tiles.example.cn/{z}/{x}/{y}.png"; empty: a plain background.
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    # Money: an elder's prepaid balance is capped at this many months of their recurring plans' fees.
    prepaid_cap_months: int = Field(default=3, ge=0, le=12)
    refund_approval_fen: int = Field(default=5_000, ge=0)  # refunds above this need a supervisor
    payment_expire_minutes: int = Field(default=30, ge=1)  # an unpaid online payment is closed after this
    # Settlement: "lowest score:percent withheld" bands of the provider's quality score (rating x 20), and a
    # fixed amount withheld per upheld complaint in the month.
    settlement_deduction_bands: str = "80:0,70:5,0:10"
    settlement_complaint_deduction_fen: int = Field(default=5_000, ge=0)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment is Environment.production and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError("DISPATCH_SECRET_KEY must be set to a random value in production")
        return self

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_are_a_period(cls, value: str) -> str:
        from dispatch.localtime import parse_hours

        parse_hours(value)
        return value

    @field_validator("device_secret_keys")
    @classmethod
    def _device_secret_keys_are_fernet_keys(cls, value: str) -> str:
        from dispatch.ingest.secrets import configured_keys  # the cryptography import only where needed

        configured_keys(value)
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dispatch.sqlite3').resolve()}"

    @property
    def twilio_enabled(self) -> bool:
        """Send through Twilio (else the SMS outbox)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

    @property
    def voice_enabled(self) -> bool:
        """The hotline runs through Twilio Voice (else phone calls are only logged by hand)."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.voice_number)

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
