"""The fake Twilio: Twilio's Messages REST API (2010-04-01) on a local port, plus `/_fake/...` controls.
The voice side (Calls, Conferences, Participants, Recordings and `/_fake/voice/...`) is in `voice_routes`.

REST, as Twilio (HTTP Basic auth with the account SID and auth token):
  POST /2010-04-01/Accounts/{AccountSid}/Messages.json       To, From | MessagingServiceSid, Body,
                                                             StatusCallback -> 201 Message JSON
  GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json -> the Message with its current status
Errors: `{"code", "message", "more_info", "status"}`, so the twilio client raises TwilioRestException.

Controls, for tests and the provider simulator (no auth):
  POST /_fake/inbound   {"from", "to", "body", "url"?, "messaging_service_sid"?, "signature"?: "bad"}
                        -> the SMS webhook's own status and body (header X-Fake-Twilio-Message-Sid)
  GET  /_fake/messages?to=&since=&wait=  -> {"items": [...], "last_index"} (long poll up to `wait` s)
  GET|POST /_fake/config {fail_numbers, undelivered_numbers, status_delay_ms, sms_webhook_url,
                         phone_numbers, voice_webhook_url, voice_status_url, voice_number,
                         voice_ms_per_second} -> the settings
  GET|POST /_fake/faults {status: 429|500|502|503|504, target?: sms|voice|all, count?: N, seconds?: T,
                         retry_after?: S}
                        new messages (target sms, the default) or voice REST requests (voice) are refused
                        with that status for the next N requests and/or T seconds
                        (until cleared with {status: null} when neither is given); answers the fault and
                        `refused_total`
  POST /_fake/reset     forget every message, clear the fault
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.fake_twilio.delivery import InboundResult, Webhooks
from simulators.fake_twilio.forms import (
    BadControlRequest,
    bad_control_request,
    bad_request,
    form_fields,
    json_object,
    optional_str,
)
from simulators.fake_twilio.runner import LocalServer
from simulators.fake_twilio.state import FakeConfig, FakeMessage, FakeState, parse_fault, utc_now
from simulators.fake_twilio.voice_player import VoicePlayer
from simulators.fake_twilio.voice_routes import VoiceApi, voice_routes
from simulators.fake_twilio.voice_state import FakeCall, VoiceState
from simulators.fake_twilio.wire import (
    API_VERSION,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioError,
    check_body,
    check_sender,
    check_to,
    not_found,
    unauthenticated,
)

__all__ = ["FakeTwilio", "create_app"]

logger = logging.getLogger(__name__)

ACCOUNT_PATH = f"/{API_VERSION}/Accounts/{{account_sid}}"


def _error_response(error: TwilioError) -> JSONResponse:
    """Twilio's error JSON with its status (and the Basic challenge on 401)."""
    headers = dict(error.headers)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def _twilio_error(_request: Request, exc: Exception) -> Response:
    """Exception handler for TwilioError."""
    assert isinstance(exc, TwilioError)  # noqa: S101 - registered for this class only
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods, in Twilio's error shape."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this class only
    if exc.status_code == 404:
        return _error_response(not_found(request.url.path))
    if exc.status_code == 405:
        return _error_response(TwilioError(405, 20004, "Method not allowed"))
    return _error_response(TwilioError(exc.status_code, exc.status_code, str(exc.detail)))


class Api:
    """The endpoints, over one FakeState and its Webhooks."""

    def __init__(self, state: FakeState, webhooks: Webhooks) -> None:
        self.state = state
        self.webhooks = webhooks

    def authenticate(self, request: Request) -> None:
        """HTTP Basic with this account's SID and token (20003), for this account's paths only (20404)."""
        config = self.state.config
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise unauthenticated() from None
        good_user = hmac.compare_digest(user.encode(), config.account_sid.encode())
        good_password = hmac.compare_digest(password.encode(), config.auth_token.encode())
        if scheme.lower() != "basic" or not (good_user and good_password):
            raise unauthenticated()
        if request.path_params["account_sid"] != config.account_sid:
            raise not_found(request.url.path)

    async def create_message(self, request: Request) -> Response:
        """POST .../Messages.json: check the form as Twilio does, accept, start the lifecycle."""
        self.authenticate(request)
        self.state.check_fault()
        form = await form_fields(request)
        to, sender = form.get("To", "").strip(), form.get("From", "").strip()
        body, service_sid = form.get("Body", ""), form.get("MessagingServiceSid", "").strip()
        check_to(to)
        check_sender(sender, service_sid, self.state.config.phone_numbers)
        check_body(body)
        message = self.state.add_outbound(
            to=to,
            sender=sender or None,
            body=body,
            messaging_service_sid=service_sid or None,
            status_callback=form.get("StatusCallback") or None,
        )
        self.webhooks.start_lifecycle(message)
        logger.info("accepted %s #%d to %s", message.sid, message.index, message.to)
        return JSONResponse(message.resource(), status_code=201)

    async def fetch_message(self, request: Request) -> Response:
        """GET .../Messages/{Sid}.json."""
        self.authenticate(request)
        message = self.state.by_sid.get(request.path_params["sid"])
        if message is None:
            raise not_found(request.url.path)
        return JSONResponse(message.resource())

    async def inbound(self, request: Request) -> Response:
        """POST /_fake/inbound: a handset texts one of the account's numbers."""
        data = await json_object(request)
        sender, to = data.get("from"), data.get("to")
        if not isinstance(sender, str) or not isinstance(to, str):
            return bad_request('"from" and "to" are required strings')
        result = await self.webhooks.inbound(
            sender=sender,
            to=to,
            body=str(data.get("body", "")),
            url=optional_str(data.get("url")),
            service_sid=optional_str(data.get("messaging_service_sid")),
            bad_signature=data.get("signature") == "bad",
        )
        logger.info(
            "inbound %s from %s: the webhook answered %d", result.message_sid, sender, result.status_code
        )
        headers = {"X-Fake-Twilio-Message-Sid": result.message_sid}
        return Response(
            result.body, status_code=result.status_code, headers=headers, media_type=result.content_type
        )

    async def list_messages(self, request: Request) -> Response:
        """GET /_fake/messages?to=&since=&wait=: outbound messages after index `since`."""
        try:
            since = int(request.query_params.get("since", "0"))
            wait_s = float(request.query_params.get("wait", "0"))
        except ValueError:
            return bad_request("since must be an integer and wait a number of seconds")
        to = request.query_params.get("to") or None
        found = await self.state.wait_outbound(since=since, to=to, wait_s=wait_s)
        last_index = self.state.messages[-1].index if self.state.messages else since
        return JSONResponse({"items": [m.summary() for m in found], "last_index": last_index})

    async def config(self, request: Request) -> Response:
        """GET or POST /_fake/config."""
        if request.method == "POST":
            try:
                self.state.config.update(await json_object(request))
            except ValueError as exc:
                return bad_request(str(exc))
        return JSONResponse(self.state.config.as_json())

    async def faults(self, request: Request) -> Response:
        """GET or POST /_fake/faults."""
        if request.method == "POST":
            try:
                self.state.fault = parse_fault(await json_object(request), self.state.now())
            except ValueError as exc:
                return bad_request(str(exc))
        return JSONResponse(self.state.fault_json())

    async def reset(self, _request: Request) -> Response:
        """POST /_fake/reset."""
        self.state.reset()
        return Response(status_code=204)


def create_app(state: FakeState, webhooks: Webhooks, player: VoicePlayer | None = None) -> Starlette:
    """The ASGI app over `state` (and the voice `player`); its lifespan opens and closes the webhook client."""
    api = Api(state, webhooks)
    player = player or VoicePlayer(VoiceState(state), webhooks)
    voice = VoiceApi(state, player.state, player, api.authenticate)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await webhooks.open()
        try:
            yield
        finally:
            state.close()
            await player.close()
            await webhooks.close()

    routes = [
        Route(f"{ACCOUNT_PATH}/Messages.json", api.create_message, methods=["POST"]),
        Route(f"{ACCOUNT_PATH}/Messages/{{sid}}.json", api.fetch_message, methods=["GET"]),
        Route("/_fake/inbound", api.inbound, methods=["POST"]),
        Route("/_fake/messages", api.list_messages, methods=["GET"]),
        Route("/_fake/config", api.config, methods=["GET", "POST"]),
        Route("/_fake/faults", api.faults, methods=["GET", "POST"]),
        Route("/_fake/reset", api.reset, methods=["POST"]),
        *voice_routes(voice, ACCOUNT_PATH),
    ]
    handlers = {
        TwilioError: _twilio_error,
        HTTPException: _http_error,
        BadControlRequest: bad_control_request,
    }
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


class FakeTwilio:
    """The fake Twilio run in-process: `base = await fake.start()`, inspect and steer it, `await fake.stop()`."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        sms_webhook_url: str | None = None,
        status_delay_ms: float = 50.0,
        phone_numbers: Iterable[str] = (),
        voice_webhook_url: str | None = None,
        voice_status_url: str | None = None,
        voice_number: str | None = None,
        voice_ms_per_second: float = 1000.0,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        config = FakeConfig(
            account_sid, auth_token, sms_webhook_url, status_delay_ms, frozenset(phone_numbers)
        )
        config.voice_webhook_url = voice_webhook_url
        config.voice_status_url = voice_status_url
        config.voice_number = voice_number
        config.voice_ms_per_second = voice_ms_per_second
        self.state = FakeState(config, now=now)
        self.webhooks = Webhooks(self.state)
        self.voice = VoicePlayer(VoiceState(self.state), self.webhooks)
        self.app = create_app(self.state, self.webhooks, self.voice)
        self.server = LocalServer(self.app, host=host, port=port)

    @property
    def account_sid(self) -> str:
        """The account the fake serves."""
        return self.state.config.account_sid

    @property
    def auth_token(self) -> str:
        """Its auth token (the key of every signature)."""
        return self.state.config.auth_token

    @property
    def base_url(self) -> str:
        """`http://host:port` while running: the twilio client's base URL."""
        return self.server.base_url

    @property
    def messages(self) -> list[FakeMessage]:
        """Outbound messages in order of arrival (index 1, 2, ...)."""
        return self.state.messages

    @property
    def received(self) -> list[FakeMessage]:
        """Inbound messages delivered through `inbound`."""
        return self.state.received

    async def start(self) -> str:
        """Serve on a free port (unless one was given) in this event loop; return the base URL."""
        self.state.closed = False
        self.voice.base_url = await self.server.start()
        return self.voice.base_url

    async def stop(self) -> None:
        """Stop serving: long polls answer at once, background callbacks are cancelled."""
        self.state.close()
        await self.server.stop()

    async def __aenter__(self) -> FakeTwilio:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def configure(
        self,
        *,
        fail_numbers: Iterable[str] | Mapping[str, int] | None = None,
        undelivered_numbers: Iterable[str] | Mapping[str, int] | None = None,
        status_delay_ms: float | None = None,
        sms_webhook_url: str | None = None,
        phone_numbers: Iterable[str] | None = None,
    ) -> None:
        """Change settings as `POST /_fake/config` does (arguments left None stay as they are)."""
        changes = {
            "fail_numbers": None if fail_numbers is None else _listed(fail_numbers),
            "undelivered_numbers": None if undelivered_numbers is None else _listed(undelivered_numbers),
            "status_delay_ms": status_delay_ms,
            "sms_webhook_url": sms_webhook_url,
            "phone_numbers": None if phone_numbers is None else list(phone_numbers),
        }
        self.state.config.update({key: value for key, value in changes.items() if value is not None})

    def fail(
        self,
        status: int | None,
        *,
        count: int | None = None,
        seconds: float | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Refuse new messages as `POST /_fake/faults` does; `fail(None)` stops refusing."""
        changes = {"status": status, "count": count, "seconds": seconds, "retry_after": retry_after}
        self.state.fault = parse_fault(
            {key: value for key, value in changes.items() if value is not None}, self.state.now()
        )

    async def inbound(
        self,
        *,
        from_: str,
        to: str,
        body: str,
        url: str | None = None,
        messaging_service_sid: str | None = None,
        bad_signature: bool = False,
    ) -> InboundResult:
        """A handset texts `to`: the SMS webhook (or `url`) gets it signed; its answer is returned."""
        return await self.webhooks.inbound(
            sender=from_,
            to=to,
            body=body,
            url=url,
            service_sid=messaging_service_sid,
            bad_signature=bad_signature,
        )

    async def wait_for_messages(
        self, *, to: str | None = None, since: int = 0, wait_s: float = 5.0
    ) -> list[FakeMessage]:
        """Outbound messages after index `since` (to `to`), waiting up to `wait_s` for one."""
        return await self.state.wait_outbound(since=since, to=to, wait_s=wait_s)

    def message(self, sid: str) -> FakeMessage:
        """A message by SID (KeyError if unknown)."""
        return self.state.by_sid[sid]

    def configure_voice(self, **changes: object) -> None:
        """Change the voice settings as `POST /_fake/voice/config` does (voice_webhook_url, voice_status_url,
        voice_number, voice_ms_per_second)."""
        self.state.config.update(changes)

    def set_phones(self, scripts: Mapping[str, object]) -> None:
        """Script rung phones as `POST /_fake/voice/phones` does."""
        self.voice.state.set_phones(scripts)

    def place_call(
        self,
        *,
        from_: str,
        to: str | None = None,
        digits: str | list[str] | None = None,
        hangup_after_s: float | None = None,
        url: str | None = None,
        bad_signature: bool = False,
    ) -> FakeCall:
        """A scripted caller rings `to` (the voice number by default), as `POST /_fake/voice/calls` does."""
        number = to or self.state.config.voice_number
        if not number:
            raise ValueError("no number to call: pass `to` or configure voice_number")
        return self.voice.place_incoming(
            sender=from_,
            to=number,
            url=url,
            digits=[digits] if isinstance(digits, str) else list(digits or []),
            hangup_after_s=hangup_after_s,
            bad_signature=bad_signature,
        )

    def call(self, sid: str) -> FakeCall:
        """A call leg by SID (KeyError if unknown)."""
        return self.voice.state.calls[sid]

    async def wait_for_call(self, sid: str, *statuses: str, wait_s: float = 5.0) -> FakeCall:
        """The call once it reaches one of `statuses` (or ends), waiting up to `wait_s`."""
        return await self.voice.state.wait_for(self.call(sid), statuses, wait_s)


def _listed(numbers: Iterable[str] | Mapping[str, int]) -> list[str] | dict[str, int]:
    """Numbers as the JSON-like value `FakeConfig.update` takes."""
    return dict(numbers) if isinstance(numbers, Mapping) else list(numbers)
