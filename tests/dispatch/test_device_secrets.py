"""Device secrets are sealed at rest with keys from the settings; keys rotate with an overlap window; the
phones' signatures keep working throughout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import select

from dispatch.api.app import create_app
from dispatch.cli import rotate_secrets
from dispatch.clock import FakeClock
from dispatch.db import migrate
from dispatch.db.session import create_engine
from dispatch.elders.models import Device
from dispatch.ingest.secrets import UnreadableSecret, box_for
from dispatch.settings import Settings
from tests.conftest import sqlite_settings
from tests.devices.test_http_api import signed, sos_body
from tests.factories import make_elder_with_device

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
PHONE = "phone-000123"


async def stored_secret(settings: Settings, imei: str = PHONE) -> str:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            secret = await connection.scalar(select(Device.secret).where(Device.imei == imei))
    finally:
        await engine.dispose()
    assert isinstance(secret, str)
    return secret


async def sos_answered(settings: Settings, clock: FakeClock, secret: str, key: str) -> int:
    """The status of a signed SOS sent to an app running with these settings."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = sos_body(idempotency_key=key)
            return (await client.post("/api/v1/device-events", **signed(secret, body, clock))).status_code


@pytest.fixture
async def registered(db_settings: Settings, clock: FakeClock) -> tuple[Settings, str]:
    """A phone registered while the old key was the only one: the settings and its plain secret."""
    settings = db_settings.model_copy(update={"device_secret_keys": OLD_KEY})
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        _, _, secret = await make_elder_with_device(app.state.services, PHONE, kind="phone")
    return settings, secret


async def test_the_secret_is_stored_sealed_and_the_phone_signs_with_the_plain_one(
    registered: tuple[Settings, str], clock: FakeClock
) -> None:
    settings, secret = registered
    sealed = await stored_secret(settings)
    assert secret not in sealed
    assert Fernet(OLD_KEY.encode()).decrypt(sealed.encode()).decode() == secret
    assert await sos_answered(settings, clock, secret, "sos-1") == 202


async def test_keys_rotate_with_an_overlap_window(registered: tuple[Settings, str], clock: FakeClock) -> None:
    settings, secret = registered
    both = settings.model_copy(update={"device_secret_keys": f"{NEW_KEY},{OLD_KEY}"})
    assert await sos_answered(both, clock, secret, "sos-1") == 202  # the old seal still opens

    assert await rotate_secrets(both) == 1
    assert Fernet(NEW_KEY.encode()).decrypt((await stored_secret(both)).encode()).decode() == secret
    assert await rotate_secrets(both) == 0  # nothing left to reseal

    new_only = settings.model_copy(update={"device_secret_keys": NEW_KEY})
    assert await sos_answered(new_only, clock, secret, "sos-2") == 202


async def test_a_secret_no_configured_key_opens_is_refused_not_a_crash(
    registered: tuple[Settings, str], clock: FakeClock
) -> None:
    settings, secret = registered
    stranger = settings.model_copy(update={"device_secret_keys": NEW_KEY})
    with pytest.raises(UnreadableSecret):
        box_for(stranger).open(await stored_secret(settings))
    assert await sos_answered(stranger, clock, secret, "sos-1") == 401


def test_without_keys_the_secret_key_derives_one_and_bad_keys_are_refused() -> None:
    default = Settings(_env_file=None)
    sealed = box_for(default).seal("s" * 32)
    assert box_for(default).open(sealed) == "s" * 32
    with pytest.raises(UnreadableSecret):
        box_for(Settings(secret_key="another-secret", _env_file=None)).open(sealed)
    # Keys configured later still open what the derived key sealed.
    assert box_for(Settings(device_secret_keys=NEW_KEY, _env_file=None)).open(sealed) == "s" * 32
    with pytest.raises(ValidationError, match="key 2 of DISPATCH_DEVICE_SECRET_KEYS is not a Fernet key"):
        Settings(device_secret_keys=f"{NEW_KEY},not-a-key", _env_file=None)


def test_the_migration_seals_existing_secrets_and_the_downgrade_opens_them(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    migrate.upgrade(settings, "0005")
    database = sqlite3.connect(tmp_path / "dispatch.sqlite3")  # foreign keys off: a device row alone will do
    with database:
        database.execute(
            "INSERT INTO device (imei, elder_id, kind, secret, status, heartbeat_interval_s, created_at, "
            "updated_at) VALUES (?, 1, 'phone', ?, 'active', 600, '2026-03-02 01:00:00', '2026-03-02 01:00:00')",
            (PHONE, "p" * 128),
        )

    def secret() -> str:
        [(value,)] = database.execute("SELECT secret FROM device").fetchall()
        return str(value)

    migrate.upgrade(settings)
    assert secret() != "p" * 128
    assert box_for(settings).open(secret()) == "p" * 128
    migrate.downgrade(settings, "0005")
    assert secret() == "p" * 128
    database.close()
