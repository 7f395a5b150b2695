"""The SMS outbox and log for the console, and replies typed in by an agent. Lists show personal texts
masked (`body_masked`); one message read whole is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dispatch.api.deps import ClockDep, CurrentActor, PagingDep, SessionDep, SettingsDep
from dispatch.notify import service
from dispatch.notify.masking import list_body
from dispatch.notify.models import SmsDirection, SmsMessage, SmsPurpose, SmsStatus
from dispatch.offers import service as offers
from dispatch.schemas import Page, PhoneNumber, RowId

router = APIRouter(prefix="/api/v1/sms", tags=["sms"])


class SmsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: SmsDirection
    to: str = Field(validation_alias="to_number")
    from_: str = Field(validation_alias="from_number", serialization_alias="from")
    body: str
    body_masked: bool = Field(default=False, description="a list's view; GET /sms/{id} shows it whole")
    purpose: SmsPurpose
    status: SmsStatus
    error_code: str | None
    error_message: str | None  # why it failed (or why the last attempt did, while it is retried)
    attempts: int
    next_attempt_at: datetime | None  # a retry's time, while the gateway is refusing
    call_id: int | None
    offer_id: int | None
    entered_by: str | None
    created_at: datetime
    updated_at: datetime


def _listed(message: SmsMessage) -> SmsRead:
    whole = SmsRead.model_validate(message)
    body = list_body(message.purpose, message.body)
    return whole.model_copy(update={"body": body, "body_masked": body != message.body})


class ReplyIn(BaseModel):
    """A provider's answer that reached an agent some other way (a phone call, an SMS to the outbox's phone)."""

    from_: PhoneNumber = Field(alias="from")
    body: Annotated[str, Field(min_length=1, max_length=320)]


class ReplyOutcomeRead(BaseModel):
    handled: bool
    detail: str


@router.get("/outbox", response_model=Page[SmsRead], response_model_by_alias=True)
async def outbox(session: SessionDep, actor: CurrentActor, paging: PagingDep) -> Page[SmsRead]:
    """Messages kept for the console because no SMS gateway is configured, newest first."""
    items, total = await service.list_messages(
        session=session, limit=paging.limit, offset=paging.offset, status=SmsStatus.outbox
    )
    return Page(items=[_listed(m) for m in items], total=total)


@router.get("", response_model=Page[SmsRead], response_model_by_alias=True)
async def messages(
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    direction: SmsDirection | None = None,
    status: SmsStatus | None = None,
    call_id: RowId | None = None,
) -> Page[SmsRead]:
    """Every message, sent and received, newest first."""
    items, total = await service.list_messages(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        direction=direction,
        status=status,
        call_id=call_id,
    )
    return Page(items=[_listed(m) for m in items], total=total)


@router.post("/replies", response_model=ReplyOutcomeRead, status_code=201)
async def enter_reply(
    body: ReplyIn, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> ReplyOutcomeRead:
    """Apply a provider's reply as if it had arrived by SMS (recorded with the agent's name)."""
    recorded = await service.record_inbound(
        session=session,
        clock=clock,
        from_number=body.from_,
        to_number=settings.twilio_from or "outbox",
        body=body.body,
        entered_by=actor.username,
    )
    outcome = await offers.handle_reply(
        session=session,
        clock=clock,
        from_number=recorded.from_number,
        text=recorded.body,
        options=service.options_for(settings),
        entered_by=actor.username,
    )
    return ReplyOutcomeRead(handled=outcome.handled, detail=outcome.detail)


@router.get("/{sms_id}", response_model=SmsRead, response_model_by_alias=True)
async def read_message(sms_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor) -> SmsRead:
    """One message with its whole text; the read is written to the audit log."""
    return SmsRead.model_validate(
        await service.read(session=session, clock=clock, actor=actor, sms_id=sms_id)
    )
