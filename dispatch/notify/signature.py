"""Twilio's webhook signature: the form a request carries, once `X-Twilio-Signature` is verified over
`DISPATCH_PUBLIC_BASE_URL` + path + query and the form parameters (shared by the SMS and voice webhooks)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import Request
from twilio.request_validator import RequestValidator

from dispatch.errors import PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

__all__ = ["signed_form"]


def _fields_fit(form: Mapping[str, str], field_lengths: Mapping[str, int]) -> None:
    """Refuse (422) a signed form whose fields cannot be stored: no number or SID is that long."""
    too_long = sorted(name for name, length in field_lengths.items() if len(form.get(name, "")) > length)
    if too_long:
        raise ValidationFailed(f"Twilio fields too long: {', '.join(too_long)}")


async def signed_form(
    request: Request, *, auth_token: str, public_base_url: str, field_lengths: Mapping[str, int]
) -> dict[str, str]:
    """The form Twilio posted, once its signature is verified (403 otherwise) and its fields fit (422)."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    url = public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    if not RequestValidator(auth_token).validate(url, form, signature):
        logger.warning("Twilio webhook %s refused: bad signature (from %s)", request.url.path, request.client)
        raise PermissionDenied("invalid Twilio signature")
    _fields_fit(form, field_lengths)
    return form
