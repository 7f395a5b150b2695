"""The fake WeChat Pay: API v3 (Native payments, refunds, the trade bill) on a local port, plus `/_fake/...`
controls.

API, as the platform (every request signed `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=..,nonce_str=..,
signature=..,timestamp=..,serial_no=..` with the merchant's key, else 401 SIGN_ERROR; every answer signed with
`Wechatpay-Signature/-Timestamp/-Nonce/-Serial`, the serial being the platform public key's id):
  POST /v3/pay/transactions/native                       -> 200 {"code_url"}
  GET  /v3/pay/transactions/out-trade-no/{no}?mchid=     -> the trade (trade_state NOTPAY, SUCCESS, ...)
  POST /v3/pay/transactions/out-trade-no/{no}/close      {"mchid"} -> 204
  POST /v3/refund/domestic/refunds                       -> the refund (PROCESSING; SUCCESS shortly after,
                                                            with a REFUND.SUCCESS notification)
  GET  /v3/refund/domestic/refunds/{out_refund_no}       -> the refund
  GET  /v3/bill/tradebill?bill_date=&bill_type=ALL       -> {"hash_type": "SHA1", "hash_value", "download_url"}
  GET  /v3/billdownload/file?token=                      -> the bill, gzip (signed request, unsigned answer)
Errors: `{"code", "message"[, "detail"]}` (PARAM_ERROR, INVALID_REQUEST, ORDER_NOT_EXIST, ...).

Controls, for tests and the demo (no auth):
  POST /_fake/trades/{no}/pay {"openid"?}       the family scanned and paid: SUCCESS, TRANSACTION.SUCCESS sent
                                                -> {"trade", "notification_id"}
  GET  /_fake/notifications                     -> {"items": [{id, event_type, url, variant, headers, body,
                                                   answers, delivered}]} in the order sent
  POST /_fake/notifications/{id}/resend {"variant": replay|tampered|stale|wrong_key|bad_ciphertext,
                                         "age_s"?: 600}  one copy, one try -> the copy (with its answer)
  POST /_fake/bills/{YYYY-MM-DD}/mismatches {"kind": amount|extra|missing, "out_trade_no", "amount_fen"?}
  GET|POST /_fake/faults {"status": 429|500|503|null, "count"?: N, "seconds"?: T}
  POST /_fake/reset
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import cast

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.fake_twilio.forms import BadControlRequest, bad_control_request, json_object
from simulators.fake_twilio.runner import LocalServer
from simulators.fake_wechatpay import wire
from simulators.fake_wechatpay.delivery import PLATFORM_RETRY_DELAYS_S, Notifier, payment_event, refund_event
from simulators.fake_wechatpay.keys import KeySet, generate_keys
from simulators.fake_wechatpay.state import (
    FakeRefund,
    FakeState,
    FakeTrade,
    Fault,
    Mismatch,
    SentNotification,
    utc_now,
)
from simulators.fake_wechatpay.wire import Merchant, WeChatPayError

__all__ = ["FakeWeChatPay", "create_app"]

logger = logging.getLogger(__name__)

Answer = tuple[int, dict[str, object] | None]
Handler = Callable[[Request, dict[str, object]], Awaitable[Answer]]
DEFAULT_OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def _not_json(message: str) -> WeChatPayError:
    return WeChatPayError(400, "PARAM_ERROR", message)


class Api:
    """The endpoints over one FakeState and its Notifier."""

    def __init__(self, state: FakeState, notifier: Notifier, *, refund_delay_s: float) -> None:
        self.state = state
        self.notifier = notifier
        self.refund_delay_s = refund_delay_s

    def signed(self, status: int, payload: dict[str, object] | None) -> Response:
        """An answer with the platform's signature headers (over the exact body sent)."""
        text = "" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = wire.signed_headers(
            self.notifier.platform_key, self.notifier.key_id, text, self.state.now()
        )
        headers["Request-ID"] = wire.nonce(24)
        if payload is None:
            return Response(status_code=status, headers=headers)
        return Response(text.encode(), status_code=status, headers=headers, media_type="application/json")

    def endpoint(self, handle: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Authenticate, apply any fault, parse the JSON body, handle; errors in the platform's shape."""

        async def run(request: Request) -> Response:
            try:
                body = await self._authenticated_body(request)
                self.state.check_fault()
                status, payload = await handle(request, _json_body(body))
            except WeChatPayError as exc:
                status, payload = exc.status, exc.body()
            return self.signed(status, payload)

        return run

    async def _authenticated_body(self, request: Request) -> str:
        raw = await request.body()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _not_json("请求体不是UTF-8") from None
        raw_path = cast(bytes, request.scope.get("raw_path") or request.url.path.encode()).decode()
        query = cast(bytes, request.scope.get("query_string", b"")).decode()
        wire.check_authorization(
            request.headers.get("authorization", ""),
            merchant=self.state.merchant,
            method=request.method,
            target=raw_path + (f"?{query}" if query else ""),
            body=body,
            now=self.state.now(),
        )
        return body

    async def create_native(self, _request: Request, data: dict[str, object]) -> Answer:
        trade = self.state.create_native(data)
        logger.info("native trade %s for %d fen", trade.out_trade_no, trade.total_fen)
        return 200, {"code_url": trade.code_url}

    async def query(self, request: Request, _data: dict[str, object]) -> Answer:
        trade = self.state.trade(request.path_params["no"], request.query_params.get("mchid"))
        return 200, trade.resource(self.state.merchant)

    async def close(self, request: Request, data: dict[str, object]) -> Answer:
        self.state.close(request.path_params["no"], data)
        return 204, None

    async def refund(self, _request: Request, data: dict[str, object]) -> Answer:
        refund, new = self.state.refund(data)
        if new:
            self.notifier.spawn(self._finish_refund(refund))
        return 200, refund.resource()

    async def _finish_refund(self, refund: FakeRefund) -> None:
        await asyncio.sleep(self.refund_delay_s)
        self.state.finish_refund(refund)
        if refund.notify_url:
            self.notifier.notify(refund_event(refund, self.state), refund.notify_url)

    async def query_refund(self, request: Request, _data: dict[str, object]) -> Answer:
        return 200, self.state.refund_by_no(request.path_params["out_refund_no"]).resource()

    async def trade_bill(self, request: Request, _data: dict[str, object]) -> Answer:
        params = request.query_params
        if params.get("tar_type") not in (None, "GZIP"):
            raise wire.param_error("/tar_type", "仅支持GZIP", params.get("tar_type"))
        token, bill = self.state.prepare_bill(params.get("bill_date"), params.get("bill_type"))
        url = f"{str(request.base_url).rstrip('/')}/v3/billdownload/file?token={token}"
        return 200, {"hash_type": "SHA1", "hash_value": bill.sha1, "download_url": url}

    async def download(self, request: Request) -> Response:
        """The bill file: a signed request like any other, an unsigned gzip answer."""
        try:
            await self._authenticated_body(request)
            self.state.check_fault()
        except WeChatPayError as exc:
            return self.signed(exc.status, exc.body())
        bill = self.state.bills.get(request.query_params.get("token", ""))
        if bill is None:
            return self.signed(404, WeChatPayError(404, "RESOURCE_NOT_EXISTS", "账单下载链接已失效").body())
        return Response(gzip.compress(bill.text.encode()), media_type="application/octet-stream")

    # Controls.

    async def pay(self, request: Request) -> Response:
        data = await json_object(request)
        openid = data.get("openid")
        try:
            trade, sent = self.pay_trade(
                request.path_params["no"], openid if isinstance(openid, str) else DEFAULT_OPENID
            )
        except WeChatPayError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        return JSONResponse({"trade": trade.resource(self.state.merchant), "notification_id": sent.id})

    def pay_trade(self, out_trade_no: str, openid: str) -> tuple[FakeTrade, SentNotification]:
        trade = self.state.pay(out_trade_no, openid)
        return trade, self.notifier.notify(payment_event(trade, self.state), trade.notify_url)

    async def list_notifications(self, _request: Request) -> Response:
        return JSONResponse({"items": [sent.summary() for sent in self.state.notifications]})

    async def resend(self, request: Request) -> Response:
        data = await json_object(request)
        original = self.original(request.path_params["id"])
        age_s = data.get("age_s", 600)
        if original is None:
            return JSONResponse({"message": "no such notification"}, status_code=404)
        if not isinstance(age_s, int | float) or isinstance(age_s, bool):
            return JSONResponse({"message": "age_s: a number of seconds"}, status_code=400)
        try:
            sent = await self.notifier.resend(
                original, str(data.get("variant", "replay")), age_s=float(age_s)
            )
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse(sent.summary())

    def original(self, notification_id: str) -> SentNotification | None:
        """The first notification sent with this id."""
        return next((sent for sent in self.state.notifications if sent.id == notification_id), None)

    async def mismatch(self, request: Request) -> Response:
        data = await json_object(request)
        try:
            day = date.fromisoformat(request.path_params["day"])
            amount = data.get("amount_fen", 0)
            if not isinstance(amount, int) or not isinstance(data.get("out_trade_no"), str):
                raise ValueError("out_trade_no: a string; amount_fen: an integer")
            self.state.add_mismatch(day, Mismatch(str(data.get("kind")), str(data["out_trade_no"]), amount))
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return Response(status_code=204)

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.state.fault = parse_fault(await json_object(request), self.state.now())
            except ValueError as exc:
                return JSONResponse({"message": str(exc)}, status_code=400)
        fault = self.state.fault
        return JSONResponse(None if fault is None else {"status": fault.status, "remaining": fault.remaining})

    async def reset(self, _request: Request) -> Response:
        self.state.reset()
        return Response(status_code=204)


def _json_body(body: str) -> dict[str, object]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise _not_json("请求体不是有效的JSON") from None
    if not isinstance(data, dict):
        raise _not_json("请求体应为JSON对象")
    return data


def parse_fault(data: dict[str, object], now: datetime) -> Fault | None:
    """`{"status": 429|500|503, "count"?: N, "seconds"?: T}`; `{"status": null}`: none. Without count or
    seconds the fault lasts until cleared."""
    status, count, seconds = data.get("status"), data.get("count"), data.get("seconds")
    if status is None:
        return None
    if status not in wire.FAULT_ERRORS or isinstance(status, bool) or not isinstance(status, int):
        raise ValueError(f"status: one of {sorted(wire.FAULT_ERRORS)} or null")
    if count is not None and (not isinstance(count, int) or count < 0):
        raise ValueError("count: an integer >= 0")
    if seconds is not None and (not isinstance(seconds, int | float) or seconds < 0):
        raise ValueError("seconds: a number >= 0")
    until = None if seconds is None else now + timedelta(seconds=float(seconds))
    return Fault(status, count, until)


async def _unknown_path(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this class only
    code = "RESOURCE_NOT_EXISTS" if exc.status_code == 404 else "INVALID_REQUEST"
    return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code)


def create_app(api: Api) -> Starlette:
    """The ASGI app over `api`; its lifespan opens and closes the notifier's client."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await api.notifier.open()
        try:
            yield
        finally:
            await api.notifier.close()

    trade_path = "/v3/pay/transactions/out-trade-no/{no}"
    routes = [
        Route("/v3/pay/transactions/native", api.endpoint(api.create_native), methods=["POST"]),
        Route(trade_path, api.endpoint(api.query), methods=["GET"]),
        Route(f"{trade_path}/close", api.endpoint(api.close), methods=["POST"]),
        Route("/v3/refund/domestic/refunds", api.endpoint(api.refund), methods=["POST"]),
        Route("/v3/refund/domestic/refunds/{out_refund_no}", api.endpoint(api.query_refund), methods=["GET"]),
        Route("/v3/bill/tradebill", api.endpoint(api.trade_bill), methods=["GET"]),
        Route("/v3/billdownload/file", api.download, methods=["GET"]),
        Route("/_fake/trades/{no}/pay", api.pay, methods=["POST"]),
        Route("/_fake/notifications", api.list_notifications, methods=["GET"]),
        Route("/_fake/notifications/{id}/resend", api.resend, methods=["POST"]),
        Route("/_fake/bills/{day}/mismatches", api.mismatch, methods=["POST"]),
        Route("/_fake/faults", api.faults, methods=["GET", "POST"]),
        Route("/_fake/reset", api.reset, methods=["POST"]),
    ]
    handlers = {HTTPException: _unknown_path, BadControlRequest: bad_control_request}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


class FakeWeChatPay:
    """The fake run in-process: `base = await fake.start()`, steer it, `await fake.stop()`."""

    def __init__(
        self,
        keys: KeySet | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] = utc_now,
        notify_retry_delays_s: Sequence[float] = PLATFORM_RETRY_DELAYS_S,
        refund_delay_s: float = 0.05,
    ) -> None:
        self.keys = keys or generate_keys()
        merchant_key = load_pem_public_key(self.keys.merchant_public_pem.encode())
        platform_key = load_pem_private_key(self.keys.platform_private_pem.encode(), password=None)
        if not isinstance(merchant_key, RSAPublicKey) or not isinstance(platform_key, RSAPrivateKey):
            raise TypeError("WeChat Pay keys are RSA keys")
        merchant = Merchant(self.keys.mchid, self.keys.appid, self.keys.merchant_serial_no, merchant_key)
        self.state = FakeState(merchant, now=now)
        self.notifier = Notifier(
            self.state,
            platform_key=platform_key,
            key_id=self.keys.public_key_id,
            apiv3_key=self.keys.apiv3_key,
            retry_delays_s=notify_retry_delays_s,
        )
        self.api = Api(self.state, self.notifier, refund_delay_s=refund_delay_s)
        self.app = create_app(self.api)
        self.server = LocalServer(self.app, host=host, port=port)

    @property
    def base_url(self) -> str:
        """`http://host:port` while running: the merchant's gateway URL."""
        return self.server.base_url

    @property
    def trades(self) -> dict[str, FakeTrade]:
        return self.state.trades

    @property
    def refunds(self) -> dict[str, FakeRefund]:
        return self.state.refunds

    @property
    def notifications(self) -> list[SentNotification]:
        """Every notification and copy sent, in order."""
        return self.state.notifications

    async def start(self) -> str:
        """Serve on a free port (unless one was given) in this event loop; return the base URL."""
        return await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> FakeWeChatPay:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def pay(self, out_trade_no: str, *, openid: str = DEFAULT_OPENID) -> SentNotification:
        """The family pays the trade, as `POST /_fake/trades/{no}/pay`; the notification is on its way."""
        return self.api.pay_trade(out_trade_no, openid)[1]

    async def resend(self, notification_id: str, variant: str, *, age_s: float = 600.0) -> SentNotification:
        """Send a copy of a notification, as `POST /_fake/notifications/{id}/resend`; it has been answered."""
        original = self.api.original(notification_id)
        if original is None:
            raise KeyError(notification_id)
        return await self.notifier.resend(original, variant, age_s=age_s)

    def fail(self, status: int | None, *, count: int | None = None, seconds: float | None = None) -> None:
        """Answer API requests with `status` (429, 500, 503) for a while; `fail(None)` stops."""
        self.state.fault = parse_fault(
            {"status": status, "count": count, "seconds": seconds}, self.state.now()
        )

    def add_mismatch(self, day: date, kind: str, out_trade_no: str, amount_fen: int = 0) -> None:
        """Make `day`'s bills differ from the trades: `amount`, `extra` or `missing`."""
        self.state.add_mismatch(day, Mismatch(kind, out_trade_no, amount_fen))
