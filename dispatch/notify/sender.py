"""Sending a text message: the `SmsSender` protocol and its Twilio implementation (the real `twilio`
client, pointed at `DISPATCH_TWILIO_BASE_URL` when set, e.g. at simulators.fake_twilio)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client

from dispatch.notify.twilio_http import BaseUrlHttpClient, retry_after_seconds

SEND_TIMEOUT_SECONDS = 15.0  # the library waits forever by default
THREADS = 16  # sends and status checks in flight at once (two workers' worth of CONCURRENT_SENDS)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str
    error_code: str | None = None


class SendFailed(Exception):
    """The gateway refused the message; `permanent` when retrying cannot help (a bad number, say);
    `retry_after`: the seconds the gateway asked us to wait (its `Retry-After`), when it said."""

    def __init__(
        self, message: str, *, code: str | None, permanent: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after


class SmsSender(Protocol):
    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        """Hand one message to the gateway."""

    async def fetch(self, sid: str) -> Sent:
        """What the gateway now says of a message it took (its status; `error_code` when it failed)."""


class TwilioSender:
    """Twilio's REST API through its client library (which is synchronous: it runs in a thread)."""

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, base_url: str | None) -> None:
        self._http = BaseUrlHttpClient(base_url or None, timeout=SEND_TIMEOUT_SECONDS, pool_size=THREADS)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._sender = sender
        # Its own threads: the event loop's default pool (CPU count + 4) is shared with everything else that
        # blocks, and the worker keeps several sends and status checks in flight.
        self._threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="twilio-sms")

    async def _in_thread(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work)

    async def send(self, *, to: str, body: str, status_callback: str | None) -> Sent:
        return await self._in_thread(functools.partial(self._send, to, body, status_callback))

    def _send(self, to: str, body: str, status_callback: str | None) -> Sent:
        try:
            message = self._client.messages.create(
                to=to, from_=self._sender, body=body, status_callback=status_callback or None
            )
        except TwilioRestException as exc:
            raise self._refused(exc.status, exc.code, str(exc.msg)) from exc
        except TwilioServiceException as exc:  # the API's newer (RFC 9457) error shape
            raise self._refused(exc.status, exc.code, exc.detail or exc.title) from exc
        except (TwilioException, OSError) as exc:  # connection problems (requests' errors are OSErrors)
            raise SendFailed(str(exc), code=None, permanent=False) from exc
        return Sent(sid=str(message.sid), status=str(message.status))

    async def fetch(self, sid: str) -> Sent:
        return await self._in_thread(functools.partial(self._fetch, sid))

    def _fetch(self, sid: str) -> Sent:
        try:
            message = self._client.messages(sid).fetch()
        except (TwilioException, OSError) as exc:
            raise SendFailed(str(exc), code=None, permanent=False) from exc
        code = message.error_code
        return Sent(sid=sid, status=str(message.status), error_code=None if code is None else str(code))

    def _refused(self, status: int, code: int | None, text: str) -> SendFailed:
        """The gateway answered with an error: 4xx means the request itself is wrong (number, body,
        account) and is final; 5xx and 429 mean try again later (not before its Retry-After)."""
        response = self._http.last_response()
        return SendFailed(
            f"HTTP {status}: {text.removeprefix('Unable to create record: ')}",
            code=None if code is None else str(code),
            permanent=400 <= status < 500 and status != 429,
            retry_after=retry_after_seconds(response.headers if response is not None else None),
        )
