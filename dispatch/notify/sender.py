"""Sending a text message: the `SmsSender` protocol and its Twilio implementation (the real `twilio`
client, pointed at `DISPATCH_TWILIO_BASE_URL` when set, e.g. at simulators.fake_twilio)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from dispatch.notify.twilio_http import BaseUrlHttpClient

SEND_TIMEOUT_SECONDS = 15.0  # the library waits forever by default


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str


class SendFailed(Exception):
    """The gateway refused the message; `permanent` when retrying cannot help (a bad number, say)."""

    def __init__(self, message: str, *, code: str | None, permanent: bool) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class SmsSender(Protocol):
    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        """Hand one message to the gateway."""


class TwilioSender:
    """Twilio's REST API through its client library (which is synchronous: it runs in a thread)."""

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, base_url: str | None) -> None:
        self._client = Client(
            account_sid,
            auth_token,
            http_client=BaseUrlHttpClient(base_url or None, timeout=SEND_TIMEOUT_SECONDS),
        )
        self._sender = sender

    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        return await asyncio.to_thread(self._send, to, body, status_callback)

    def _send(self, to: str, body: str, status_callback: str | None) -> Sent:
        try:
            message = self._client.messages.create(
                to=to, from_=self._sender, body=body, status_callback=status_callback or None
            )
        except TwilioRestException as exc:
            # 4xx: the request itself is wrong (number, body, account); 5xx and 429: try again later.
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise SendFailed(str(exc.msg), code=str(exc.code), permanent=permanent) from exc
        except (TwilioException, OSError) as exc:  # connection problems (requests' errors are OSErrors)
            raise SendFailed(str(exc), code=None, permanent=False) from exc
        return Sent(sid=str(message.sid), status=str(message.status))
