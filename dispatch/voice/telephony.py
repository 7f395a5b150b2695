"""Telephony behind one interface: what the hotline asks of the phone network (ring a phone into a call's
conference, hang a leg up, hold / mute a participant, end a conference), the Twilio Voice implementation
through the real `twilio` client (pointed at `DISPATCH_TWILIO_BASE_URL` when set) and an in-memory one
that records what it was asked, for unit tests of the routing rules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from dispatch.notify.twilio_http import BaseUrlHttpClient

__all__ = [
    "LegStatus",
    "MemoryTelephony",
    "Telephony",
    "TelephonyFailed",
    "TwilioTelephony",
    "conference_name",
]

REQUEST_TIMEOUT_SECONDS = 10.0
LEG_EVENTS = ["initiated", "ringing", "answered", "completed"]


def conference_name(phone_call_id: int) -> str:
    """The Twilio conference that holds one of our phone calls."""
    return f"pc-{phone_call_id}"


@dataclass(frozen=True, slots=True)
class LegStatus:
    status: str  # Twilio's CallStatus: queued, ringing, in-progress, completed, busy, failed, no-answer...
    duration_s: int | None = None


class TelephonyFailed(Exception):
    """The phone network refused or could not be reached; `status` is the HTTP status when it answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Telephony(Protocol):
    async def dial(self, *, to: str, url: str, status_callback: str, ring_seconds: int) -> str:
        """Ring `to`; once answered the phone fetches its TwiML from `url`. Returns the new leg's SID."""

    async def hang_up(self, *, call_sid: str) -> None:
        """End one leg (ringing or in progress)."""

    async def set_hold(self, *, conference: str, call_sid: str, on: bool) -> None:
        """Put a participant of the conference on hold (music) or take them off."""

    async def set_muted(self, *, conference: str, call_sid: str, on: bool) -> None:
        """Mute or unmute a participant of the conference."""

    async def end_conference(self, *, conference: str) -> None:
        """End the conference: every participant is hung up."""

    async def leg_status(self, *, call_sid: str) -> LegStatus:
        """Where one leg is now, as the phone network says (for a status callback that never came)."""


class TwilioTelephony:
    """Twilio Voice through its REST client (synchronous: each request runs in a thread)."""

    def __init__(self, *, account_sid: str, auth_token: str, caller_id: str, base_url: str | None) -> None:
        self._http = BaseUrlHttpClient(base_url or None, timeout=REQUEST_TIMEOUT_SECONDS)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._caller_id = caller_id

    async def dial(self, *, to: str, url: str, status_callback: str, ring_seconds: int) -> str:
        return await asyncio.to_thread(self._dial, to, url, status_callback, ring_seconds)

    def _dial(self, to: str, url: str, status_callback: str, ring_seconds: int) -> str:
        with _refusals():
            call = self._client.calls.create(
                to=to,
                from_=self._caller_id,
                url=url,
                status_callback=status_callback,
                status_callback_event=LEG_EVENTS,
                timeout=ring_seconds,
            )
        return str(call.sid)

    async def hang_up(self, *, call_sid: str) -> None:
        await asyncio.to_thread(self._hang_up, call_sid)

    def _hang_up(self, call_sid: str) -> None:
        with _refusals():
            self._client.calls(call_sid).update(status="completed")

    async def set_hold(self, *, conference: str, call_sid: str, on: bool) -> None:
        await asyncio.to_thread(self._update_participant, conference, call_sid, {"hold": on})

    async def set_muted(self, *, conference: str, call_sid: str, on: bool) -> None:
        await asyncio.to_thread(self._update_participant, conference, call_sid, {"muted": on})

    def _update_participant(self, conference: str, call_sid: str, changes: dict[str, bool]) -> None:
        with _refusals():
            sid = self._conference_sid(conference)
            self._client.conferences(sid).participants(call_sid).update(**changes)

    async def end_conference(self, *, conference: str) -> None:
        await asyncio.to_thread(self._end_conference, conference)

    def _end_conference(self, conference: str) -> None:
        with _refusals():
            self._client.conferences(self._conference_sid(conference)).update(status="completed")

    async def leg_status(self, *, call_sid: str) -> LegStatus:
        return await asyncio.to_thread(self._leg_status, call_sid)

    def _leg_status(self, call_sid: str) -> LegStatus:
        with _refusals():
            call = self._client.calls(call_sid).fetch()
        duration = str(call.duration or "")
        return LegStatus(str(call.status), int(duration) if duration.isdigit() else None)

    def _conference_sid(self, name: str) -> str:
        """The SID of the conference in progress with this friendly name."""
        found = self._client.conferences.list(friendly_name=name, status="in-progress", limit=1)
        if not found:
            raise TelephonyFailed(f"no conference {name} in progress", status=404)
        return str(found[0].sid)


class _refusals:
    """Turn the library's errors into `TelephonyFailed`."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, TwilioRestException):
            raise TelephonyFailed(f"HTTP {exc.status}: {exc.msg}", status=exc.status) from exc
        if isinstance(exc, TwilioException | OSError):
            raise TelephonyFailed(str(exc)) from exc


@dataclass
class MemoryTelephony:
    """Remembers every request (for unit tests of routing); `fail_dials_to` refuses to ring those numbers,
    `not_started` are conferences not in progress (ending one is refused, as Twilio's 404)."""

    requests: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    fail_dials_to: set[str] = field(default_factory=set)
    not_started: set[str] = field(default_factory=set)
    statuses: dict[str, LegStatus] = field(default_factory=dict)  # what leg_status answers (else in progress)
    _next_sid: int = 0

    async def dial(self, *, to: str, url: str, status_callback: str, ring_seconds: int) -> str:
        if to in self.fail_dials_to:
            raise TelephonyFailed("HTTP 500: refused", status=500)
        self._next_sid += 1
        sid = f"CA{self._next_sid:032d}"
        self.requests.append(
            (
                "dial",
                {
                    "to": to,
                    "url": url,
                    "status_callback": status_callback,
                    "ring_seconds": ring_seconds,
                    "sid": sid,
                },
            )
        )
        return sid

    async def hang_up(self, *, call_sid: str) -> None:
        self.requests.append(("hang_up", {"call_sid": call_sid}))

    async def set_hold(self, *, conference: str, call_sid: str, on: bool) -> None:
        self.requests.append(("hold", {"conference": conference, "call_sid": call_sid, "on": on}))

    async def set_muted(self, *, conference: str, call_sid: str, on: bool) -> None:
        self.requests.append(("mute", {"conference": conference, "call_sid": call_sid, "on": on}))

    async def end_conference(self, *, conference: str) -> None:
        self.requests.append(("end_conference", {"conference": conference}))
        if conference in self.not_started:
            raise TelephonyFailed(f"no conference {conference} in progress", status=404)

    async def leg_status(self, *, call_sid: str) -> LegStatus:
        self.requests.append(("leg_status", {"call_sid": call_sid}))
        return self.statuses.get(call_sid, LegStatus("in-progress"))

    def dialled(self) -> list[str]:
        """The numbers rung, in order."""
        return [str(args["to"]) for kind, args in self.requests if kind == "dial"]
