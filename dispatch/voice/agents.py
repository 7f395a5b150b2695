"""Agents' seat states (ready / ringing / on_call / wrap_up / away / offline): set on the console and by
the telephony, every change announced to the consoles (the wallboard). Only ready agents are offered calls;
offering claims the agent with one conditional UPDATE, so two processes never ring one agent twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.models import Operator, Role
from dispatch.bus.outbox import announce
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.clock import Clock
from dispatch.errors import Conflict, NotFound
from dispatch.voice.models import AgentPresence, AgentState
from dispatch.voice.routing import Seat

SEAT_ROLES = (Role.agent, Role.supervisor)
CHOSEN_STATES = (AgentState.ready, AgentState.away, AgentState.offline)  # what an agent may pick
BUSY_STATES = (AgentState.ringing, AgentState.on_call)


def agent_json(operator: Operator, presence: AgentPresence | None) -> dict[str, Any]:
    """One seat on the wallboard."""
    return {
        "operator_id": operator.id,
        "display_name": operator.display_name,
        "role": operator.role.value,
        "state": presence.state.value if presence else AgentState.offline.value,
        "since": presence.since.isoformat() if presence else None,
        "ready_since": presence.ready_since.isoformat() if presence and presence.ready_since else None,
        "wrap_up_until": presence.wrap_up_until.isoformat() if presence and presence.wrap_up_until else None,
        "phone_call_id": presence.phone_call_id if presence else None,
        "has_phone": bool(operator.phone),
    }


async def _operator(session: AsyncSession, operator_id: int) -> Operator:
    operator = await session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    return operator


async def announce_agent(session: AsyncSession, operator_id: int) -> None:
    """Tell the consoles (the wallboard) an agent's state now."""
    operator = await _operator(session, operator_id)
    presence = await presence_of(session=session, operator_id=operator_id)
    message = {
        "type": "agent",
        "operator_id": operator.id,
        "display_name": operator.display_name,
        "state": presence.state.value if presence else AgentState.offline.value,
        "since": presence.since.isoformat() if presence else None,
        "phone_call_id": presence.phone_call_id if presence else None,
    }
    announce(session, CONSOLE_CHANNEL, message, key=("agent", operator.id))


async def presence_of(*, session: AsyncSession, operator_id: int) -> AgentPresence | None:
    """The operator's seat as committed (None: never signed in to a seat = offline)."""
    return await session.scalar(
        select(AgentPresence)
        .where(AgentPresence.operator_id == operator_id)
        .execution_options(populate_existing=True)
    )


async def _seat(session: AsyncSession, clock: Clock, operator_id: int) -> AgentPresence:
    """The operator's seat row, made (offline) on first use."""
    presence = await presence_of(session=session, operator_id=operator_id)
    if presence is None:
        now = clock.now()
        presence = AgentPresence(
            operator_id=operator_id, state=AgentState.offline, since=now, ready_since=None, updated_at=now
        )
        session.add(presence)
        await session.flush()
    return presence


async def set_state(
    *, session: AsyncSession, clock: Clock, operator_id: int, state: AgentState
) -> AgentPresence:
    """The agent's own choice: ready, away or offline; Conflict while a call rings or is on."""
    if state not in CHOSEN_STATES:
        raise Conflict(f"an agent cannot choose the state {state.value}")
    operator = await _operator(session, operator_id)
    if operator.role not in SEAT_ROLES:
        raise Conflict("only agents and supervisors take calls")
    presence = await _seat(session, clock, operator_id)
    current = presence.state
    if current in BUSY_STATES:
        raise Conflict(
            f"you are {current.value.replace('_', ' ')}: finish the call first",
            reason="finish_call_first",
            params={"agent_state": current.value},
        )
    if current == state:
        return presence
    now = clock.now()
    changed = await session.execute(
        update(AgentPresence)
        .where(AgentPresence.operator_id == operator_id, AgentPresence.state == current)
        .values(
            state=state,
            since=now,
            ready_since=now if state == AgentState.ready else None,
            wrap_up_until=None,
            after_wrap_up=None,
            phone_call_id=None,
            updated_at=now,
        )
        .returning(AgentPresence.operator_id)
    )
    if changed.scalar() is None:
        raise Conflict("your state changed meanwhile (a call was offered?): reload")
    await session.refresh(presence)
    await announce_agent(session, operator_id)
    return presence


async def log_out(*, session: AsyncSession, clock: Clock, operator_id: int) -> None:
    """Logging out takes the seat offline; during a call (or its wrap-up), once the call and its wrap-up
    are over."""
    presence = await presence_of(session=session, operator_id=operator_id)
    if presence is None or presence.state == AgentState.offline:
        return
    if presence.state in (*BUSY_STATES, AgentState.wrap_up):
        presence.after_wrap_up, presence.updated_at = AgentState.offline, clock.now()
        await session.flush()
        return
    await set_state(session=session, clock=clock, operator_id=operator_id, state=AgentState.offline)


async def seats(*, session: AsyncSession) -> list[tuple[Seat, str]]:
    """Seats that could be offered a call (ready or in wrap-up, active, with a phone to ring) and the
    phone of each."""
    rows = await session.execute(
        select(AgentPresence.operator_id, AgentPresence.state, AgentPresence.ready_since, Operator.phone)
        .join(Operator, Operator.id == AgentPresence.operator_id)
        .where(
            AgentPresence.state.in_([AgentState.ready, AgentState.wrap_up]),
            Operator.active.is_(True),
            Operator.phone.is_not(None),
            Operator.phone != "",
        )
    )
    return [(Seat(r.operator_id, AgentState(r.state), r.ready_since), str(r.phone)) for r in rows]


async def claim_for_offer(
    *, session: AsyncSession, clock: Clock, operator_id: int, phone_call_id: int, from_wrap_up: bool = False
) -> AgentState | None:
    """Ring this agent for a call, if they are still free (one conditional UPDATE); returns the state they
    were in (to put them back if the call is gone), None if someone else got them first."""
    states = [AgentState.ready, AgentState.wrap_up] if from_wrap_up else [AgentState.ready]
    for state in states:
        now = clock.now()
        claimed = await session.execute(
            update(AgentPresence)
            .where(AgentPresence.operator_id == operator_id, AgentPresence.state == state)
            .values(state=AgentState.ringing, since=now, phone_call_id=phone_call_id, updated_at=now)
            .returning(AgentPresence.operator_id)
        )
        if claimed.scalar() is not None:
            return state
    return None


async def put_back(
    *,
    session: AsyncSession,
    clock: Clock,
    operator_id: int,
    phone_call_id: int,
    state: AgentState = AgentState.ready,
    back_of_line: bool = False,
) -> bool:
    """An agent rung for this call is free again (the call went elsewhere, was not answered, or the ring
    failed): ready (at the back of the line when they let it ring out), or the state they were in."""
    now = clock.now()
    values: dict[str, Any] = {"state": state, "since": now, "updated_at": now}
    if state == AgentState.ready:
        values["phone_call_id"] = None
        values["wrap_up_until"] = None
        if back_of_line:
            values["ready_since"] = now
    moved = await session.execute(
        update(AgentPresence)
        .where(
            AgentPresence.operator_id == operator_id,
            AgentPresence.state == AgentState.ringing,
            AgentPresence.phone_call_id == phone_call_id,
        )
        .values(**values)
        .returning(AgentPresence.operator_id)
    )
    if moved.scalar() is None:
        return False
    presence = await presence_of(session=session, operator_id=operator_id)
    if presence is not None and presence.state == AgentState.ready and presence.ready_since is None:
        presence.ready_since = now
    await announce_agent(session, operator_id)
    return True


async def on_call(*, session: AsyncSession, clock: Clock, operator_id: int, phone_call_id: int) -> None:
    """The agent is talking (answered an offer, or dials out)."""
    presence = await _seat(session, clock, operator_id)
    now = clock.now()
    if presence.state in (AgentState.away, AgentState.offline):  # dialling out from away: away again after
        presence.after_wrap_up = presence.state
    presence.state, presence.since, presence.phone_call_id = AgentState.on_call, now, phone_call_id
    presence.wrap_up_until, presence.updated_at = None, now
    await session.flush()
    await announce_agent(session, operator_id)


async def wrap_up(
    *, session: AsyncSession, clock: Clock, operator_id: int, phone_call_id: int, seconds: int
) -> None:
    """The call is over: after-call work for `seconds`, then ready (by the timer)."""
    presence = await presence_of(session=session, operator_id=operator_id)
    if presence is None or presence.phone_call_id != phone_call_id or presence.state not in BUSY_STATES:
        return
    now = clock.now()
    presence.state, presence.since, presence.updated_at = AgentState.wrap_up, now, now
    presence.wrap_up_until = now + timedelta(seconds=seconds)
    await session.flush()
    await announce_agent(session, operator_id)


async def end_wrap_up(*, session: AsyncSession, clock: Clock, operator_id: int) -> AgentPresence:
    """The agent is done with the after-call work: ready now."""
    presence = await presence_of(session=session, operator_id=operator_id)
    if presence is None or presence.state != AgentState.wrap_up:
        raise Conflict("not in wrap-up")
    await _ready_again(session, clock, [operator_id])
    await session.refresh(presence)
    return presence


async def end_wrap_ups(*, session: AsyncSession, clock: Clock) -> int:
    """Every wrap-up whose time is up: ready again."""
    now = clock.now()
    due = await session.scalars(
        select(AgentPresence.operator_id).where(
            AgentPresence.state == AgentState.wrap_up, AgentPresence.wrap_up_until <= now
        )
    )
    return await _ready_again(session, clock, list(due))


async def _ready_again(session: AsyncSession, clock: Clock, operator_ids: list[int]) -> int:
    """Wrap-up over: ready, or offline for an agent who logged out meanwhile."""
    now = clock.now()
    done = 0
    for operator_id in operator_ids:
        presence = await presence_of(session=session, operator_id=operator_id)
        if presence is None or presence.state != AgentState.wrap_up:
            continue
        following = presence.after_wrap_up or AgentState.ready
        moved = await session.execute(
            update(AgentPresence)
            .where(AgentPresence.operator_id == operator_id, AgentPresence.state == AgentState.wrap_up)
            .values(
                state=following,
                since=now,
                ready_since=now if following == AgentState.ready else None,
                wrap_up_until=None,
                after_wrap_up=None,
                phone_call_id=None,
                updated_at=now,
            )
            .returning(AgentPresence.operator_id)
        )
        if moved.scalar() is not None:
            done += 1
            await announce_agent(session, operator_id)
    return done


async def list_agents(*, session: AsyncSession) -> list[dict[str, Any]]:
    """Every active agent and supervisor with their seat state (the wallboard)."""
    rows = await session.execute(
        select(Operator, AgentPresence)
        .outerjoin(AgentPresence, AgentPresence.operator_id == Operator.id)
        .where(Operator.active.is_(True), Operator.role.in_(SEAT_ROLES))
        .order_by(Operator.display_name, Operator.id)
    )
    return [agent_json(operator, presence) for operator, presence in rows.all()]
