"""Call recordings (全程录音): Twilio says a recording is ready, a timer fetches the audio with the account's
credentials into the recordings store (checksum and size kept), retries with backoff, flags a recording it
never got, plays it back to those allowed (audited) and deletes audio past the retention period."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.alerts.models import AlertAudience
from dispatch.alerts.service import raise_alert
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.clock import Clock
from dispatch.errors import NotFound, PermissionDenied
from dispatch.notify.twilio_http import BaseUrlHttpClient
from dispatch.settings import Settings
from dispatch.tasks import cancel_and_wait, set_within
from dispatch.voice.models import PhoneCall, Recording, RecordingState

logger = logging.getLogger(__name__)

T = TypeVar("T")

# After the n-th failed attempt the next one waits RETRY_DELAYS[n-1]; failing once more than there are
# delays marks the recording failed (Twilio keeps its copy, so a supervisor can still get it by hand).
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
CLAIM_LEASE = timedelta(minutes=5)  # a claimed fetch not settled by then belonged to a process that died
FETCH_BATCH = 20
FETCH_TIMEOUT_SECONDS = 60.0
DEFAULT_CONTENT_TYPE = "audio/wav"
RETENTION_ACTOR = Actor.system("recording-retention")


# --- storage ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredAudio:
    sha256: str
    size_bytes: int


class RecordingStore(Protocol):
    """Where the audio lives: a local directory by default (an S3-compatible store would fit here)."""

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredAudio:
        """Store the whole stream under `key` (atomically: a partial file is never visible)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the audio; no error if it is already gone."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A file to serve for playback, or None if the audio is not there."""
        ...


class LocalRecordingStore:
    """Audio files under a directory (`DISPATCH_DATA_DIR/recordings`), written to a temporary file and
    renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key outside the store: {key!r}")
        return path

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredAudio:
        target = self._path(key)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as file:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(file.write, chunk)
                await asyncio.to_thread(file.flush)
                await asyncio.to_thread(os.fsync, file.fileno())
            await asyncio.to_thread(os.replace, temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        return StoredAudio(sha256=digest.hexdigest(), size_bytes=size)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


def store_for(settings: Settings) -> RecordingStore:
    """The configured recordings store."""
    return LocalRecordingStore(settings.data_dir / "recordings")


def storage_key(recording_sid: str, recorded_at: datetime) -> str:
    """`YYYY/MM/<sid>.wav` (UTC month of the recording)."""
    return f"{recorded_at:%Y/%m}/{recording_sid}.wav"


# --- the database side -----------------------------------------------------------------------------------


async def recording_ready(
    *,
    session: AsyncSession,
    clock: Clock,
    phone_call_id: int,
    recording_sid: str,
    url: str,
    duration_s: int | None,
) -> Recording:
    """Twilio has a recording of this call: note it for fetching now (once per RecordingSid)."""
    existing = await session.scalar(select(Recording).where(Recording.twilio_sid == recording_sid))
    if existing is not None:
        return existing
    if await session.get(PhoneCall, phone_call_id) is None:
        raise NotFound(f"phone call {phone_call_id} not found")
    now = clock.now()
    recording = Recording(
        phone_call_id=phone_call_id,
        twilio_sid=recording_sid,
        source_url=url[:512],
        duration_s=duration_s,
        state=RecordingState.pending,
        attempts=0,
        next_attempt_at=now,
        recorded_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(recording)
    except IntegrityError:  # the same callback delivered twice at once: the other one stored it
        stored = await session.scalar(select(Recording).where(Recording.twilio_sid == recording_sid))
        if stored is None:
            raise
        return stored
    return recording


async def due_ids(*, session: AsyncSession, now: datetime, limit: int = FETCH_BATCH) -> list[int]:
    """Pending recordings whose next attempt is due, oldest first."""
    rows = await session.scalars(
        select(Recording.id)
        .where(Recording.state == RecordingState.pending, Recording.next_attempt_at <= now)
        .order_by(Recording.next_attempt_at, Recording.id)
        .limit(limit)
    )
    return list(rows)


async def claim(*, session: AsyncSession, clock: Clock, recording_id: int) -> Recording | None:
    """Take a due recording for fetching (one conditional UPDATE: once across processes); its next attempt
    moves past the lease, so a process that dies mid-fetch leaves it to be tried again."""
    now = clock.now()
    claimed = await session.execute(
        update(Recording)
        .where(
            Recording.id == recording_id,
            Recording.state == RecordingState.pending,
            Recording.next_attempt_at <= now,
        )
        .values(attempts=Recording.attempts + 1, next_attempt_at=now + CLAIM_LEASE, updated_at=now)
        .returning(Recording.id)
    )
    if claimed.scalar() is None:
        return None
    return await session.get(Recording, recording_id, populate_existing=True)


async def mark_stored(
    *, session: AsyncSession, clock: Clock, recording_id: int, key: str, audio: StoredAudio, content_type: str
) -> None:
    """The audio is in the store."""
    now = clock.now()
    await session.execute(
        update(Recording)
        .where(Recording.id == recording_id)
        .values(
            state=RecordingState.stored,
            storage_key=key,
            sha256=audio.sha256,
            size_bytes=audio.size_bytes,
            content_type=content_type[:64],
            next_attempt_at=None,
            error=None,
            stored_at=now,
            updated_at=now,
        )
    )


async def mark_attempt_failed(*, session: AsyncSession, clock: Clock, recording_id: int, reason: str) -> bool:
    """A fetch failed: try again after the next backoff delay, or, after the last, mark it failed and alert
    the supervisors. Returns whether it is failed for good."""
    recording = await session.get(Recording, recording_id, populate_existing=True)
    if recording is None:
        return False
    now = clock.now()
    recording.error, recording.updated_at = reason[:255], now
    if recording.attempts <= len(RETRY_DELAYS):
        recording.next_attempt_at = now + RETRY_DELAYS[recording.attempts - 1]
        await session.flush()
        return False
    recording.state, recording.next_attempt_at = RecordingState.failed, None
    await session.flush()
    logger.warning(
        "recording %s of phone call %d failed after %d attempts",
        recording.twilio_sid,
        recording.phone_call_id,
        recording.attempts,
    )
    await raise_alert(
        session=session,
        clock=clock,
        kind="recording_failed",
        key=f"recording:{recording.id}",
        text=f"The recording of phone call {recording.phone_call_id} could not be fetched from Twilio",
        audience=AlertAudience.supervisors,
        detail={
            "recording_id": recording.id,
            "phone_call_id": recording.phone_call_id,
            "error": reason[:255],
        },
    )
    return True


async def expired(
    *, session: AsyncSession, now: datetime, retention_days: int, limit: int = 100
) -> list[int]:
    """Stored recordings older than the retention period."""
    rows = await session.scalars(
        select(Recording.id)
        .where(
            Recording.state == RecordingState.stored,
            Recording.recorded_at < now - timedelta(days=retention_days),
        )
        .order_by(Recording.id)
        .limit(limit)
    )
    return list(rows)


async def mark_deleted(*, session: AsyncSession, clock: Clock, recording_id: int) -> Recording | None:
    """The audio past retention is gone: the row stays as the record that it existed (audited)."""
    now = clock.now()
    claimed = await session.execute(
        update(Recording)
        .where(Recording.id == recording_id, Recording.state == RecordingState.stored)
        .values(state=RecordingState.deleted, deleted_at=now, updated_at=now)
        .returning(Recording.id)
    )
    if claimed.scalar() is None:
        return None
    recording = await session.get(Recording, recording_id, populate_existing=True)
    if recording is None:
        return None
    await audit.record(
        session=session,
        clock=clock,
        actor=RETENTION_ACTOR,
        action="recording.delete",
        entity_type="recording",
        entity_id=recording.id,
        detail={"phone_call_id": recording.phone_call_id, "sha256": recording.sha256, "reason": "retention"},
    )
    return recording


def may_play(actor: Actor, phone_call: PhoneCall) -> bool:
    """Supervisors and admins play any recording; an agent only those of calls they took."""
    return actor.is_manager or (actor.operator_id is not None and phone_call.agent_id == actor.operator_id)


async def for_playback(*, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int) -> Recording:
    """The stored recording of a phone call for someone allowed to hear it; every playback is audited."""
    phone_call = await session.get(PhoneCall, phone_call_id)
    if phone_call is None:
        raise NotFound(f"phone call {phone_call_id} not found")
    if not may_play(actor, phone_call):
        raise PermissionDenied("only the agent who took the call and supervisors may play its recording")
    recording = await session.scalar(
        select(Recording)
        .where(Recording.phone_call_id == phone_call_id, Recording.state == RecordingState.stored)
        .order_by(Recording.id.desc())
        .limit(1)
    )
    if recording is None or recording.storage_key is None:
        raise NotFound(f"phone call {phone_call_id} has no stored recording")
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="recording.play",
        entity_type="recording",
        entity_id=recording.id,
        detail={"phone_call_id": phone_call_id},
    )
    return recording


# --- fetching from Twilio ---------------------------------------------------------------------------------


class FetchFailed(Exception):
    """The audio could not be fetched (network error or a non-2xx answer)."""


def audio_url(source_url: str, rewrite: Callable[[str], str]) -> str:
    """Twilio's recording URL as a WAV download, sent where the twilio client would send it."""
    url = source_url if source_url.endswith((".wav", ".mp3")) else source_url + ".wav"
    return rewrite(url)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every pass (making one reads the CA bundle: tens of ms of the event loop)."""
    return ssl.create_default_context()


class RecordingKeeper:
    """The recordings' timer: fetch what is due, then delete what is past retention; idempotent steps, so
    every server process may run one."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        settings: Settings,
        store: RecordingStore | None = None,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self.store = store or store_for(settings)
        self._rewrite = BaseUrlHttpClient(settings.twilio_base_url or None).rewrite
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def _in_transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._sessions() as session:
            try:
                result = await work(session)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                await session.rollback()
                raise
        return result

    async def fetch_due(self) -> int:
        """Fetch every due recording (claimed one by one); returns how many were stored."""
        ids = await self._in_transaction(lambda s: due_ids(session=s, now=self._clock.now()))
        if not ids:
            return 0
        stored = 0
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, trust_env=False, verify=_tls()) as http:
            for recording_id in ids:
                stored += await self._fetch_one(http, recording_id)
        return stored

    async def _fetch_one(self, http: httpx.AsyncClient, recording_id: int) -> bool:
        claimed = await self._in_transaction(
            lambda s: claim(session=s, clock=self._clock, recording_id=recording_id)
        )
        if claimed is None:
            return False
        key = storage_key(claimed.twilio_sid, claimed.recorded_at)
        try:
            audio, content_type = await self._download(http, claimed.source_url, key)
        except (FetchFailed, httpx.HTTPError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            logger.info(
                "recording %s: fetch attempt %d failed: %s", claimed.twilio_sid, claimed.attempts, reason
            )
            await self._in_transaction(
                lambda s: mark_attempt_failed(
                    session=s, clock=self._clock, recording_id=recording_id, reason=reason
                )
            )
            return False
        await self._in_transaction(
            lambda s: mark_stored(
                session=s,
                clock=self._clock,
                recording_id=recording_id,
                key=key,
                audio=audio,
                content_type=content_type,
            )
        )
        logger.info("recording %s stored (%d bytes)", claimed.twilio_sid, audio.size_bytes)
        return True

    async def _download(self, http: httpx.AsyncClient, source_url: str, key: str) -> tuple[StoredAudio, str]:
        url = audio_url(source_url, self._rewrite)
        auth = (self._settings.twilio_account_sid, self._settings.twilio_auth_token)
        async with http.stream("GET", url, auth=auth, follow_redirects=True) as response:
            if response.status_code != 200:
                raise FetchFailed(f"HTTP {response.status_code} from {url}")
            content_type = response.headers.get("content-type", DEFAULT_CONTENT_TYPE).split(";")[0].strip()
            audio = await self.store.save(key, response.aiter_bytes())
        if audio.size_bytes == 0:
            raise FetchFailed(f"empty body from {url}")
        return audio, content_type or DEFAULT_CONTENT_TYPE

    async def delete_expired(self) -> int:
        """Delete the audio of recordings past `recording_retention_days`; returns how many."""
        days = self._settings.recording_retention_days
        ids = await self._in_transaction(
            lambda s: expired(session=s, now=self._clock.now(), retention_days=days)
        )
        deleted = 0
        for recording_id in ids:
            recording = await self._in_transaction(self._deleting(recording_id))
            if recording is None or recording.storage_key is None:
                continue
            await self.store.delete(recording.storage_key)
            logger.info(
                "recording %s of phone call %d deleted after %d days (retention)",
                recording.twilio_sid,
                recording.phone_call_id,
                days,
            )
            deleted += 1
        return deleted

    def _deleting(self, recording_id: int) -> Callable[[AsyncSession], Awaitable[Recording | None]]:
        async def work(session: AsyncSession) -> Recording | None:
            return await mark_deleted(session=session, clock=self._clock, recording_id=recording_id)

        return work

    async def run_once(self) -> dict[str, int]:
        """One pass of the timer (-1: a step failed, logged)."""
        done: dict[str, int] = {}
        for name, step in (("fetched", self.fetch_due), ("deleted", self.delete_expired)):
            try:
                done[name] = await step()
            except Exception:
                logger.exception("recordings step %s failed", name)
                done[name] = -1
        return done

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="recordings")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])

    def wake(self) -> None:
        """Run a pass now rather than at the next tick (a recording just became ready)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await set_within(self._wake, self._settings.desk_tick_seconds)
            self._wake.clear()
            await self.run_once()
