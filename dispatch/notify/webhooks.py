"""Twilio's webhooks: inbound SMS (providers' replies) and delivery reports. Enabled whenever an auth
token is configured (404 otherwise); every request must carry a valid `X-Twilio-Signature` over
`DISPATCH_PUBLIC_BASE_URL` + path and the form parameters, else 403 (logged) and nothing changes."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request, Response

from dispatch.api.deps import ClockDep, SessionDep, SettingsDep
from dispatch.errors import NotFound
from dispatch.notify import service
from dispatch.notify.models import SmsStatus
from dispatch.notify.signature import signed_form
from dispatch.offers import service as offers
from dispatch.offers.deliveries import message_settled
from dispatch.schemas import MAX_ROW_ID
from dispatch.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"], include_in_schema=False)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FIELD_LENGTHS = {"From": 20, "To": 20, "MessageSid": 64, "ErrorCode": 16}  # the sms_message columns


def _sms_id(value: str) -> int | None:
    """Our message id from the status callback's query, if it can be one."""
    if re.fullmatch(r"[0-9]{1,10}", value) and 0 < int(value) <= MAX_ROW_ID:
        return int(value)
    return None


async def _signed_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form Twilio posted, once its signature is verified."""
    if not settings.twilio_auth_token:
        raise NotFound("no SMS gateway is configured")
    return await signed_form(
        request,
        auth_token=settings.twilio_auth_token,
        public_base_url=settings.public_base_url,
        field_lengths=FIELD_LENGTHS,
    )


@router.post("/sms")
async def inbound_sms(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """A text message to our number: a provider's reply to an offer (anything else gets the help text)."""
    form = await _signed_form(request, settings)
    sid = form.get("MessageSid", "")
    if sid and await service.already_received(session=session, sid=sid):  # a retry: answered, not re-applied
        return Response(EMPTY_TWIML, media_type="text/xml")
    recorded = await service.record_inbound(
        session=session,
        clock=clock,
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        body=form.get("Body", ""),
        sid=sid or None,
    )
    outcome = await offers.handle_reply(
        session=session,
        clock=clock,
        from_number=recorded.from_number,
        text=recorded.body,
        options=service.options_for(settings),
    )
    logger.info("SMS reply %s: %s", recorded.id, outcome.detail)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", status_code=204)
async def delivery_report(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Twilio's report on a message we sent: queued, sent, delivered, undelivered or failed."""
    form = await _signed_form(request, settings)
    try:
        status = SmsStatus(form.get("MessageStatus", ""))
    except ValueError:
        return Response(status_code=204)  # statuses we do not track (accepted, scheduled, read...)
    message = await service.record_status(
        session=session,
        clock=clock,
        sid=form.get("MessageSid", ""),
        status=status,
        error_code=form.get("ErrorCode") or None,
        sms_id=_sms_id(request.query_params.get("sms_id", "")),
    )
    if message is not None:
        await message_settled(
            session=session, clock=clock, message=message, options=service.options_for(settings)
        )
    return Response(status_code=204)
