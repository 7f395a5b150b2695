"""A call in progress: transfer to another agent, who may control it, adding a party, hold and mute
messages, the end of the after-call work."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator
from dispatch.bus.outbox import announce
from dispatch.calls import service as calls
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.clock import Clock
from dispatch.elders.models import Contact
from dispatch.errors import Conflict, NotFound, PermissionDenied
from dispatch.providers.models import Provider
from dispatch.settings import Settings
from dispatch.voice import agents
from dispatch.voice.models import AgentState, PhoneCall, PhoneCallState
from dispatch.voice.service import ANSWERED, FINAL_LEG_STATUSES, Actions, announce_phone, get, phone_call_json

# --- transfer ------------------------------------------------------------------------------------------


async def transfer_leg(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    phone_call: PhoneCall,
    operator_id: int,
    sid: str,
    status: str,
) -> Actions:
    """The agent a call is transferred to answered (they take it over, the first agent's leg is hung up
    and goes to wrap-up) or did not (they are free again, the first agent keeps the call)."""
    if phone_call.offered_agent_id != operator_id or phone_call.state != PhoneCallState.talking:
        return Actions(hang_up=[sid]) if status == ANSWERED else Actions()
    if status == ANSWERED:
        actions = Actions()
        first, first_leg = phone_call.agent_id, phone_call.agent_leg_sid
        operator = await session.get(Operator, operator_id)
        phone_call.agent_id, phone_call.agent_leg_sid = operator_id, sid
        phone_call.agent_name = operator.display_name if operator else None
        phone_call.offered_agent_id, phone_call.updated_at = None, clock.now()
        await session.flush()
        if first is not None:
            await agents.wrap_up(
                session=session,
                clock=clock,
                operator_id=first,
                phone_call_id=phone_call.id,
                seconds=settings.wrap_up_seconds,
            )
        await agents.on_call(
            session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call.id
        )
        if first_leg:
            actions.hang_up.append(first_leg)
        announce_phone(session, phone_call, "updated")
        return actions
    if status in FINAL_LEG_STATUSES:
        phone_call.offered_agent_id, phone_call.updated_at = None, clock.now()
        await session.flush()
        await agents.put_back(
            session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call.id
        )
        announce_phone(session, phone_call, "updated")
    return Actions()


async def start_transfer(
    *, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int, operator_id: int
) -> tuple[PhoneCall, str]:
    """Ring another agent (or supervisor) for a call in progress; returns the call and the phone to ring.
    They must be ready; when they answer they take the call over."""
    phone_call = await _controlled(session, actor, phone_call_id)
    if phone_call.state != PhoneCallState.talking:
        raise Conflict("only a call in progress can be transferred")
    if operator_id == phone_call.agent_id:
        raise Conflict("that agent is already on the call")
    operator = await session.get(Operator, operator_id)
    if operator is None or not operator.active or operator.role not in agents.SEAT_ROLES:
        raise NotFound(f"agent {operator_id} not found")
    if not operator.phone:
        raise Conflict(f"{operator.display_name} has no phone to ring")
    if phone_call.offered_agent_id is not None:
        raise Conflict("a transfer is already ringing")
    was = await agents.claim_for_offer(
        session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call_id
    )
    if was is None:
        raise Conflict(f"{operator.display_name} is not ready")
    phone_call.offered_agent_id, phone_call.updated_at = operator_id, clock.now()
    await session.flush()
    await agents.announce_agent(session, operator_id)
    announce_phone(session, phone_call, "offered", for_operator_id=operator_id)
    return phone_call, operator.phone


async def transfer_failed(
    *, session: AsyncSession, clock: Clock, phone_call_id: int, operator_id: int
) -> None:
    """The transfer's ring could not be placed: the agent is free again."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    if phone_call.offered_agent_id == operator_id and phone_call.state == PhoneCallState.talking:
        phone_call.offered_agent_id = None
        await session.flush()
        announce_phone(session, phone_call, "updated")
    await agents.put_back(session=session, clock=clock, operator_id=operator_id, phone_call_id=phone_call_id)


# --- in-call controls -------------------------------------------------------------------------------


async def _controlled(session: AsyncSession, actor: Actor, phone_call_id: int) -> PhoneCall:
    """The call, if this actor may control it: the agent on it, or a supervisor / admin."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    if phone_call.agent_id != actor.operator_id and not actor.is_manager:
        raise PermissionDenied("only the agent on this call or a supervisor may control it")
    return phone_call


async def controlled(*, session: AsyncSession, actor: Actor, phone_call_id: int) -> PhoneCall:
    """The call (with its legs) for an in-call control; 403 for anyone but its agent or a supervisor."""
    return await _controlled(session, actor, phone_call_id)


def other_side(phone_call: PhoneCall) -> str | None:
    """The leg on the other side from the agent: the caller (inbound) or the target (outbound)."""
    return phone_call.twilio_sid


async def party_number(
    *,
    session: AsyncSession,
    settings: Settings,
    to: str | None,
    contact_id: int | None,
    provider_id: int | None,
    emergency_120: bool,
) -> tuple[str, str]:
    """The number to add to a call and a label for the timeline."""
    if emergency_120:
        return settings.emergency_number, "120"
    if contact_id is not None:
        contact = await session.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        return contact.phone, f"{contact.relation or contact.kind.value} {contact.name}"
    if provider_id is not None:
        provider = await session.get(Provider, provider_id)
        if provider is None:
            raise NotFound(f"provider {provider_id} not found")
        return provider.phone, provider.name
    if to:
        return to, to
    raise Conflict("say whom to add: to, contact_id, provider_id or emergency_120")


async def note_party(
    *, session: AsyncSession, clock: Clock, actor: Actor, phone_call: PhoneCall, label: str
) -> None:
    """A party was added to the call: on its alarm's timeline when it has one, and on the consoles."""
    if phone_call.call_id is not None:
        await calls.record(
            session=session,
            clock=clock,
            actor=actor,
            call_id=phone_call.call_id,
            kind="phone_party",
            text=f"加入通话：{label}",
            phone_call_id=phone_call.id,
        )
        await session.flush()
    announce_phone(session, phone_call, "updated")


def announce_held(session: AsyncSession, phone_call: PhoneCall, *, on: bool) -> None:
    message = {"type": "phone", "change": "held", "held": on, "phone_call": phone_call_json(phone_call)}
    announce(session, CONSOLE_CHANNEL, message)


def announce_muted(session: AsyncSession, phone_call: PhoneCall, *, on: bool) -> None:
    message = {"type": "phone", "change": "updated", "muted": on, "phone_call": phone_call_json(phone_call)}
    announce(session, CONSOLE_CHANNEL, message)


async def wrap_up_done(*, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int) -> PhoneCall:
    """The agent finished the after-call work of this call: ready."""
    phone_call = await _controlled(session, actor, phone_call_id)
    if phone_call.agent_id is None:
        raise Conflict("nobody took this call")
    presence = await agents.presence_of(session=session, operator_id=phone_call.agent_id)
    if presence is None or presence.state != AgentState.wrap_up or presence.phone_call_id != phone_call_id:
        raise Conflict("not in wrap-up after this call")
    await agents.end_wrap_up(session=session, clock=clock, operator_id=phone_call.agent_id)
    return phone_call
