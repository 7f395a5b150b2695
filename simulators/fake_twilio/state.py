"""What the fake Twilio holds: its configuration, the messages it has seen, and a wake-up for long polls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dispatch.tasks import set_within
from simulators.fake_twilio.wire import (
    API_VERSION,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DELIVERY_ERRORS,
    FAULT_ERRORS,
    TwilioError,
    new_sid,
    num_segments,
    rfc2822,
)

FAILED_CODE = 30003  # unreachable destination handset
UNDELIVERED_CODE = 30005  # unknown destination handset
SERVICE_NUMBER = "+15005550006"  # Twilio's magic "valid" test number, sender of a service without numbers
MAX_WAIT_S = 60.0
FAULT_TARGETS = frozenset({"sms", "voice", "all"})


def utc_now() -> datetime:
    """The wall clock, aware UTC (the default clock of the fake)."""
    return datetime.now(UTC)


def _number_codes(value: object, default: int) -> dict[str, int]:
    """`["+86..."]` (each with the default code) or `{"+86...": 30008}` as a number -> error code map."""
    if isinstance(value, Mapping):
        return {str(number): int(code) for number, code in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return dict.fromkeys((str(number) for number in value), default)
    raise ValueError(f"expected a list of numbers or a number -> error code object, not {value!r}")


@dataclass(slots=True)
class FakeConfig:
    """The account the fake serves and how it treats messages; changeable while it runs."""

    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    sms_webhook_url: str | None = None
    status_delay_ms: float = 50.0
    phone_numbers: frozenset[str] = frozenset()  # the account's numbers; empty: any valid From is accepted
    fail_numbers: dict[str, int] = field(default_factory=dict)
    undelivered_numbers: dict[str, int] = field(default_factory=dict)
    voice_webhook_url: str | None = None  # the voice number's incoming-call URL
    voice_status_url: str | None = None  # the number's StatusCallback (caller legs' final status)
    voice_number: str | None = None  # the number scripted callers dial when they name none
    voice_ms_per_second: float = 1000.0  # real milliseconds per scripted second of a call

    def update(self, changes: Mapping[str, object]) -> None:
        """Apply `POST /_fake/config`-style changes; ValueError (nothing applied) for a bad one."""
        unknown = set(changes) - _PLAIN_KEYS - _CODE_KEYS.keys()
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        parsed = {key: _parse_setting(key, value) for key, value in changes.items()}
        for key, value in parsed.items():
            setattr(self, key, value)

    def as_json(self) -> dict[str, object]:
        """The settings as JSON (without the auth token)."""
        return {
            "account_sid": self.account_sid,
            "sms_webhook_url": self.sms_webhook_url,
            "status_delay_ms": self.status_delay_ms,
            "phone_numbers": sorted(self.phone_numbers),
            "fail_numbers": self.fail_numbers,
            "undelivered_numbers": self.undelivered_numbers,
            "voice_webhook_url": self.voice_webhook_url,
            "voice_status_url": self.voice_status_url,
            "voice_number": self.voice_number,
            "voice_ms_per_second": self.voice_ms_per_second,
        }


_PLAIN_KEYS = {
    "sms_webhook_url",
    "status_delay_ms",
    "phone_numbers",
    "voice_webhook_url",
    "voice_status_url",
    "voice_number",
    "voice_ms_per_second",
}
_CODE_KEYS = {"fail_numbers": FAILED_CODE, "undelivered_numbers": UNDELIVERED_CODE}


def _parse_setting(key: str, value: object) -> object:
    """One setting's value checked and converted."""
    if key in _CODE_KEYS:
        return _number_codes(value, _CODE_KEYS[key])
    if key == "phone_numbers":
        if not isinstance(value, Iterable) or isinstance(value, str | Mapping):
            raise ValueError("phone_numbers: expected a list of numbers")
        return frozenset(str(number) for number in value)
    if key in ("status_delay_ms", "voice_ms_per_second"):
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key}: expected a number >= 0")
        return float(value)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key}: expected a string or null")
    return value or None


@dataclass(slots=True, kw_only=True)
class Fault:
    """The REST API refusing requests of `target` (`sms`: new messages, `voice`: every voice request,
    `all`) with `status` for the next `remaining` requests or until `until` (whichever comes first when both
    are set), with a `Retry-After` header when `retry_after` is set."""

    status: int
    target: str = "sms"
    remaining: int | None = None
    until: datetime | None = None
    retry_after: int | None = None
    refused: int = 0

    def active(self, now: datetime) -> bool:
        """Whether the next request is refused."""
        spent = self.remaining is not None and self.remaining <= 0
        expired = self.until is not None and now >= self.until
        return not (spent or expired)

    def refuse(self) -> TwilioError:
        """Count one refusal and return the error to answer with."""
        self.refused += 1
        if self.remaining is not None:
            self.remaining -= 1
        code, message = FAULT_ERRORS[self.status]
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return TwilioError(self.status, code, message, headers)

    def as_json(self) -> dict[str, object]:
        """The fault as `GET /_fake/faults` shows it."""
        return {
            "status": self.status,
            "target": self.target,
            "remaining": self.remaining,
            "until": self.until.isoformat() if self.until else None,
            "retry_after": self.retry_after,
            "refused": self.refused,
        }


def parse_fault(data: Mapping[str, object], now: datetime) -> Fault | None:
    """`{"status": 429|5xx, "target"?: "sms"|"voice"|"all", "count"?: N, "seconds"?: T, "retry_after"?: S}`
    as a Fault; `{"status": null}`: none. ValueError for anything else; without count or seconds the fault
    lasts until cleared."""
    unknown = set(data) - {"status", "target", "count", "seconds", "retry_after"}
    if unknown:
        raise ValueError(f"unknown fault settings: {sorted(unknown)}")
    status = data.get("status")
    if status is None:
        return None
    if not isinstance(status, int) or isinstance(status, bool) or status not in FAULT_ERRORS:
        raise ValueError(f"status: one of {sorted(FAULT_ERRORS)} or null")
    target = data.get("target", "sms")
    if target not in FAULT_TARGETS:
        raise ValueError(f"target: one of {sorted(FAULT_TARGETS)}")
    count, seconds, retry_after = (_amount(data, name) for name in ("count", "seconds", "retry_after"))
    return Fault(
        status=status,
        target=str(target),
        remaining=None if count is None else int(count),
        until=None if seconds is None else now + timedelta(seconds=seconds),
        retry_after=None if retry_after is None else int(retry_after),
    )


def _amount(data: Mapping[str, object], name: str) -> float | None:
    """A non-negative number setting, or None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: expected a number >= 0")
    return float(value)


@dataclass(slots=True, kw_only=True)
class FakeMessage:
    """One message as Twilio keeps it; `index` numbers the outbound ones from 1 (0 for inbound)."""

    index: int
    sid: str
    account_sid: str
    to: str
    sender: str | None
    body: str
    direction: str  # outbound-api, outbound-reply or inbound
    status: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    error_code: int | None = None
    history: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.history.append(self.status)

    @property
    def uri(self) -> str:
        """The message's path on the REST API."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def advance(self, status: str, *, at: datetime, error_code: int | None = None) -> None:
        """Move to `status` (a no-op when already there)."""
        if status == self.status:
            return
        self.status, self.updated_at, self.error_code = status, at, error_code
        if status == "queued" and self.sender is None:
            self.sender = SERVICE_NUMBER
        if status == "sent":
            self.sent_at = at
        self.history.append(status)

    def resource(self) -> dict[str, object]:
        """The Message resource JSON of the 2010-04-01 API."""
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.created_at),
            "date_sent": rfc2822(self.sent_at),
            "date_updated": rfc2822(self.updated_at),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": DELIVERY_ERRORS.get(self.error_code) if self.error_code else None,
            "from": self.sender,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(num_segments(self.body)),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": self.uri.removesuffix(".json") + "/Media.json",
                "feedback": self.uri.removesuffix(".json") + "/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri,
        }

    def summary(self) -> dict[str, object]:
        """The short form `GET /_fake/messages` lists."""
        return {
            "index": self.index,
            "sid": self.sid,
            "to": self.to,
            "from": self.sender,
            "body": self.body,
            "status": self.status,
            "direction": self.direction,
            "error_code": self.error_code,
            "created": self.created_at.isoformat(),
        }

    def callback_params(self) -> dict[str, str]:
        """The form Twilio posts to the message's StatusCallback."""
        params = {
            "ApiVersion": API_VERSION,
            "AccountSid": self.account_sid,
            "MessageSid": self.sid,
            "SmsSid": self.sid,
            "MessageStatus": self.status,
            "SmsStatus": self.status,
            "From": self.sender or "",
            "To": self.to,
        }
        if self.messaging_service_sid:
            params["MessagingServiceSid"] = self.messaging_service_sid
        if self.error_code is not None:
            params["ErrorCode"] = str(self.error_code)
        return params


class FakeState:
    """The fake's messages (outbound in order, inbound apart) and configuration; one event loop uses it."""

    def __init__(self, config: FakeConfig, *, now: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.now = now
        self.messages: list[FakeMessage] = []
        self.received: list[FakeMessage] = []
        self.by_sid: dict[str, FakeMessage] = {}
        self.closed = False
        self.fault: Fault | None = None
        self.refused_total = 0  # requests refused by faults since the start
        self._last_index = 0
        self._changed = asyncio.Event()

    def check_fault(self, kind: str = "sms") -> None:
        """Raise the configured fault's error if it targets `kind` and is still active (the request is refused)."""
        fault = self.fault
        if fault is not None and fault.target in (kind, "all") and fault.active(self.now()):
            self.refused_total += 1
            raise fault.refuse()

    def add_outbound(
        self,
        *,
        to: str,
        sender: str | None,
        body: str,
        direction: str = "outbound-api",
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
    ) -> FakeMessage:
        """Record an accepted outbound message (`accepted` when a messaging service picks the sender)."""
        self._last_index += 1
        now = self.now()
        message = FakeMessage(
            index=self._last_index,
            sid=new_sid("SM"),
            account_sid=self.config.account_sid,
            to=to,
            sender=sender,
            body=body,
            direction=direction,
            status="queued" if sender else "accepted",
            created_at=now,
            updated_at=now,
            messaging_service_sid=messaging_service_sid,
            status_callback=status_callback,
        )
        self.messages.append(message)
        self.by_sid[message.sid] = message
        self.changed()
        return message

    def add_inbound(self, *, sender: str, to: str, body: str, service_sid: str | None) -> FakeMessage:
        """Record a message a handset sent to one of the account's numbers."""
        now = self.now()
        message = FakeMessage(
            index=0,
            sid=new_sid("SM"),
            account_sid=self.config.account_sid,
            to=to,
            sender=sender,
            body=body,
            direction="inbound",
            status="received",
            created_at=now,
            updated_at=now,
            messaging_service_sid=service_sid,
        )
        self.received.append(message)
        self.by_sid[message.sid] = message
        self.changed()
        return message

    def outbound_after(self, *, since: int = 0, to: str | None = None) -> list[FakeMessage]:
        """Outbound messages numbered after `since`, to `to` when given."""
        return [m for m in self.messages if m.index > since and (to is None or m.to == to)]

    async def wait_outbound(
        self, *, since: int = 0, to: str | None = None, wait_s: float = 0.0
    ) -> list[FakeMessage]:
        """`outbound_after`, waiting up to `wait_s` (at most a minute) for one to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_s, 0.0), MAX_WAIT_S)
        while True:
            changed = self._changed
            found = self.outbound_after(since=since, to=to)
            remaining = deadline - loop.time()
            if found or self.closed or remaining <= 0:
                return found
            await set_within(changed, remaining)

    def news(self) -> asyncio.Event:
        """The event the next `changed()` sets (take it before checking, then wait on it)."""
        return self._changed

    def changed(self) -> None:
        """Wake whoever waits for news."""
        self._changed.set()
        self._changed = asyncio.Event()

    def fault_json(self) -> dict[str, object]:
        """The current fault (status null when there is none) and the requests refused so far."""
        shown = self.fault.as_json() if self.fault is not None else {"status": None}
        return {**shown, "refused_total": self.refused_total}

    def reset(self) -> None:
        """Forget every message and stop refusing (indexes and `refused_total` keep counting up)."""
        self.fault = None
        self.messages.clear()
        self.received.clear()
        self.by_sid.clear()
        self.changed()

    def close(self) -> None:
        """Release the long polls (the server is stopping)."""
        self.closed = True
        self.changed()
