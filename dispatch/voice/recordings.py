"""Recordings of phone calls. A minimal stand-in until the recordings work lands: the recording-status
webhook stores a pending row once per RecordingSid; fetching, storing and retention come with that work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from dispatch.errors import NotFound
from dispatch.voice.models import PhoneCall, Recording, RecordingState


async def recording_ready(
    *,
    session: AsyncSession,
    clock: Clock,
    phone_call_id: int,
    recording_sid: str,
    url: str,
    duration_s: int | None,
) -> Recording:
    """Twilio has a recording of this call: a pending row (once per RecordingSid), fetched later."""
    existing = await session.scalar(select(Recording).where(Recording.twilio_sid == recording_sid))
    if existing is not None:
        return existing
    if await session.get(PhoneCall, phone_call_id) is None:
        raise NotFound(f"phone call {phone_call_id} not found")
    now = clock.now()
    recording = Recording(
        phone_call_id=phone_call_id,
        twilio_sid=recording_sid,
        source_url=url,
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
            await session.flush()
    except IntegrityError:
        again = await session.scalar(select(Recording).where(Recording.twilio_sid == recording_sid))
        if again is None:
            raise
        return again
    return recording
