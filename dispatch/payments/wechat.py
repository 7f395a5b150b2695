"""WeChat Pay (API v3, Native: the family scans a QR code) behind `PaymentPlatform`, through the `wechatpayv3`
SDK (PyPI) in its public-key mode (the platform's public key and its id are configured, no platform
certificates are downloaded).

The SDK is synchronous (requests): every call runs in a thread. It signs each request (`Authorization:
WECHATPAY2-SHA256-RSA2048 ...`) and verifies each 2xx answer's `Wechatpay-Signature`; its errors and the
platform's error JSON become one `PaymentPlatformError` carrying the platform's code.
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import gzip
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeAlias, TypeVar

import requests
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import aes_decrypt, load_public_key, rsa_verify

from dispatch.payments import wechat_wire as wire
from dispatch.payments.platform import (
    BillRow,
    Notification,
    NotificationRejected,
    PaymentPlatform,
    PaymentPlatformError,
    RefundState,
    RejectReason,
    TradeState,
)
from dispatch.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "WeChatPayConfig",
    "WeChatPayPlatform",
    "config_from_settings",
    "platform_from_settings",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CURRENCY = "CNY"
APIV3_KEY_BYTES = 32  # an AES-256 key
NO_BILL = "NO_STATEMENT_EXIST"  # the day has no bill (no trades)
# Codes the platform documents as "try again later" (besides any 429 or 5xx).
RETRYABLE_CODES = frozenset({"SYSTEM_ERROR", "SYSTEMERROR", "FREQUENCY_LIMITED", "BANK_ERROR", "BANKERROR"})
SDK_SIGNATURE_FAILURE = "failed to verify the signature"  # the message of the SDK's bare Exception

Answer: TypeAlias = tuple[int, str | bytes]  # the SDK's (HTTP status, body)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WeChatPayConfig:
    """A merchant's WeChat Pay credentials (PEM texts, not paths) and where the gateway is."""

    mchid: str
    appid: str
    private_key_pem: str = field(repr=False)
    cert_serial_no: str
    apiv3_key: str = field(repr=False)
    public_key_pem: str = field(repr=False)
    public_key_id: str
    base_url: str = DEFAULT_BASE_URL
    notify_window_seconds: int = 300
    timeout_seconds: tuple[float, float] = (5.0, 15.0)  # connect, read (requests waits forever otherwise)


class WeChatPayPlatform:
    """`PaymentPlatform` over `wechatpayv3.WeChatPay`."""

    def __init__(self, config: WeChatPayConfig) -> None:
        self._config = config
        self._base_url = config.base_url.rstrip("/")
        self._public_key = load_public_key(config.public_key_pem)
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=config.mchid,
            private_key=config.private_key_pem,
            cert_serial_no=config.cert_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            timeout=config.timeout_seconds,
            public_key=config.public_key_pem,
            public_key_id=config.public_key_id,
        )
        # wechatpayv3 2.x takes no gateway argument: `Core` sets `_gate_way` to the real host and builds every
        # URL as `_gate_way + path` (download_bill strips it from bill URLs the same way). Setting that one
        # attribute is the smallest seam the library has; nothing else about it is patched.
        self._pay._core._gate_way = self._base_url

    async def create_native(
        self, *, out_trade_no: str, amount_fen: int, description: str, expire_at: datetime, notify_url: str
    ) -> str:
        """POST /v3/pay/transactions/native; the `code_url` to draw as a QR code."""
        answer = await self._json(
            self._pay.pay,
            description=description,
            out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": CURRENCY},
            time_expire=wire.rfc3339(expire_at),
            notify_url=notify_url,
            pay_type=WeChatPayType.NATIVE,
        )
        return self._read(lambda: wire.required_text(answer, "code_url"))

    async def query(self, out_trade_no: str) -> TradeState:
        """GET /v3/pay/transactions/out-trade-no/{no}?mchid=."""
        answer = await self._json(self._pay.query, out_trade_no=out_trade_no)
        return self._read(lambda: wire.trade_state(answer))

    async def close(self, out_trade_no: str) -> None:
        """POST /v3/pay/transactions/out-trade-no/{no}/close (204)."""
        await self._call(self._pay.close, out_trade_no=out_trade_no)

    async def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str,
        notify_url: str,
    ) -> RefundState:
        """POST /v3/refund/domestic/refunds."""
        answer = await self._json(
            self._pay.refund,
            out_refund_no=out_refund_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": CURRENCY},
            out_trade_no=out_trade_no,
            reason=reason or None,
            notify_url=notify_url,
        )
        return self._read(lambda: wire.refund_state(answer))

    async def query_refund(self, out_refund_no: str) -> RefundState:
        """GET /v3/refund/domestic/refunds/{out_refund_no}."""
        answer = await self._json(self._pay.query_refund, out_refund_no=out_refund_no)
        return self._read(lambda: wire.refund_state(answer))

    async def trade_bill(self, day: date) -> list[BillRow]:
        """GET /v3/bill/tradebill (ALL, gzip), then its download, checked against the announced SHA-1."""
        try:
            answer = await self._json(self._pay.trade_bill, bill_date=day.isoformat(), bill_type="ALL")
        except PaymentPlatformError as exc:
            if exc.code == NO_BILL:
                return []
            raise
        url, hash_value = self._read(
            lambda: (wire.required_text(answer, "download_url"), wire.required_text(answer, "hash_value"))
        )
        if not url.startswith(
            self._base_url + "/"
        ):  # the download is signed with our key: only to the gateway
            raise _malformed(f"a bill download outside the gateway: {url}")
        _status, content = await self._call(self._pay.download_bill, url=url)
        text = _bill_text(content, hash_value)
        return self._read(lambda: wire.bill_rows(text))

    def parse_notification(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Check the signature (the platform's public key), then the timestamp (within the window of `now`),
        then decrypt the resource (AEAD_AES_256_GCM under the API v3 key)."""
        signed = {name.lower(): value for name, value in headers.items()}
        text = _utf8(body)
        self._verify_signature(signed, text)
        self._check_timestamp(signed["wechatpay-timestamp"], now)
        try:
            envelope = wire.json_object(text)
            resource = wire.json_object(self._decrypt(envelope))
            event_type, notification_id = (
                wire.required_text(envelope, name) for name in ("event_type", "id")
            )
            return wire.notification(event_type, notification_id, resource)
        except wire.MalformedAnswer as exc:
            raise NotificationRejected(RejectReason.malformed, str(exc)) from None

    def _verify_signature(self, headers: Mapping[str, str], body: str) -> None:
        names = ("wechatpay-signature", "wechatpay-timestamp", "wechatpay-nonce", "wechatpay-serial")
        if not all(headers.get(name) for name in names):
            raise NotificationRejected(RejectReason.bad_signature, "unsigned")
        if headers.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise NotificationRejected(RejectReason.bad_signature, "unknown signature type")
        # Checked here, not left to the SDK: for an unknown serial it would go and download certificates.
        if not hmac.compare_digest(headers["wechatpay-serial"], self._config.public_key_id):
            raise NotificationRejected(RejectReason.bad_signature, "signed with an unknown key")
        timestamp, nonce = headers["wechatpay-timestamp"], headers["wechatpay-nonce"]
        if not rsa_verify(timestamp, nonce, body, headers["wechatpay-signature"], self._public_key):
            raise NotificationRejected(RejectReason.bad_signature, "the signature does not match")

    def _check_timestamp(self, timestamp: str, now: datetime) -> None:
        if not timestamp.isdigit():
            raise NotificationRejected(RejectReason.malformed, "the timestamp is not a number")
        age = abs(now.timestamp() - int(timestamp))
        if age > self._config.notify_window_seconds:
            raise NotificationRejected(RejectReason.stale_timestamp, f"{age:.0f} s from now")

    def _decrypt(self, envelope: Mapping[str, object]) -> str:
        """The resource's plaintext (MalformedAnswer when there is no usable resource)."""
        resource = envelope.get("resource")
        if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, Mapping):
            raise wire.MalformedAnswer("no encrypted resource")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise wire.MalformedAnswer(f"unknown algorithm {resource.get('algorithm')!r}")
        parts = [resource.get(name) for name in ("nonce", "ciphertext", "associated_data")]
        if not all(isinstance(part, str) for part in parts):
            raise wire.MalformedAnswer("an incomplete resource")
        nonce, ciphertext, associated_data = (str(part) for part in parts)
        try:
            plain: str | None = aes_decrypt(nonce, ciphertext, associated_data, self._config.apiv3_key)
        except (ValueError, binascii.Error):  # an unusable nonce or ciphertext encoding
            plain = None
        if plain is None:
            raise NotificationRejected(RejectReason.decryption_failed, "the resource does not decrypt")
        return plain

    async def _call(self, method: Callable[..., Answer], /, **kwargs: object) -> Answer:
        """One SDK call in a thread: a 2xx answer (status, body), else PaymentPlatformError."""
        try:
            status, body = await asyncio.to_thread(functools.partial(method, **kwargs))
        except requests.RequestException as exc:
            error = PaymentPlatformError(str(exc), code="NETWORK_ERROR", status=None, retryable=True)
            raise _logged(method, error) from exc
        except Exception as exc:  # the SDK raises bare Exceptions for its own checks
            code = "RESPONSE_SIGNATURE_INVALID" if str(exc) == SDK_SIGNATURE_FAILURE else "SDK_ERROR"
            raise _logged(
                method, PaymentPlatformError(str(exc), code=code, status=None, retryable=False)
            ) from exc
        if not 200 <= status < 300:
            raise _logged(method, _refusal(status, body))
        return status, body

    async def _json(self, method: Callable[..., Answer], /, **kwargs: object) -> dict[str, object]:
        _status, body = await self._call(method, **kwargs)
        return self._read(lambda: wire.json_object(body))

    @staticmethod
    def _read(read: Callable[[], T]) -> T:
        try:
            return read()
        except wire.MalformedAnswer as exc:
            raise _malformed(str(exc)) from None


def _logged(method: Callable[..., Answer], error: PaymentPlatformError) -> PaymentPlatformError:
    logger.warning("WeChat Pay %s failed: %s (HTTP %s)", method.__name__, error.code, error.status)
    return error


def _malformed(detail: str) -> PaymentPlatformError:
    return PaymentPlatformError(detail, code="MALFORMED_RESPONSE", status=None, retryable=False)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotificationRejected(RejectReason.malformed, "the body is not UTF-8") from None


def _refusal(status: int, body: str | bytes) -> PaymentPlatformError:
    """The platform's error answer `{"code", "message"}` (or whatever else came back) as our error."""
    try:
        data = wire.json_object(body)
    except wire.MalformedAnswer:
        data = {}
    code = str(data.get("code") or f"HTTP_{status}")
    message = str(data.get("message") or "")
    retryable = status == 429 or status >= 500 or code in RETRYABLE_CODES
    return PaymentPlatformError(message, code=code, status=status, retryable=retryable)


def _bill_text(content: str | bytes, sha1_hex: str) -> str:
    """The downloaded bill unzipped, if its SHA-1 is the one announced."""
    raw = content.encode() if isinstance(content, str) else content
    try:
        plain = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise _malformed(f"the bill is not gzip: {exc}") from None
    if not hmac.compare_digest(hashlib.sha1(plain).hexdigest(), sha1_hex.lower()):  # noqa: S324 - the platform's choice
        raise PaymentPlatformError(
            "the bill's SHA-1 is not the one announced",
            code="BILL_HASH_MISMATCH",
            status=None,
            retryable=True,
        )
    return plain.decode("utf-8")


def config_from_settings(settings: Settings) -> WeChatPayConfig | None:
    """The configured merchant (key files read), None when WeChat Pay is not configured at all."""
    values = {
        "DISPATCH_WECHATPAY_MCHID": settings.wechatpay_mchid,
        "DISPATCH_WECHATPAY_APPID": settings.wechatpay_appid,
        "DISPATCH_WECHATPAY_PRIVATE_KEY_PATH": settings.wechatpay_private_key_path,
        "DISPATCH_WECHATPAY_CERT_SERIAL_NO": settings.wechatpay_cert_serial_no,
        "DISPATCH_WECHATPAY_APIV3_KEY": settings.wechatpay_apiv3_key,
        "DISPATCH_WECHATPAY_PUBLIC_KEY_PATH": settings.wechatpay_public_key_path,
        "DISPATCH_WECHATPAY_PUBLIC_KEY_ID": settings.wechatpay_public_key_id,
    }
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ValueError(f"WeChat Pay is partly configured; also set {', '.join(missing)}")
    if len(settings.wechatpay_apiv3_key.encode()) != APIV3_KEY_BYTES:
        raise ValueError("DISPATCH_WECHATPAY_APIV3_KEY must be the merchant's 32-character API v3 key")
    return WeChatPayConfig(
        mchid=settings.wechatpay_mchid,
        appid=settings.wechatpay_appid,
        private_key_pem=Path(settings.wechatpay_private_key_path).read_text(encoding="utf-8"),
        cert_serial_no=settings.wechatpay_cert_serial_no,
        apiv3_key=settings.wechatpay_apiv3_key,
        public_key_pem=Path(settings.wechatpay_public_key_path).read_text(encoding="utf-8"),
        public_key_id=settings.wechatpay_public_key_id,
        base_url=settings.wechatpay_base_url or DEFAULT_BASE_URL,
        notify_window_seconds=settings.wechatpay_notify_window_seconds,
    )


def platform_from_settings(settings: Settings) -> PaymentPlatform | None:
    """WeChat Pay when configured; None (the embedded default: no online payment) otherwise."""
    config = config_from_settings(settings)
    return None if config is None else WeChatPayPlatform(config)
