"""The job page's link tokens (pure): `<offer id>.<expiry>.<signature>`, short enough for an SMS.

The offer id and the expiry (Unix minutes) are written in base 36; the signature is the first 12 bytes of
an HMAC-SHA256 over both, keyed with a key derived from the server's secret key, in unpadded base64url.
Nothing is stored: the server checks the signature, then the time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dispatch.errors import Gone, PermissionDenied

SIGNATURE_BYTES = 12  # 96 bits (16 base64url characters, no padding): hopeless to guess, still short
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_TOKEN = re.compile(r"^(?P<offer>[0-9a-z]{1,13})\.(?P<expires>[0-9a-z]{1,7})\.(?P<sig>[A-Za-z0-9_-]{16})$")
_PURPOSE = b"dispatch.jobpage.link.v1"


@dataclass(frozen=True, slots=True)
class JobLink:
    """What a valid token names: one offer, until a moment."""

    offer_id: int
    expires_at: datetime


class LinkTampered(PermissionDenied):
    """The token was not made by this server (or was changed)."""

    code = "link_invalid"


class LinkExpired(Gone):
    """The token is genuine but past its time."""

    code = "link_expired"


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if number == 0:
            return digits


def _key(secret_key: str) -> bytes:
    """A key for links only, so a link's signature is never valid for anything else the secret signs."""
    return hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _signature(secret_key: str, payload: str) -> str:
    digest = hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(secret_key: str, offer_id: int, expires_at: datetime) -> str:
    """A token naming this offer until `expires_at` (rounded up to the minute)."""
    if offer_id < 1:
        raise ValueError("offer ids are positive")
    minutes = -(-int(expires_at.timestamp()) // 60)
    payload = f"{_base36(offer_id)}.{_base36(minutes)}"
    return f"{payload}.{_signature(secret_key, payload)}"


def read_token(secret_key: str, token: str, now: datetime) -> JobLink:
    """The offer and expiry a token names; LinkTampered (403) if it was not signed by us, LinkExpired (410)
    if its time has passed."""
    match = _TOKEN.match(token)
    if match is None:
        raise LinkTampered("this link is not valid")
    payload = f"{match['offer']}.{match['expires']}"
    if not hmac.compare_digest(_signature(secret_key, payload), match["sig"]):
        raise LinkTampered("this link is not valid")
    try:
        expires_at = datetime.fromtimestamp(int(match["expires"], 36) * 60, tz=UTC)
    except (OverflowError, ValueError, OSError):  # only a token we signed gets here; ours never overflow
        raise LinkTampered("this link is not valid") from None
    link = JobLink(offer_id=int(match["offer"], 36), expires_at=expires_at)
    if now >= link.expires_at:
        raise LinkExpired("this link has expired", params={"expired_at": link.expires_at.isoformat()})
    return link


def link_expiry(*, window_end: datetime | None, offer_deadline: datetime, grace: timedelta) -> datetime:
    """An order's link lives until its window's end plus the grace; an emergency's until the offer's deadline
    plus the grace."""
    return (window_end or offer_deadline) + grace


def job_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/p/{token}"
