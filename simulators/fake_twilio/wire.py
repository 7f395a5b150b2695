"""Twilio's REST wire format, without I/O: SIDs, RFC 2822 dates, SMS segments, number checks, errors."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from email.utils import format_datetime

import phonenumbers

API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # a fixed, obviously fake test account
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"  # noqa: S105 - the fake's well-known test secret

# GSM 03.38: the default alphabet (one septet each) and its extension table (escape + one septet).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

E164 = re.compile(r"\+[1-9]\d{1,14}")
SHORT_CODE = re.compile(r"\d{3,8}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-f]{32}")

# Error codes of failed deliveries, as Twilio reports them in callbacks and on the message.
DELIVERY_ERRORS = {
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}


# What the API answers while it is told to fail (`/_fake/faults`): Twilio's code and message per status.
FAULT_ERRORS = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    502: (20502, "Bad Gateway"),
    503: (20503, "Service Unavailable"),
    504: (20504, "Gateway Timeout"),
}


class TwilioError(Exception):
    """An error answer of the REST API: HTTP status plus Twilio's numeric code (and extra headers)."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The JSON Twilio sends."""
        more_info = f"https://www.twilio.com/docs/errors/{self.code}"
        return {"code": self.code, "message": self.message, "more_info": more_info, "status": self.status}


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None) -> str | None:
    """A date the way the 2010-04-01 API writes them: `Mon, 02 Mar 2026 01:00:00 +0000`."""
    return None if moment is None else format_datetime(moment)


def is_gsm7(body: str) -> bool:
    """Whether the body fits the GSM-7 alphabet (else it goes as UCS-2)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in body)


def _pack(widths: list[int], single: int, multi: int) -> int:
    """How many segments the units fill: `single` fit in one, else `multi` per segment, none split."""
    if sum(widths) <= single:
        return 1
    segments, used = 1, 0
    for width in widths:
        if used + width > multi:
            segments, used = segments + 1, 0
        used += width
    return segments


def num_segments(body: str) -> int:
    """SMS segments: GSM-7 160 / 153 septets, else UCS-2 70 / 67 UTF-16 units (Chinese: 70 / 67 chars)."""
    if is_gsm7(body):
        return _pack([2 if char in GSM7_EXTENDED else 1 for char in body], 160, 153)
    return _pack([len(char.encode("utf-16-le")) // 2 for char in body], 70, 67)


def country_of(number: str) -> str:
    """ISO country of a phone number (`CN` for +86...), empty when unknown, as in Twilio's webhooks."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    except phonenumbers.NumberParseException:
        return ""


def check_to(to: str) -> None:
    """Refuse a missing or non-E.164 `To` (21604, 21211)."""
    if not to:
        raise TwilioError(400, 21604, "A 'To' phone number is required.")
    if not E164.fullmatch(to):
        raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")


def check_sender(sender: str, service_sid: str, own_numbers: frozenset[str]) -> None:
    """Refuse a missing (21603), malformed (21212) or foreign (21606) sender, or a bad service (21705)."""
    if service_sid and not MESSAGING_SERVICE_SID.fullmatch(service_sid):
        raise TwilioError(400, 21705, "The Messaging Service Sid is invalid.")
    if not sender:
        if not service_sid:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        return
    if not any(pattern.fullmatch(sender) for pattern in (E164, SHORT_CODE, ALPHANUMERIC_SENDER)):
        raise TwilioError(400, 21212, f"Invalid From Number (caller ID): {sender}")
    if own_numbers and E164.fullmatch(sender) and sender not in own_numbers:
        raise TwilioError(
            400,
            21606,
            f"The From phone number {sender} is not a valid, SMS-capable inbound phone number "
            "or short code for your account.",
        )


def check_body(body: str) -> None:
    """Refuse an empty body (21602) or one over 1600 characters (21617)."""
    if not body.strip():
        raise TwilioError(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY_CHARS:
        raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")


def not_found(path: str) -> TwilioError:
    """Twilio's 404 for any unknown resource (20404)."""
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def unauthenticated() -> TwilioError:
    """Twilio's 401 for missing or wrong credentials (20003)."""
    return TwilioError(401, 20003, "Authenticate")
