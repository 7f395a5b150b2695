"""`POST /webhooks/wechatpay/notify`: the payment platform's notifications. Verified (signature, time
window, decryption) before anything is read; acted on once; answered 200 only once stored, so the
platform retries anything we could not keep."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dispatch.api.deps import ClockDep, ServicesDep, SessionDep
from dispatch.payments import online
from dispatch.payments.platform import NotificationRejected

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.post(online.NOTIFY_PATH)
async def wechatpay_notify(
    request: Request, session: SessionDep, clock: ClockDep, services: ServicesDep
) -> JSONResponse:
    platform = services.payment_platform
    if platform is None:
        return JSONResponse({"code": "FAIL", "message": "online payment is not configured"}, status_code=404)
    body = await request.body()
    try:
        notification = platform.parse_notification(request.headers, body, clock.now())
    except NotificationRejected as rejected:
        logger.warning("payment notification refused: %s", rejected.reason.value)
        return JSONResponse({"code": "FAIL", "message": rejected.reason.value}, status_code=401)
    outcome = await online.take_notification(session, clock, notification)
    logger.info("payment notification %s: %s", notification.notification_id, outcome)
    return JSONResponse({"code": "SUCCESS", "message": "OK"})
