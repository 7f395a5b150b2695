"""Twilio's voice wire formats, without I/O: number checks, call statuses, multi-valued forms, WAV audio."""

from __future__ import annotations

import io
import math
import re
import wave
from collections.abc import Container, Mapping
from urllib.parse import parse_qsl

import phonenumbers

from simulators.fake_twilio.wire import E164, TwilioError

CLIENT = re.compile(r"client:[A-Za-z0-9_.\-]{1,256}")
SIP = re.compile(r"sip:\S+@\S+")
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
WAV_RATE = 8000  # 8 kHz mono 16-bit: small, and what telephony records anyway
MAX_WAV_SECONDS = 30  # the file is capped; RecordingDuration still tells the real length


class MultiForm:
    """A url-encoded form keeping every value of a repeated field (`StatusCallbackEvent=a&...=b`)."""

    def __init__(self, body: str) -> None:
        self.pairs = parse_qsl(body, keep_blank_values=True)

    def get(self, name: str, default: str = "") -> str:
        """The first value of `name`."""
        return next((value for key, value in self.pairs if key == name), default)

    def all(self, name: str) -> list[str]:
        """Every value of `name`, space-separated lists split too."""
        return [part for key, value in self.pairs if key == name for part in value.split()]

    def flag(self, name: str, default: bool) -> bool:
        """A `true`/`false` field (Twilio's booleans); anything else is a 400."""
        value = self.get(name, "").strip().lower()
        if not value:
            return default
        if value not in ("true", "false"):
            raise TwilioError(400, 20001, f"Invalid value for {name}: {value}")
        return value == "true"

    def number(self, name: str, default: float) -> float:
        """A non-negative number field."""
        value = self.get(name, "").strip()
        if not value:
            return default
        try:
            parsed = float(value)
        except ValueError:
            raise TwilioError(400, 20001, f"Invalid value for {name}: {value}") from None
        if parsed < 0:
            raise TwilioError(400, 20001, f"Invalid value for {name}: {value}")
        return parsed


def is_dialable(number: str) -> bool:
    """An E.164 number, a `client:name` identity or a SIP address."""
    return bool(E164.fullmatch(number) or CLIENT.fullmatch(number) or SIP.fullmatch(number))


def check_call_to(to: str, scripted: Container[str] = ()) -> None:
    """Refuse a missing (21201), malformed (21211) or impossible (21217) `To` of a call; a number with a
    phone script (e.g. a short number like +86120) is taken as possible."""
    if not to:
        raise TwilioError(400, 21201, "No 'To' number is specified")
    if not is_dialable(to):
        raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if E164.fullmatch(to) and to not in scripted and not _possible(to):
        raise TwilioError(400, 21217, "Phone number does not appear to be valid")


def check_call_from(sender: str) -> None:
    """Refuse a missing (21213) or malformed (21212) caller ID."""
    if not sender:
        raise TwilioError(400, 21213, "No 'From' number is specified")
    if not (E164.fullmatch(sender) or CLIENT.fullmatch(sender)):
        raise TwilioError(400, 21212, f"Invalid From Number (caller ID): {sender}")


def check_callback_url(url: str, name: str) -> None:
    """Refuse a URL Twilio could not call (21205)."""
    if url and not re.fullmatch(r"https?://[^\s/_]+(/\S*)?", url):
        raise TwilioError(400, 21205, f"{name} is not a valid URL: {url}")


def _possible(number: str) -> bool:
    """Whether libphonenumber finds the number possible (length fits its country)."""
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(number)))
    except phonenumbers.NumberParseException:
        return False


def events_wanted(events: list[str], status_callback: str | None) -> frozenset[str]:
    """The call progress events to post: `completed` alone when a callback is set without events."""
    if not status_callback:
        return frozenset()
    return frozenset(events) if events else frozenset({"completed"})


def event_of(status: str) -> str:
    """The StatusCallbackEvent a call status belongs to."""
    return {"queued": "initiated", "initiated": "initiated", "ringing": "ringing"}.get(
        status, "answered" if status == "in-progress" else "completed"
    )


def wav_bytes(seconds: float, *, tone_hz: float = 425.0) -> bytes:
    """A valid 8 kHz mono 16-bit WAV of `seconds` (capped at 30 s): a quiet tone, as audio to play back."""
    frames = int(WAV_RATE * max(0.0, min(seconds, MAX_WAV_SECONDS)))
    one_cycle = [int(3000 * math.sin(2 * math.pi * tone_hz * i / WAV_RATE)) for i in range(WAV_RATE // 25)]
    samples = b"".join(sample.to_bytes(2, "little", signed=True) for sample in one_cycle)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        whole, rest = divmod(frames, len(one_cycle))
        out.writeframes(samples * whole + samples[: rest * 2])
    return buffer.getvalue()


def flags(values: Mapping[str, bool]) -> dict[str, str]:
    """Booleans as Twilio writes them in callbacks (`true`/`false`)."""
    return {name: "true" if value else "false" for name, value in values.items()}
