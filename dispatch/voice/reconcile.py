"""Status callbacks that never came: a phone call still open in our records with no news for
`DISPATCH_VOICE_RECONCILE_SECONDS` has its legs looked up at the phone network, and a leg found over is
taken as if its final status callback had arrived (the caller gone: abandoned or ended; an agent's ring
gone unanswered: the next agent). Without this a lost callback would leave a caller "waiting" forever and
agents rung into an empty conference. Each call is claimed (its `updated_at` moved on with one
conditional UPDATE), so with several processes one looks, and it is looked at again only after another
quiet period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from dispatch.voice.models import Direction, PhoneCall, PhoneCallState

OPEN_STATES = (PhoneCallState.menu, PhoneCallState.queued, PhoneCallState.ringing, PhoneCallState.talking)
BATCH = 20


@dataclass(frozen=True, slots=True)
class LegToCheck:
    """One leg of a quiet call, named as its status callback would name it."""

    phone_call_id: int
    leg: str  # "caller" (inbound), "target" (outbound), "agent"
    sid: str
    operator_id: int | None


async def claim_quiet_calls(*, session: AsyncSession, clock: Clock, quiet_seconds: int) -> list[LegToCheck]:
    """The legs of open phone calls nobody has heard of for `quiet_seconds`, each call claimed."""
    now = clock.now()
    quiet = (
        await session.scalars(
            select(PhoneCall)
            .where(
                PhoneCall.state.in_(OPEN_STATES),
                PhoneCall.updated_at < now - timedelta(seconds=quiet_seconds),
                PhoneCall.by_hand.is_(False),
            )
            .order_by(PhoneCall.updated_at)
            .limit(BATCH)
        )
    ).all()
    legs: list[LegToCheck] = []
    for phone_call in quiet:
        claimed = await session.scalar(
            update(PhoneCall)
            .where(PhoneCall.id == phone_call.id, PhoneCall.updated_at == phone_call.updated_at)
            .values(updated_at=now)
            .returning(PhoneCall.id)
            .execution_options(synchronize_session=False)
        )
        if claimed is not None:
            legs.extend(legs_of(phone_call))
    return legs


def legs_of(phone_call: PhoneCall) -> list[LegToCheck]:
    """The legs we know of: the caller's (inbound) or the target's (outbound), and the agent's."""
    found: list[LegToCheck] = []
    if phone_call.twilio_sid:
        leg = "caller" if phone_call.direction == Direction.inbound else "target"
        found.append(LegToCheck(phone_call.id, leg, phone_call.twilio_sid, None))
    if phone_call.agent_leg_sid:
        ringing = phone_call.state == PhoneCallState.ringing and phone_call.direction == Direction.inbound
        operator_id = phone_call.offered_agent_id if ringing else phone_call.agent_id
        found.append(LegToCheck(phone_call.id, "agent", phone_call.agent_leg_sid, operator_id))
    return found
