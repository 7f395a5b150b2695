"""What a call's moves mean for the other domains (the steps that cross them live here, not inside one
domain's service): a call that leaves its open states ends its jobs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.calls import service as calls
from dispatch.calls.models import Call
from dispatch.calls.states import OPEN_STATES, CallState
from dispatch.clock import Clock
from dispatch.notify.service import SmsOptions
from dispatch.offers import service as offers

WORK_DONE_STATES = frozenset({CallState.resolved, CallState.closed})


async def move_call(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    call_id: int,
    target: CallState,
    options: SmsOptions,
    outcome: str | None = None,
    note: str = "",
) -> Call:
    """Move the call; once it leaves the open states no job of it stays live (providers told, load
    released)."""
    if target not in OPEN_STATES:
        await offers.lock_live_jobs_of_call(session=session, call_id=call_id)
    call = await calls.transition(
        session=session, clock=clock, actor=actor, call_id=call_id, target=target, outcome=outcome, note=note
    )
    if target not in OPEN_STATES:
        await offers.end_jobs_of_call(
            session=session,
            clock=clock,
            call_id=call_id,
            work_done=target in WORK_DONE_STATES,
            reason=f"call {target.value}",
            options=options,
        )
    return call
