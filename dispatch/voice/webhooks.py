"""Twilio Voice's webhooks: the hotline's incoming calls (greeting, menu, queue) and the legs we ring,
every leg's status, and recordings. On only when voice is configured (404 otherwise); every request must
carry a valid `X-Twilio-Signature` (403 otherwise, nothing stored). The TwiML is answered at once: ringing
agents and everything else asked of Twilio runs after the commit, in the background."""

from __future__ import annotations

import re

from fastapi import APIRouter, BackgroundTasks, Request, Response

from dispatch.api.deps import ServicesDep, SessionDep
from dispatch.errors import NotFound
from dispatch.notify.signature import signed_form
from dispatch.schemas import MAX_ROW_ID
from dispatch.voice import legs, recordings, service, twiml
from dispatch.voice.desk import VoiceDesk
from dispatch.voice.models import Direction, PhoneCall, PhoneCallState
from dispatch.voice.telephony import conference_name

router = APIRouter(prefix="/webhooks/twilio/voice", tags=["webhooks"], include_in_schema=False)

# The phone_call / recording columns the fields go into; nothing Twilio sends is longer.
FIELD_LENGTHS = {
    "CallSid": 64,
    "From": 40,
    "To": 40,
    "Digits": 16,
    "CallStatus": 20,
    "CallDuration": 10,
    "RecordingSid": 64,
    "RecordingUrl": 512,
    "RecordingStatus": 20,
    "RecordingDuration": 10,
    "ConferenceSid": 64,
}
LEGS = {"", "caller", "agent", "target", "party", "transfer"}
TWIML = "text/xml"


def _desk(services: ServicesDep) -> VoiceDesk:
    if services.voice is None:
        raise NotFound("no telephony is configured")
    return services.voice


async def _form(request: Request, services: ServicesDep) -> dict[str, str]:
    settings = services.settings
    return await signed_form(
        request,
        auth_token=settings.twilio_auth_token,
        public_base_url=settings.public_base_url,
        field_lengths=FIELD_LENGTHS,
    )


def _row_id(value: str | None) -> int | None:
    """A row id from the query string, if it can be one."""
    if value and re.fullmatch(r"[0-9]{1,10}", value) and 0 < int(value) <= MAX_ROW_ID:
        return int(value)
    return None


def _seconds(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 7 else None


def _xml(text: str) -> Response:
    return Response(text, media_type=TWIML)


def _queue_twiml(desk: VoiceDesk, phone_call: PhoneCall) -> str:
    return twiml.queue(
        conference=conference_name(phone_call.id),
        recording_callback=desk.recording_url(phone_call.id),
        wait_url=desk.url(step="wait", phone_call_id=phone_call.id),
    )


def _answer(desk: VoiceDesk, phone_call: PhoneCall, *, greeting_url: str) -> str:
    """The caller's TwiML for where their call is now (the same for a repeated webhook)."""
    if phone_call.state == PhoneCallState.menu:
        return twiml.greeting_and_menu(
            greeting_url=greeting_url,
            menu_action=desk.url(step="menu", phone_call_id=phone_call.id),
            no_input_url=desk.url(step="emergency", phone_call_id=phone_call.id),
        )
    if phone_call.state == PhoneCallState.ended:
        return twiml.hang_up()
    return _queue_twiml(desk, phone_call)


@router.post("")
async def voice(
    request: Request, session: SessionDep, services: ServicesDep, background: BackgroundTasks
) -> Response:
    """An incoming call to the hotline, the menu's answer, the waiting message, or a leg we rang."""
    desk = _desk(services)
    form = await _form(request, services)
    query = request.query_params
    leg, step = query.get("leg", ""), query.get("step", "")
    phone_call_id = _row_id(query.get("phone_call_id"))
    if step == "wait":
        return _xml(twiml.waiting())
    if leg in ("agent", "target", "party", "transfer") and phone_call_id is not None:
        operator_id = _row_id(query.get("operator_id"))
        return _xml(await _leg_twiml(session, desk, phone_call_id, leg, operator_id))
    if step in ("menu", "emergency") and phone_call_id is not None:
        digits = form.get("Digits") if step == "menu" else None
        phone_call = await service.choose(
            session=session, clock=services.clock, phone_call_id=phone_call_id, digits=digits
        )
        background.add_task(desk.route_soon)
        return _xml(_answer(desk, phone_call, greeting_url=""))
    call_sid = form.get("CallSid", "")
    if not call_sid or leg or step:
        return _xml(twiml.hang_up())
    phone_call = await service.receive_inbound(
        session=session,
        clock=services.clock,
        call_sid=call_sid,
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
    )
    if phone_call.state == PhoneCallState.queued:
        background.add_task(desk.route_soon)
    return _xml(_answer(desk, phone_call, greeting_url=services.settings.voice_greeting_url))


async def _leg_twiml(
    session: SessionDep, desk: VoiceDesk, phone_call_id: int, leg: str, operator_id: int | None
) -> str:
    """A phone we rang answered: it joins the call's conference (an outbound call's agent starts it,
    recorded); an agent whose offer has moved on, or a call already over, gets a hang-up."""
    phone_call = await service.get(session=session, phone_call_id=phone_call_id)
    if phone_call.state == PhoneCallState.ended or not _still_wanted(phone_call, leg, operator_id):
        return twiml.hang_up()
    records = leg == "agent" and phone_call.direction == Direction.outbound
    return twiml.join(
        conference=conference_name(phone_call_id),
        recording_callback=desk.recording_url(phone_call_id) if records else None,
    )


def _still_wanted(phone_call: PhoneCall, leg: str, operator_id: int | None) -> bool:
    """Whether the agent answering was rung for this call and still is (or already took it)."""
    if leg == "transfer" or (leg == "agent" and phone_call.direction == Direction.inbound):
        return operator_id is not None and operator_id in (phone_call.offered_agent_id, phone_call.agent_id)
    return True


@router.post("/status", status_code=204)
async def leg_status(
    request: Request, session: SessionDep, services: ServicesDep, background: BackgroundTasks
) -> Response:
    """A leg's status: answered, rang out, busy, failed, hung up."""
    desk = _desk(services)
    form = await _form(request, services)
    query = request.query_params
    leg = query.get("leg", "")
    if leg not in LEGS:
        return Response(status_code=204)
    actions = await legs.leg_status(
        session=session,
        clock=services.clock,
        settings=services.settings,
        leg=leg,
        phone_call_id=_row_id(query.get("phone_call_id")),
        operator_id=_row_id(query.get("operator_id")),
        sid=form.get("CallSid", ""),
        status=form.get("CallStatus", ""),
        duration_s=_seconds(form.get("CallDuration")),
    )
    background.add_task(desk.carry_out_soon, actions)
    return Response(status_code=204)


@router.post("/recording", status_code=204)
async def recording_status(
    request: Request, session: SessionDep, services: ServicesDep, background: BackgroundTasks
) -> Response:
    """A conference recording is ready at Twilio: noted (once per RecordingSid), fetched later."""
    _desk(services)
    form = await _form(request, services)
    phone_call_id = _row_id(request.query_params.get("phone_call_id"))
    sid, url = form.get("RecordingSid", ""), form.get("RecordingUrl", "")
    if phone_call_id is None or not sid or not url or form.get("RecordingStatus", "completed") != "completed":
        return Response(status_code=204)
    await recordings.recording_ready(
        session=session,
        clock=services.clock,
        phone_call_id=phone_call_id,
        recording_sid=sid,
        url=url,
        duration_s=_seconds(form.get("RecordingDuration")),
    )
    if services.recordings is not None:
        background.add_task(services.recordings.wake)  # fetch it now rather than at the next tick
    return Response(status_code=204)
