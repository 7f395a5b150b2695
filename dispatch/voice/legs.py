"""What a leg's status callback means, by leg: the inbound caller's, the agent's (inbound or outbound),
the outbound target's, a transfer's; an added party's status changes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from dispatch.settings import Settings
from dispatch.voice import incall, outbound
from dispatch.voice.models import Direction, PhoneCall
from dispatch.voice.service import FINAL_LEG_STATUSES, Actions, by_twilio_sid, caller_left, inbound_agent_leg


async def leg_status(
    *,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    leg: str,
    phone_call_id: int | None,
    operator_id: int | None,
    sid: str,
    status: str,
    duration_s: int | None,
) -> Actions:
    """One status callback of a leg: the caller's (inbound), the agent's, the outbound target's, an added
    party's or a transfer's."""
    if leg in ("", "caller"):
        phone_call = await by_twilio_sid(session=session, sid=sid)
        if phone_call is None or status not in FINAL_LEG_STATUSES:
            return Actions()
        return await caller_left(session=session, clock=clock, settings=settings, phone_call=phone_call)
    if phone_call_id is None:
        return Actions()
    phone_call = await session.get(PhoneCall, phone_call_id, populate_existing=True)
    if phone_call is None:
        return Actions()
    if leg == "agent" and phone_call.direction == Direction.inbound:
        return await inbound_agent_leg(session, clock, phone_call, operator_id, sid, status)
    if leg == "agent":
        return await outbound.agent_leg(session, clock, settings, phone_call, sid, status)
    if leg == "target":
        return await outbound.target_leg(session, clock, settings, phone_call, sid, status, duration_s)
    if leg == "transfer" and operator_id is not None:
        return await incall.transfer_leg(session, clock, settings, phone_call, operator_id, sid, status)
    return Actions()
