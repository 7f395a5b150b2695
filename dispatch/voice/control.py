"""The console's side of the telephone: agents' seat states (and the wallboard's list), dialling out, and
the controls of a call in progress (hold, mute, add a party, transfer, hang up, wrap-up done). The
controls are for the agent on the call and for supervisors (403 otherwise); without telephony, dialling
and the controls answer 409 (log the call by hand instead)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from dispatch.api.deps import CurrentActor, ServicesDep, SessionDep
from dispatch.errors import Conflict
from dispatch.schemas import RowId
from dispatch.voice import agents, incall, outbound, service
from dispatch.voice.control_schemas import AddPartyIn, AgentStateIn, DialIn, SwitchIn, TransferIn
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import AgentState

router = APIRouter(prefix="/api/v1", tags=["voice"])
NO_TELEPHONY = "no telephony; log the call by hand"


def _desk(services: ServicesDep) -> VoiceDesk:
    if services.voice is None:
        raise Conflict(NO_TELEPHONY)
    return services.voice


@router.put("/agents/me/state")
async def set_my_state(
    body: AgentStateIn,
    session: SessionDep,
    services: ServicesDep,
    actor: CurrentActor,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Ready for calls, away, or offline (409 while a call rings or is on)."""
    assert actor.operator_id is not None  # noqa: S101 - a logged-in operator always has an id
    await agents.set_state(
        session=session, clock=services.clock, operator_id=actor.operator_id, state=AgentState(body.state)
    )
    if services.voice is not None and body.state == AgentState.ready:
        background.add_task(
            services.voice.route_soon
        )  # a waiting caller is offered at once, after the commit
    items = await agents.list_agents(session=session)
    return next(item for item in items if item["operator_id"] == actor.operator_id)


@router.get("/agents")
async def list_agents(session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
    """Every agent and supervisor with their seat state (the wallboard; read-only for agents)."""
    del actor
    return {"items": await agents.list_agents(session=session)}


@router.post("/phone-calls/dial", status_code=201)
async def dial(
    body: DialIn,
    session: SessionDep,
    services: ServicesDep,
    actor: CurrentActor,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Call a number: the operator's own phone rings first, then the number, in one recorded conference."""
    phone_call, phone = await outbound.start_outbound(
        session=session,
        clock=services.clock,
        settings=services.settings,
        actor=actor,
        to=body.to,
        links=outbound.DialLinks(
            call_id=body.call_id,
            follow_up_id=body.follow_up_id,
            care_call_id=body.care_call_id,
            order_id=body.order_id,
            complaint_id=body.complaint_id,
        ),
    )
    background.add_task(_desk(services).dial_agent_soon, phone_call.id, phone)  # after the commit
    return service.phone_call_json(phone_call)


@router.post("/phone-calls/{phone_call_id}/hold")
async def hold(
    phone_call_id: RowId, body: SwitchIn, session: SessionDep, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """Put the caller (or the called party) on hold, or take them off."""
    desk = _desk(services)
    phone_call = await desk.hold(session=session, actor=actor, phone_call_id=phone_call_id, on=body.on)
    return {**service.phone_call_json(phone_call), "held": body.on}


@router.post("/phone-calls/{phone_call_id}/mute")
async def mute(
    phone_call_id: RowId, body: SwitchIn, session: SessionDep, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """Mute or unmute the agent's own line."""
    desk = _desk(services)
    phone_call = await desk.mute(session=session, actor=actor, phone_call_id=phone_call_id, on=body.on)
    return {**service.phone_call_json(phone_call), "muted": body.on}


@router.post("/phone-calls/{phone_call_id}/add-party")
async def add_party(
    phone_call_id: RowId, body: AddPartyIn, session: SessionDep, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """Ring a contact, a provider, 120 or any number into the call (a three-way call)."""
    desk = _desk(services)
    number, label = await incall.party_number(
        session=session,
        settings=services.settings,
        to=body.to,
        contact_id=body.contact_id,
        provider_id=body.provider_id,
        emergency_120=body.emergency_120,
    )
    phone_call = await desk.add_party(
        session=session, actor=actor, phone_call_id=phone_call_id, number=number, label=label
    )
    return service.phone_call_json(phone_call)


@router.post("/phone-calls/{phone_call_id}/transfer")
async def transfer(
    phone_call_id: RowId, body: TransferIn, session: SessionDep, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """Ring another ready agent or supervisor; when they answer they take the call over."""
    desk = _desk(services)
    phone_call = await desk.transfer(
        session=session, actor=actor, phone_call_id=phone_call_id, operator_id=body.operator_id
    )
    return service.phone_call_json(phone_call)


@router.post("/phone-calls/{phone_call_id}/hangup")
async def hang_up(
    phone_call_id: RowId, session: SessionDep, services: ServicesDep, actor: CurrentActor
) -> dict[str, Any]:
    """End the call for everyone on it (the record closes with the legs' status callbacks)."""
    desk = _desk(services)
    phone_call = await desk.hang_up(session=session, actor=actor, phone_call_id=phone_call_id)
    return service.phone_call_json(phone_call)


@router.post("/phone-calls/{phone_call_id}/wrap-up-done")
async def wrap_up_done(
    phone_call_id: RowId,
    session: SessionDep,
    services: ServicesDep,
    actor: CurrentActor,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """The after-call work of this call is done: the agent is ready."""
    phone_call = await incall.wrap_up_done(
        session=session, clock=services.clock, actor=actor, phone_call_id=phone_call_id
    )
    if services.voice is not None:
        background.add_task(services.voice.route_soon)
    return service.phone_call_json(phone_call)
