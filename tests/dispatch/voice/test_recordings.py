"""Call recordings: fetched from a real HTTP server (Twilio's URL rewritten to it, Basic auth checked),
stored with their checksum, retried with backoff and in the end flagged, deleted past retention; and played
back only to the agent who took the call and to supervisors, every playback audited."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import wave
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dispatch.alerts.models import Alert
from dispatch.api.state import AppServices
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Operator, Role
from dispatch.bus.memory import MemoryBus
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.settings import Settings
from dispatch.voice import recordings
from dispatch.voice.models import Recording, RecordingState
from simulators.fake_twilio import LocalServer
from tests.dispatch.voice.phone_calls import add_phone_call
from tests.factories import operator_headers

ACCOUNT, TOKEN = "AC" + "1" * 32, "the-auth-token"
SID = "RE" + "a" * 32
TWILIO_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}"


def a_wav(seconds: float = 0.5) -> bytes:
    """A real 8 kHz mono 16-bit WAV file of silence."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


WAV = a_wav()


class RecordingServer:
    """Serves the WAV at Twilio's recording path to the account's Basic credentials; can be told to fail."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.failing = False
        self.server = LocalServer(Starlette(routes=[Route("/{path:path}", self.serve)]))

    async def serve(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Response(status_code=401)
        if self.failing:
            return Response(b'{"code": 20500}', status_code=500)
        if request.url.path != f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}.wav":
            return Response(status_code=404)
        return Response(WAV, media_type="audio/x-wav")


@pytest.fixture
async def twilio() -> AsyncIterator[RecordingServer]:
    server = RecordingServer()
    await server.server.start()
    try:
        yield server
    finally:
        await server.server.stop()


def keeper_for(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, twilio: RecordingServer
) -> recordings.RecordingKeeper:
    configured = settings.model_copy(
        update={
            "twilio_account_sid": ACCOUNT,
            "twilio_auth_token": TOKEN,
            "twilio_base_url": twilio.server.base_url,
        }
    )
    return recordings.RecordingKeeper(sessions, MemoryBus(), clock, configured)


async def ready(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, sid: str = SID) -> int:
    """A phone call and Twilio's word that its recording is ready; returns the recording's id."""
    async with unit_of_work(sessions) as session:
        phone_call = await add_phone_call(session, at=clock.now())
        recording = await recordings.recording_ready(
            session=session,
            clock=clock,
            phone_call_id=phone_call.id,
            recording_sid=sid,
            url=TWILIO_URL.replace(SID, sid),
            duration_s=42,
        )
        await session.flush()
        return recording.id


async def load(sessions: async_sessionmaker[AsyncSession], recording_id: int) -> Recording:
    async with sessions() as session:
        recording = await session.get(Recording, recording_id)
        assert recording is not None
        return recording


async def test_a_ready_recording_is_fetched_with_the_accounts_credentials_and_stored_with_its_checksum(
    db_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    twilio: RecordingServer,
) -> None:
    keeper = keeper_for(db_settings, sessions, clock, twilio)
    recording_id = await ready(sessions, clock)

    stored = await keeper.fetch_due()

    assert stored == 1
    recording = await load(sessions, recording_id)
    assert recording.state == RecordingState.stored
    assert recording.storage_key == f"2026/03/{SID}.wav"
    assert recording.sha256 == hashlib.sha256(WAV).hexdigest()
    assert recording.size_bytes == len(WAV)
    assert recording.content_type == "audio/x-wav"
    assert (recording.attempts, recording.stored_at, recording.duration_s) == (1, clock.now(), 42)
    path = db_settings.data_dir / "recordings" / "2026" / "03" / f"{SID}.wav"
    assert path.read_bytes() == WAV
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    assert twilio.requests == [f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}.wav"]
    assert await keeper.fetch_due() == 0  # stored: never fetched again
    assert len(twilio.requests) == 1


async def test_a_repeated_ready_callback_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    first = await ready(sessions, clock)
    async with unit_of_work(sessions) as session:
        again = await recordings.recording_ready(
            session=session, clock=clock, phone_call_id=1, recording_sid=SID, url="https://x", duration_s=None
        )
        count = await session.scalar(select(func.count()).select_from(Recording))

    assert (again.id, again.duration_s, count) == (first, 42, 1)


async def test_a_claim_is_taken_once(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    recording_id = await ready(sessions, clock)
    async with sessions() as one, sessions() as other:
        first = await recordings.claim(session=one, clock=clock, recording_id=recording_id)
        await one.commit()
        second = await recordings.claim(session=other, clock=clock, recording_id=recording_id)
        await other.commit()

    assert first is not None
    assert first.attempts == 1
    assert second is None


async def test_a_recording_that_cannot_be_fetched_is_retried_with_backoff_then_flagged(
    db_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    twilio: RecordingServer,
) -> None:
    keeper = keeper_for(db_settings, sessions, clock, twilio)
    twilio.failing = True
    recording_id = await ready(sessions, clock)

    assert await keeper.fetch_due() == 0
    for attempt, delay in enumerate((30, 120, 600, 3600, 21600), start=1):
        recording = await load(sessions, recording_id)
        assert (recording.state, recording.attempts) == (RecordingState.pending, attempt)
        assert recording.next_attempt_at == clock.now() + timedelta(seconds=delay)
        assert recording.error == f"HTTP 500 from {twilio.server.base_url}{twilio.requests[-1]}"
        clock.advance(delay - 1)
        await keeper.fetch_due()  # not due yet: not tried
        assert len(twilio.requests) == attempt
        clock.advance(1)
        await keeper.fetch_due()

    recording = await load(sessions, recording_id)
    assert (recording.state, recording.attempts, recording.next_attempt_at) == (
        RecordingState.failed,
        6,
        None,
    )
    async with sessions() as session:
        alerts = list(await session.scalars(select(Alert).where(Alert.kind == "recording_failed")))
    assert [(a.audience.value, a.detail["recording_id"]) for a in alerts] == [("supervisors", recording_id)]
    clock.advance(24 * 3600)
    await keeper.fetch_due()
    assert len(twilio.requests) == 6  # failed for good: not tried again


async def test_a_failure_then_success_stores_it(
    db_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    twilio: RecordingServer,
) -> None:
    keeper = keeper_for(db_settings, sessions, clock, twilio)
    twilio.failing = True
    recording_id = await ready(sessions, clock)
    await keeper.fetch_due()
    twilio.failing = False
    clock.advance(30)

    assert await keeper.fetch_due() == 1
    recording = await load(sessions, recording_id)
    assert (recording.state, recording.attempts, recording.error) == (RecordingState.stored, 2, None)


async def test_audio_past_retention_is_deleted_and_the_deletion_audited(
    db_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    twilio: RecordingServer,
) -> None:
    keeper = keeper_for(db_settings, sessions, clock, twilio)
    old_id = await ready(sessions, clock)
    await keeper.fetch_due()
    path = db_settings.data_dir / "recordings" / "2026" / "03" / f"{SID}.wav"
    assert path.is_file()
    clock.advance(180 * 86400)
    assert await keeper.delete_expired() == 0  # exactly 180 days old: kept
    clock.advance(1)

    assert await keeper.delete_expired() == 1

    recording = await load(sessions, old_id)
    assert (recording.state, recording.deleted_at) == (RecordingState.deleted, clock.now())
    assert recording.sha256 == hashlib.sha256(WAV).hexdigest()  # the record that it existed stays
    assert not path.exists()
    async with sessions() as session:
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "recording.delete"))
        )
    assert [(e.entity_id, e.username) for e in entries] == [(str(old_id), "recording-retention")]
    assert await keeper.delete_expired() == 0


# --- playback through the API ------------------------------------------------------------------------------


async def operator_id(services: AppServices, username: str) -> int:
    async with services.readers() as session:
        found = await session.scalar(select(Operator.id).where(Operator.username == username))
        assert found is not None
        return found


async def a_stored_recording(services: AppServices, agent_id: int | None) -> int:
    """A phone call taken by `agent_id` with its audio in the app's store; returns the phone call's id."""
    clock = services.clock
    store = recordings.store_for(services.settings)

    async def chunks() -> AsyncIterator[bytes]:
        yield WAV

    key = recordings.storage_key(SID, clock.now())
    audio = await store.save(key, chunks())
    async with unit_of_work(services.sessions) as session:
        phone_call = await add_phone_call(session, at=clock.now(), agent_id=agent_id)
        recording = await recordings.recording_ready(
            session=session,
            clock=clock,
            phone_call_id=phone_call.id,
            recording_sid=SID,
            url=TWILIO_URL,
            duration_s=3,
        )
        await session.flush()
        await recordings.mark_stored(
            session=session,
            clock=clock,
            recording_id=recording.id,
            key=key,
            audio=audio,
            content_type="audio/wav",
        )
        return phone_call.id


async def test_the_agent_who_took_the_call_and_supervisors_play_it_others_do_not(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    taker = await operator_headers(app_services, client, Role.agent, "agent1")
    other = await operator_headers(app_services, client, Role.agent, "agent2")
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    phone_call_id = await a_stored_recording(app_services, await operator_id(app_services, "agent1"))
    url = f"/api/v1/phone-calls/{phone_call_id}/recording"

    by_taker = await client.get(url, headers=taker)
    by_other = await client.get(url, headers=other)
    by_supervisor = await client.get(url, headers=supervisor)

    assert (by_taker.status_code, by_other.status_code, by_supervisor.status_code) == (200, 403, 200)
    assert by_taker.content == WAV
    assert by_supervisor.content == WAV
    assert by_taker.headers["content-type"] == "audio/wav"
    async with app_services.readers() as session:
        plays = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "recording.play")))
    assert sorted(p.username for p in plays) == ["agent1", "sup1"]
    listed = (await client.get("/api/v1/phone-calls", headers=supervisor)).json()
    assert listed["items"][0]["recording"]["state"] == "stored"


async def test_no_stored_recording_is_a_404(client: httpx.AsyncClient, app_services: AppServices) -> None:
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    async with unit_of_work(app_services.sessions) as session:
        phone_call = await add_phone_call(session, at=app_services.clock.now())
        phone_call_id = phone_call.id

    none = await client.get(f"/api/v1/phone-calls/{phone_call_id}/recording", headers=supervisor)
    missing_call = await client.get("/api/v1/phone-calls/999/recording", headers=supervisor)

    assert (none.status_code, missing_call.status_code) == (404, 404)


def test_storage_keys_stay_inside_the_store(tmp_path: Path) -> None:
    store = recordings.LocalRecordingStore(tmp_path)

    with pytest.raises(ValueError, match="outside"):
        store.local_path("../../etc/passwd")


async def test_waking_the_running_keeper_fetches_at_once(
    db_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    twilio: RecordingServer,
) -> None:
    keeper = keeper_for(db_settings, sessions, clock, twilio)  # ticks once a day in tests (DESK_IDLE)
    recording_id = await ready(sessions, clock)
    keeper.start()
    try:
        keeper.wake()
        async with asyncio.timeout(10):
            while (await load(sessions, recording_id)).state != RecordingState.stored:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        await keeper.stop()

    assert len(twilio.requests) == 1
