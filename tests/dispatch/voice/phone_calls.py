"""Phone calls written straight into the database, as the telephony would leave them (for the record,
recording and figures tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.voice.models import Direction, PhoneCall, PhoneCallState


async def add_phone_call(session: AsyncSession, *, at: datetime, **overrides: Any) -> PhoneCall:
    """An ended inbound call from an unknown number unless overridden; flushed, not committed."""
    values: dict[str, Any] = {
        "direction": Direction.inbound,
        "state": PhoneCallState.ended,
        "from_number": "+8613700000000",
        "to_number": "+8659112349",
        "tried_agent_ids": [],
        "note": "",
        "created_by": "telephony",
        "created_at": at,
        "updated_at": at,
    }
    values.update(overrides)
    phone_call = PhoneCall(**values)
    session.add(phone_call)
    await session.flush()
    return phone_call
