"""`POST /api/v1/device-events`: elders' phones and apps report SOS, falls, positions and vitals.

Each request is signed with the device's own secret: `X-Signature` is the hex HMAC-SHA256 of the
`X-Timestamp` value (Unix seconds) followed directly by the raw body. Requests outside the replay window
are refused; a retried request (same idempotency key) is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from dispatch.api.deps import ClockDep, SessionDep, SettingsDep
from dispatch.api.errors import error_responses
from dispatch.bus.outbox import enqueue
from dispatch.errors import Unauthenticated
from dispatch.ingest import service
from dispatch.ingest.events import RULES_STREAM, IncomingEvent, Position
from dispatch.ingest.schemas import PhoneEventAccepted, PhoneEventIn
from dispatch.ingest.service import DeviceRef, Submission

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["device gateway"])


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a device sends for this timestamp and body."""
    return hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()


def _check_timestamp(timestamp: str, now: float, window: int) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        raise Unauthenticated("X-Timestamp must be Unix seconds") from None
    if abs(now - sent) > window:
        raise Unauthenticated("X-Timestamp is outside the replay window")


def _event_from(body: PhoneEventIn) -> IncomingEvent:
    data: dict[str, object] = {"source": "phone"}
    if body.vitals is not None:
        data.update(body.vitals.model_dump(exclude_none=True))
    if body.battery is not None:
        data["battery"] = body.battery
    if body.service_request is not None:
        data["service_request"] = body.service_request.model_dump(mode="json")
    if body.position is not None and body.position.accuracy_m is not None:
        data["accuracy_m"] = body.position.accuracy_m
    position = None
    if body.position is not None:
        position = Position(lon=body.position.lon, lat=body.position.lat, fixed=body.position.fixed)
    return IncomingEvent(type=body.event_type, device_time=body.time, position=position, data=data)


async def _authenticate(
    session: SessionDep, device_id: str, timestamp: str, sent: str, raw: bytes
) -> DeviceRef:
    device = await service.find_device(session=session, imei=device_id)
    if device is None or not device.active:
        logger.warning("device-events: unknown or disabled device %r refused", device_id)
        raise Unauthenticated("unknown or disabled device")
    if not hmac.compare_digest(signature(device.secret, timestamp, raw), sent.lower()):
        logger.warning("device-events: bad signature from device %r", device_id)
        raise Unauthenticated("bad signature")
    return device


@router.post(
    "/device-events", response_model=PhoneEventAccepted, status_code=202, responses=error_responses(401)
)
async def receive_device_event(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    x_device_id: Annotated[str | None, Header(max_length=32)] = None,
    x_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    x_signature: Annotated[str | None, Header(max_length=128)] = None,
) -> PhoneEventAccepted:
    """Store one signed event from a phone or app; answered only once it is committed."""
    if not (x_device_id and x_timestamp and x_signature):
        raise Unauthenticated("X-Device-Id, X-Timestamp and X-Signature headers are required")
    _check_timestamp(x_timestamp, clock.now().timestamp(), settings.device_replay_window_seconds)
    raw = await request.body()
    device = await _authenticate(session, x_device_id, x_timestamp, x_signature, raw)
    try:
        body = PhoneEventIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    submission = Submission(
        device=device,
        events=[_event_from(body)],
        message_key=f"http|{body.idempotency_key}",
        received_at=clock.now(),
        battery=body.battery,
        firmware=body.firmware,
    )
    [result] = await service.store(
        session=session, submissions=[submission], silent_after=settings.silent_after_missed_heartbeats
    )
    for message in service.rule_work([result]):
        enqueue(session, RULES_STREAM, message)  # sent once the request's transaction has committed
    return PhoneEventAccepted(event_ids=result.new_event_ids, duplicate=result.duplicates > 0)
