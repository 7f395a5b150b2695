"""What the fake Twilio sends out: status callbacks through a message's life, and inbound SMS webhooks.

Every request is form-encoded and signed with `X-Twilio-Signature` by twilio's own `RequestValidator`
(HMAC-SHA1 of the URL plus the sorted parameters, keyed by the auth token), as Twilio signs webhooks.
A request whose connection fails is retried as Twilio's connection overrides describe: `rc` retries
(default 1) for the failures `rp` names (default `ct`, the connection; `rt` a read timeout, `4xx`, `5xx`,
`all`), set per URL in its fragment (`https://host/hook#rc=3&rp=ct,5xx`), which is never sent.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qsl, urldefrag

import httpx
from twilio.request_validator import RequestValidator

from simulators.fake_twilio.state import FakeMessage, FakeState
from simulators.fake_twilio.wire import API_VERSION, country_of, num_segments

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
USER_AGENT = "TwilioProxy/1.1"
MAX_CONNECTIONS, MAX_KEEPALIVE, CLIENT_POOLS = 1000, 200, 16


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A webhook URL's connection overrides: how many retries, for which failures."""

    count: int = 1
    on: frozenset[str] = frozenset({"ct"})

    @classmethod
    def of(cls, url: str) -> tuple[str, RetryPolicy]:
        """The URL to request (without its fragment) and the policy its fragment sets."""
        bare, fragment = urldefrag(url)
        overrides = dict(parse_qsl(fragment))
        retries = overrides.get("rc", "1")
        count = min(int(retries), 5) if retries.isdigit() else 1
        on = frozenset(overrides.get("rp", "ct").split(","))
        return bare, cls(count, on)

    def retries_error(self, exc: httpx.HTTPError) -> bool:
        """Whether a request that raised `exc` is tried again: a connection that failed or was dropped
        before any answer counts as `ct`, a read timeout as `rt`."""
        kind = "rt" if isinstance(exc, httpx.ReadTimeout) else "ct"
        return bool({kind, "all"} & self.on)

    def retries_status(self, status: int) -> bool:
        """Whether an answer with `status` is tried again."""
        return bool({f"{status // 100}xx", "all"} & self.on) and status >= 400


@dataclass(frozen=True, slots=True)
class InboundResult:
    """How the SMS webhook answered an inbound message (502 with a reason when it could not be reached)."""

    message_sid: str
    status_code: int
    body: str
    content_type: str


def inbound_params(message: FakeMessage) -> dict[str, str]:
    """The form Twilio posts to a number's SMS webhook for a received message."""
    sender = message.sender or ""
    params = {
        "ApiVersion": API_VERSION,
        "AccountSid": message.account_sid,
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "SmsMessageSid": message.sid,
        "SmsStatus": "received",
        "From": sender,
        "To": message.to,
        "Body": message.body,
        "NumMedia": "0",
        "NumSegments": str(num_segments(message.body)),
        "FromCountry": country_of(sender),
        "ToCountry": country_of(message.to),
    }
    params |= dict.fromkeys(["FromCity", "FromState", "FromZip", "ToCity", "ToState", "ToZip"], "")
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    return params


def twiml_replies(twiml: str) -> list[tuple[str | None, str | None, str]]:
    """The `<Message>` verbs of a TwiML answer as (to, from, body); to/from None: reply to the sender."""
    try:
        root = ET.fromstring(twiml)  # noqa: S314 - TwiML from the webhook under test, not from strangers
    except ET.ParseError:
        logger.warning("the SMS webhook answered something that is not TwiML (Twilio: error 12100)")
        return []
    replies = []
    for verb in root.iter("Message"):
        body = verb.findtext("Body") if verb.find("Body") is not None else verb.text
        replies.append((verb.get("to"), verb.get("from"), (body or "").strip()))
    return replies


class Webhooks:
    """Sends the fake's signed requests and runs message lifecycles as tracked background tasks."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self._clients: list[httpx.AsyncClient] = []
        self._turn = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        """Open the HTTP clients (the server's startup): room for a load test's hundreds of simultaneous
        calls without queueing, in several small pools, since httpx's pool scans every connection it holds
        on each request (one pool of 1,000 took most of a load test's CPU)."""
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS // CLIENT_POOLS,
            max_keepalive_connections=MAX_KEEPALIVE // CLIENT_POOLS,
        )
        self._clients = [
            httpx.AsyncClient(timeout=10.0, trust_env=False, limits=limits) for _ in range(CLIENT_POOLS)
        ]

    async def close(self) -> None:
        """Cancel the lifecycles still running and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()

    def sign(self, url: str, params: dict[str, str], *, bad: bool = False) -> str:
        """Twilio's signature of a request; `bad`: one made with the wrong token, for negative tests."""
        token = self.state.config.auth_token + ("-wrong" if bad else "")
        signature: str = RequestValidator(token).compute_signature(url, params)
        return signature

    async def post(self, url: str, params: dict[str, str], *, bad_signature: bool = False) -> httpx.Response:
        """POST the form to `url` as Twilio does, retried per the URL's connection overrides (same
        idempotency token on every attempt); httpx.HTTPError when it cannot be delivered."""
        if not self._clients:
            raise RuntimeError("the fake Twilio is not running")
        client = self._clients[next(self._turn) % len(self._clients)]
        bare, policy = RetryPolicy.of(url)
        headers = {
            SIGNATURE_HEADER: self.sign(bare, params, bad=bad_signature),
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        retries_left = policy.count
        while True:
            try:
                response = await client.post(bare, data=params, headers=headers)
            except httpx.HTTPError as exc:
                if not retries_left or not policy.retries_error(exc):
                    raise
                logger.info("webhook %s failed (%r); retrying", bare, exc)
            else:
                if not retries_left or not policy.retries_status(response.status_code):
                    return response
                logger.info("webhook %s answered %d; retrying", bare, response.status_code)
            retries_left -= 1

    def start_lifecycle(self, message: FakeMessage) -> None:
        """Take the message through queued, sent, delivered (or failed / undelivered) in the background."""
        task = asyncio.create_task(self._lifecycle(message), name=f"fake-twilio {message.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _plan(self, message: FakeMessage) -> list[tuple[str, int | None]]:
        """The statuses the message will pass through, with the error code of a failure."""
        config = self.state.config
        if message.to in config.fail_numbers:
            return [("queued", None), ("failed", config.fail_numbers[message.to])]
        if message.to in config.undelivered_numbers:
            return [("queued", None), ("sent", None), ("undelivered", config.undelivered_numbers[message.to])]
        return [("queued", None), ("sent", None), ("delivered", None)]

    async def _lifecycle(self, message: FakeMessage) -> None:
        """Advance the message step by step, posting a status callback after each."""
        for step, (status, error_code) in enumerate(self._plan(message)):
            if step:
                await asyncio.sleep(self.state.config.status_delay_ms / 1000)
            message.advance(status, at=self.state.now(), error_code=error_code)
            self.state.changed()
            if message.status_callback:
                await self._status_callback(message.status_callback, message.callback_params())

    async def _status_callback(self, url: str, params: dict[str, str]) -> None:
        """Post one status callback; a failure is logged (Twilio does not retry these either)."""
        try:
            response = await self.post(url, params)
        except httpx.HTTPError as exc:
            logger.warning("status callback %s for %s failed: %r", url, params["MessageSid"], exc)
            return
        if not response.is_success:
            logger.warning(
                "status callback %s for %s answered %d", url, params["MessageSid"], response.status_code
            )

    async def inbound(
        self,
        *,
        sender: str,
        to: str,
        body: str,
        url: str | None = None,
        service_sid: str | None = None,
        bad_signature: bool = False,
    ) -> InboundResult:
        """Deliver a handset's message to the SMS webhook and carry out the TwiML `<Message>` replies."""
        message = self.state.add_inbound(sender=sender, to=to, body=body, service_sid=service_sid)
        target = url or self.state.config.sms_webhook_url
        if not target:
            return InboundResult(message.sid, 502, "no SMS webhook URL is configured", "text/plain")
        try:
            response = await self.post(target, inbound_params(message), bad_signature=bad_signature)
        except httpx.HTTPError as exc:
            logger.warning("SMS webhook %s failed: %r (Twilio: error 11200)", target, exc)
            return InboundResult(message.sid, 502, f"HTTP retrieval failure: {exc!r}", "text/plain")
        content_type = response.headers.get("content-type", "text/plain")
        if response.is_success and response.text.strip():
            self._send_replies(message, response.text)
        return InboundResult(message.sid, response.status_code, response.text, content_type)

    def _send_replies(self, inbound: FakeMessage, twiml: str) -> None:
        """Send the TwiML replies as outbound-reply messages (without status callbacks)."""
        for to, sender, body in twiml_replies(twiml):
            if not body:
                continue
            reply = self.state.add_outbound(
                to=to or inbound.sender or "",
                sender=sender or inbound.to,
                body=body,
                direction="outbound-reply",
            )
            self.start_lifecycle(reply)
