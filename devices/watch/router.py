"""Downlink commands to a connected watch (locate now, upload interval, SOS numbers, reminders, ...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from devices.watch import codec
from dispatch.api.deps import ClockDep, CurrentActor, ServicesDep, SessionDep
from dispatch.audit import service as audit
from dispatch.elders import service as elders_service
from dispatch.errors import PermissionDenied, ValidationFailed
from dispatch.schemas import RowId

router = APIRouter(prefix="/api/v1", tags=["devices"])

# Commands that switch the watch off, wipe it or change whom its SOS button calls.
SUPERVISOR_COMMANDS = frozenset({"power_off", "reset", "sos_numbers"})


class CommandIn(BaseModel):
    command: str = Field(description=f"one of {', '.join(codec.COMMANDS)}")
    args: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=5)


class CommandResult(BaseModel):
    command: str
    sent: bool
    detail: str


@router.post("/devices/{device_id}/commands", response_model=CommandResult)
async def send_command(
    device_id: RowId,
    body: CommandIn,
    session: SessionDep,
    clock: ClockDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> CommandResult:
    """Send a command to the watch if it is connected to this server; the attempt is audited.
    power_off, reset and sos_numbers are for supervisors and admins."""
    if body.command in SUPERVISOR_COMMANDS and not actor.is_manager:
        raise PermissionDenied(f"only supervisors and admins may send {body.command}")
    device = await elders_service.get_device(session=session, device_id=device_id)
    try:
        content = codec.encode_command(body.command, *body.args)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    sent = services.watch.send_command(device.imei, content)
    detail = "sent to the watch" if sent else "the watch is not connected to this server"
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="device.command",
        entity_type="device",
        entity_id=device_id,
        detail={"command": body.command, "sent": sent},
    )
    return CommandResult(command=body.command, sent=sent, detail=detail)
