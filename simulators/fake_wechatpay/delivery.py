"""The notifications the fake sends, as the platform sends them: a JSON envelope whose `resource` is
encrypted (AEAD_AES_256_GCM under the API v3 key), signed headers (`Wechatpay-Signature` over timestamp,
nonce and body with the platform's key), POSTed to the trade's or refund's `notify_url` and tried again on
anything but a 2xx answer, on the platform's schedule (15 s, 15 s, 30 s, 3 m, ... 24 h in all) or a shorter
one for tests. Test variants of a sent notification: replayed verbatim, tampered, stale, signed with the
wrong key, or encrypted under the wrong key."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from simulators.fake_wechatpay import wire
from simulators.fake_wechatpay.state import FakeRefund, FakeState, FakeTrade, SentNotification

logger = logging.getLogger(__name__)

PLATFORM_RETRY_DELAYS_S: tuple[float, ...] = (
    15,
    15,
    30,
    180,
    600,
    1200,
    1800,
    1800,
    1800,
    3600,
    10800,
    10800,
    10800,
    21600,
    21600,
)
VARIANTS = frozenset({"replay", "tampered", "stale", "wrong_key", "bad_ciphertext"})
POST_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Event:
    """What a notification says, before it is sealed."""

    event_type: str
    summary: str
    original_type: str
    resource: Mapping[str, object]


def payment_event(trade: FakeTrade, state: FakeState) -> Event:
    return Event("TRANSACTION.SUCCESS", "支付成功", "transaction", trade.resource(state.merchant))


def refund_event(refund: FakeRefund, state: FakeState) -> Event:
    event_type = f"REFUND.{refund.status}"
    return Event(
        event_type,
        "退款成功" if refund.status == "SUCCESS" else "退款异常",
        "refund",
        refund.notification_resource(state.merchant),
    )


class Notifier:
    """Seals, signs and sends notifications; its deliveries are tracked tasks, cancelled by `close`."""

    def __init__(
        self,
        state: FakeState,
        *,
        platform_key: RSAPrivateKey,
        key_id: str,
        apiv3_key: str,
        retry_delays_s: Sequence[float] = PLATFORM_RETRY_DELAYS_S,
    ) -> None:
        self.state = state
        self.platform_key = platform_key
        self.key_id = key_id
        self.apiv3_key = apiv3_key
        self.retry_delays_s = tuple(retry_delays_s)
        self.events: dict[str, Event] = {}  # notification id -> what it said
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stranger_key: RSAPrivateKey | None = None

    async def open(self) -> None:
        self._client = httpx.AsyncClient(timeout=POST_TIMEOUT_S, trust_env=False)

    async def close(self) -> None:
        """Cancel deliveries in flight and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background until it ends or the fake stops."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def notify(self, event: Event, url: str) -> SentNotification:
        """Send a new notification to `url` (in the background, with retries)."""
        notification_id = wire.notification_id()
        self.events[notification_id] = event
        headers, body = self._seal(notification_id, event, at=self.state.now())
        sent = SentNotification(
            id=notification_id, event_type=event.event_type, url=url, headers=headers, body=body
        )
        self.state.notifications.append(sent)
        self.spawn(self._deliver(sent))
        return sent

    async def resend(
        self, original: SentNotification, variant: str, *, age_s: float = 600.0
    ) -> SentNotification:
        """Send one copy of `original` (one try): `replay` verbatim; `tampered` (the amount changed, the old
        signature kept); `stale` (re-signed `age_s` ago); `wrong_key` (signed by another key); `bad_ciphertext`
        (encrypted under another API v3 key, signed properly)."""
        if variant not in VARIANTS:
            raise ValueError(f"variant: one of {sorted(VARIANTS)}")
        headers, body = self._variant(original, variant, age_s)
        copy_ = SentNotification(
            id=original.id,
            event_type=original.event_type,
            url=original.url,
            headers=headers,
            body=body,
            variant=variant,
        )
        self.state.notifications.append(copy_)
        await self._post(copy_)
        return copy_

    def _variant(
        self, original: SentNotification, variant: str, age_s: float
    ) -> tuple[dict[str, str], bytes]:
        event, now = self.events[original.id], self.state.now()
        if variant == "replay":
            return dict(original.headers), original.body
        if variant == "tampered":
            _headers, body = self._seal(original.id, _cheaper(event), at=now)
            return dict(original.headers), body
        if variant == "stale":
            return self._seal(original.id, event, at=now - timedelta(seconds=age_s))
        if variant == "wrong_key":
            return self._seal(original.id, event, at=now, key=self._stranger())
        return self._seal(original.id, event, at=now, apiv3_key="X" * 32)

    def _stranger(self) -> RSAPrivateKey:
        if self._stranger_key is None:
            self._stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._stranger_key

    def _seal(
        self,
        notification_id: str,
        event: Event,
        *,
        at: datetime,
        key: RSAPrivateKey | None = None,
        apiv3_key: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body of a notification."""
        plaintext = json.dumps(event.resource, ensure_ascii=False, separators=(",", ":"))
        envelope = {
            "id": notification_id,
            "create_time": wire.rfc3339(at),
            "resource_type": "encrypt-resource",
            "event_type": event.event_type,
            "summary": event.summary,
            "resource": wire.encrypt_resource(apiv3_key or self.apiv3_key, plaintext, event.original_type),
        }
        text = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        headers = wire.signed_headers(key or self.platform_key, self.key_id, text, at)
        return {"Content-Type": "application/json", **headers}, text.encode()

    async def _deliver(self, sent: SentNotification) -> None:
        """Try, and try again after each delay while the answer is not a 2xx."""
        for delay in (0.0, *self.retry_delays_s):
            await asyncio.sleep(delay)
            if await self._post(sent):
                return
        logger.warning("notification %s to %s: given up after %d tries", sent.id, sent.url, len(sent.answers))

    async def _post(self, sent: SentNotification) -> bool:
        """One try; whether the merchant's server took it."""
        if self._client is None:
            raise RuntimeError("the notifier is not open")
        try:
            answer = await self._client.post(sent.url, content=sent.body, headers=sent.headers)
        except httpx.HTTPError as exc:
            sent.answers.append(type(exc).__name__)
            return False
        sent.answers.append(answer.status_code)
        sent.delivered = sent.delivered or answer.is_success
        return answer.is_success


def _cheaper(event: Event) -> Event:
    """The event with every amount in it turned into 1 fen (what a forger would want)."""
    resource = copy.deepcopy(dict(event.resource))
    amount = resource.get("amount")
    if isinstance(amount, dict):
        for name in ("total", "payer_total", "refund", "payer_refund"):
            if name in amount:
                amount[name] = 1
    return Event(event.event_type, event.summary, event.original_type, resource)
