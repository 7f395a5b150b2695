"""`POST /api/v1/device-events`: elders' phones and apps report SOS, falls, positions and vitals.

Each request is signed with the device's own secret: `X-Signature` is the hex HMAC-SHA256 of the
`X-Timestamp` value (Unix seconds) followed directly by the raw body. A retried request (same idempotency
key) is stored once. The body is limited (`DISPATCH_DEVICE_EVENT_MAX_BYTES`, 413 beyond) and counted
while it arrives, before anything else is done with it.

Requests outside the replay window are refused, except alarms (SOS, fall, device alarm): the window
protects signatures, not alarms. An elder's phone whose clock is wrong (a dead battery resets it, a user
sets it by hand) must still raise its SOS. Such an alarm is authenticated by its signature as any other,
stored with `clock_skew_s` in its data and the answer, and a replay of it changes nothing because its
idempotency key is already stored (event rows are kept, so that key is never forgotten).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from dispatch.api.deps import ClockDep, ServicesDep, SessionDep, SettingsDep
from dispatch.api.errors import error_responses
from dispatch.bus.outbox import enqueue
from dispatch.errors import PayloadTooLarge, Unauthenticated
from dispatch.ingest import service
from dispatch.ingest.events import RULES_STREAM, EventType, IncomingEvent, Position
from dispatch.ingest.schemas import PhoneEventAccepted, PhoneEventIn
from dispatch.ingest.secrets import DeviceSecretBox, UnreadableSecret
from dispatch.ingest.service import DeviceRef, Submission

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["device gateway"])


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a device sends for this timestamp and body."""
    return hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()


# Taken whatever the device's clock says (see the module's docstring).
ALARMS_TAKEN_WITH_ANY_CLOCK = frozenset({EventType.sos, EventType.fall, EventType.alarm})


def _clock_skew(timestamp: str, now: float) -> int:
    """Seconds the device's X-Timestamp is ahead of the server's clock (negative: behind)."""
    try:
        return int(timestamp) - int(now)
    except ValueError:
        raise Unauthenticated("X-Timestamp must be Unix seconds") from None


def _check_window(skew: int, window: int, event_type: EventType) -> int | None:
    """None inside the replay window; outside it, the skew to flag on an alarm, else Unauthenticated."""
    if abs(skew) <= window:
        return None
    if event_type not in ALARMS_TAKEN_WITH_ANY_CLOCK:
        raise Unauthenticated("X-Timestamp is outside the replay window")
    return skew


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _event_from(body: PhoneEventIn, clock_skew_s: int | None) -> IncomingEvent:
    data: dict[str, object] = {"source": "phone"}
    if clock_skew_s is not None:
        data["clock_skew_s"] = clock_skew_s
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
    session: SessionDep, box: DeviceSecretBox, device_id: str, timestamp: str, sent: str, raw: bytes
) -> DeviceRef:
    device = await service.find_device(session=session, imei=device_id)
    if device is None or not device.active:
        logger.warning("device-events: unknown or disabled device %r refused", device_id)
        raise Unauthenticated("unknown or disabled device")
    try:
        secret = box.open(device.secret)
    except UnreadableSecret:
        logger.error("device-events: no DISPATCH_DEVICE_SECRET_KEYS key opens the secret of %r", device_id)
        raise Unauthenticated("bad signature") from None
    if not hmac.compare_digest(signature(secret, timestamp, raw), sent.lower()):
        logger.warning("device-events: bad signature from device %r", device_id)
        raise Unauthenticated("bad signature")
    return device


@router.post(
    "/device-events",
    response_model=PhoneEventAccepted,
    response_model_exclude_none=True,
    status_code=202,
    responses=error_responses(401),
)
async def receive_device_event(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    x_device_id: Annotated[str | None, Header(max_length=32)] = None,
    x_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    x_signature: Annotated[str | None, Header(max_length=128)] = None,
) -> PhoneEventAccepted:
    """Store one signed event from a phone or app; answered only once it is committed."""
    if not (x_device_id and x_timestamp and x_signature):
        raise Unauthenticated("X-Device-Id, X-Timestamp and X-Signature headers are required")
    skew = _clock_skew(x_timestamp, clock.now().timestamp())
    raw = await _read_body(request, settings.device_event_max_bytes)
    device = await _authenticate(session, services.device_secrets, x_device_id, x_timestamp, x_signature, raw)
    try:
        body = PhoneEventIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    flagged_skew = _check_window(skew, settings.device_replay_window_seconds, body.event_type)
    if flagged_skew is not None:
        logger.warning(
            "device-events: %s from device %r taken with its clock %+d s off",
            body.event_type,
            x_device_id,
            skew,
        )
    submission = Submission(
        device=device,
        events=[_event_from(body, flagged_skew)],
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
    return PhoneEventAccepted(
        event_ids=result.new_event_ids, duplicate=result.duplicates > 0, clock_skew_s=flagged_skew
    )
