"""The fake Twilio driven by the real `twilio` client over real sockets: messages, errors, callbacks, inbound."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from dispatch.notify.twilio_http import BaseUrlHttpClient
from simulators.fake_twilio import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    LocalServer,
    num_segments,
)

SENDER = "+8610690000001"
HANDSET = "+8613800138000"
TWIML_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>已收到</Message></Response>'


@dataclass(frozen=True)
class Hook:
    """One request the receiver got."""

    url: str
    params: dict[str, str]
    signature: str


class Receiver:
    """Our side of the webhooks: a tiny Starlette app on a real port that records what it is sent."""

    def __init__(self, *, status: int = 200, reply: str = TWIML_REPLY) -> None:
        self.status, self.reply = status, reply
        self.hooks: asyncio.Queue[Hook] = asyncio.Queue()
        self.server = LocalServer(Starlette(routes=[Route("/{path:path}", self.receive, methods=["POST"])]))
        self.base_url = ""

    async def receive(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        signature = request.headers.get("X-Twilio-Signature", "")
        await self.hooks.put(Hook(str(request.url), params, signature))
        return Response(self.reply, status_code=self.status, media_type="application/xml")

    async def next(self) -> Hook:
        async with asyncio.timeout(5):
            return await self.hooks.get()


def valid(fake: FakeTwilio, hook: Hook) -> bool:
    """What our webhook handler will do: twilio's own check of the signature."""
    return bool(RequestValidator(fake.auth_token).validate(hook.url, hook.params, hook.signature))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(status_delay_ms=5) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    hooks.base_url = await hooks.server.start()
    yield hooks
    await hooks.server.stop()


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return Client(fake.account_sid, fake.auth_token, http_client=BaseUrlHttpClient(fake.base_url, timeout=5))


async def send(client: Client, **kwargs: Any) -> Any:
    """`client.messages.create` off the event loop (the client is synchronous)."""
    return await asyncio.to_thread(client.messages.create, **{"from_": SENDER, **kwargs})


async def fetch_until(client: Client, sid: str, status: str) -> Any:
    """Fetch the message until it reaches `status`."""
    async with asyncio.timeout(5):
        while (message := await asyncio.to_thread(client.messages(sid).fetch)).status != status:  # noqa: ASYNC110 - polling the REST API is the point
            await asyncio.sleep(0.01)
    return message


async def test_create_returns_a_queued_message_as_twilio_does(fake: FakeTwilio, client: Client) -> None:
    message = await send(client, to=HANDSET, body="Job 42: 助浴 at 10:00, reply 1 to accept")
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.account_sid, message.to, message.from_) == (fake.account_sid, HANDSET, SENDER)
    assert (message.status, message.direction, message.api_version) == (
        "queued",
        "outbound-api",
        "2010-04-01",
    )
    assert (message.num_segments, message.num_media) == ("1", "0")
    assert (message.price, message.error_code, message.error_message, message.date_sent) == (None,) * 4
    assert message.date_created is not None
    assert message.date_created.utcoffset() is not None
    assert message.uri == f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{message.sid}.json"
    assert message.subresource_uris["media"] == message.uri.removesuffix(".json") + "/Media.json"
    assert [(m.sid, m.to, m.sender) for m in fake.messages] == [(message.sid, HANDSET, SENDER)]


async def test_the_wire_format_is_twilios(fake: FakeTwilio) -> None:
    url = f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    async with httpx.AsyncClient(auth=(fake.account_sid, fake.auth_token)) as http:
        created = await http.post(url, data={"To": HANDSET, "From": SENDER, "Body": "hi"})
        refused = await http.post(url, data={"To": "13800138000", "From": SENDER, "Body": "hi"})
    assert created.status_code == 201
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", created.json()["date_created"])
    assert refused.status_code == 400
    assert refused.json() == {
        "code": 21211,
        "message": "Invalid 'To' Phone Number: 13800138000",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


async def test_fetch_shows_the_later_status(client: Client) -> None:
    message = await send(client, to=HANDSET, body="hello")
    delivered = await fetch_until(client, message.sid, "delivered")
    assert delivered.sid == message.sid
    assert delivered.date_sent is not None
    assert delivered.date_updated >= delivered.date_created


async def test_status_callbacks_arrive_in_order_signed(
    fake: FakeTwilio, client: Client, receiver: Receiver
) -> None:
    callback = f"{receiver.base_url}/webhooks/twilio/status?offer=7"
    message = await send(client, to=HANDSET, body="hello", status_callback=callback)
    hooks = [await receiver.next() for _ in range(3)]
    assert [hook.params["MessageStatus"] for hook in hooks] == ["queued", "sent", "delivered"]
    assert hooks[0].url == callback
    assert hooks[2].params == {
        "ApiVersion": "2010-04-01",
        "AccountSid": fake.account_sid,
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "From": SENDER,
        "To": HANDSET,
    }
    assert all(valid(fake, hook) for hook in hooks)
    assert not RequestValidator("another-token").validate(hooks[0].url, hooks[0].params, hooks[0].signature)


@pytest.mark.parametrize(
    ("setting", "value", "statuses", "error_code"),
    [
        ("fail_numbers", [HANDSET], ["queued", "failed"], 30003),
        ("fail_numbers", {HANDSET: 30008}, ["queued", "failed"], 30008),
        ("undelivered_numbers", [HANDSET], ["queued", "sent", "undelivered"], 30005),
    ],
)
async def test_configured_numbers_fail(
    fake: FakeTwilio,
    client: Client,
    receiver: Receiver,
    setting: str,
    value: object,
    statuses: list[str],
    error_code: int,
) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{fake.base_url}/_fake/config", json={setting: value})
    assert answer.status_code == 200
    message = await send(client, to=HANDSET, body="hello", status_callback=f"{receiver.base_url}/status")
    hooks = [await receiver.next() for _ in statuses]
    assert [hook.params["MessageStatus"] for hook in hooks] == statuses
    assert "ErrorCode" not in hooks[0].params
    assert hooks[-1].params["ErrorCode"] == str(error_code)
    assert all(valid(fake, hook) for hook in hooks)
    final = await fetch_until(client, message.sid, statuses[-1])
    assert final.error_code == error_code


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"to": "13800138000"}, 400, 21211),
        ({"to": "+86 138 0013 8000"}, 400, 21211),
        ({"body": ""}, 400, 21602),
        ({"body": "x" * 1601}, 400, 21617),
        ({"from_": "not a sender!"}, 400, 21212),
        ({"from_": "+8610690000999"}, 400, 21606),  # valid, but not one of the account's numbers
    ],
)
async def test_refused_messages_raise_twilio_rest_exception(
    fake: FakeTwilio, client: Client, kwargs: dict[str, str], status: int, code: int
) -> None:
    fake.configure(phone_numbers=[SENDER])
    with pytest.raises(TwilioRestException) as caught:
        await send(client, **{"to": HANDSET, "body": "hello", **kwargs})
    assert (caught.value.status, caught.value.code) == (status, code)
    assert fake.messages == []


async def test_wrong_credentials_and_other_accounts_are_refused(fake: FakeTwilio) -> None:
    http_client = BaseUrlHttpClient(fake.base_url, timeout=5)
    wrong_token = Client(fake.account_sid, "not-the-token", http_client=http_client)
    other_account = Client(fake.account_sid, fake.auth_token, "AC" + "f" * 32, http_client=http_client)
    cases = [(wrong_token, 401, 20003), (other_account, 404, 20404)]
    for client, status, code in cases:
        with pytest.raises(TwilioRestException) as caught:
            await send(client, to=HANDSET, body="hello")
        assert (caught.value.status, caught.value.code) == (status, code)
    good = Client(fake.account_sid, fake.auth_token, http_client=http_client)
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(good.messages("SM" + "0" * 32).fetch)
    assert (caught.value.status, caught.value.code) == (404, 20404)


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),  # extension characters take two septets
        ("{" * 81, 2),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("中" * 134, 2),
        ("中" * 135, 3),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments_count_gsm7_and_ucs2(body: str, segments: int) -> None:
    assert num_segments(body) == segments


async def test_a_chinese_body_is_counted_in_ucs2_segments(client: Client) -> None:
    message = await send(client, to=HANDSET, body="您好" * 35 + "。")  # 71 characters
    assert message.num_segments == "2"


async def test_a_messaging_service_picks_the_sender(client: Client) -> None:
    message = await send(client, to=HANDSET, body="hello", from_=None, messaging_service_sid="MG" + "1" * 32)
    assert (message.status, message.from_, message.messaging_service_sid) == (
        "accepted",
        None,
        "MG" + "1" * 32,
    )
    delivered = await fetch_until(client, message.sid, "delivered")
    assert delivered.from_ is not None


async def test_inbound_sms_reaches_the_webhook_signed(fake: FakeTwilio, receiver: Receiver) -> None:
    webhook = f"{receiver.base_url}/webhooks/twilio/sms"
    fake.configure(sms_webhook_url=webhook)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{fake.base_url}/_fake/inbound", json={"from": HANDSET, "to": SENDER, "body": "1 接单"}
        )
    hook = await receiver.next()
    assert (answer.status_code, answer.text) == (200, TWIML_REPLY)
    sid = answer.headers["X-Fake-Twilio-Message-Sid"]
    assert hook.url == webhook
    assert valid(fake, hook)
    assert {key: hook.params[key] for key in ("From", "To", "Body", "NumMedia", "NumSegments")} == {
        "From": HANDSET,
        "To": SENDER,
        "Body": "1 接单",
        "NumMedia": "0",
        "NumSegments": "1",
    }
    assert hook.params["MessageSid"] == hook.params["SmsSid"] == hook.params["SmsMessageSid"] == sid
    assert (hook.params["AccountSid"], hook.params["ApiVersion"]) == (fake.account_sid, "2010-04-01")
    assert (hook.params["FromCountry"], hook.params["ToCountry"]) == ("CN", "CN")
    replies = await fake.wait_for_messages(to=HANDSET, wait_s=2)
    assert [(m.sender, m.body, m.direction) for m in replies] == [(SENDER, "已收到", "outbound-reply")]


async def test_inbound_with_a_bad_signature_and_another_url(fake: FakeTwilio, receiver: Receiver) -> None:
    url = f"{receiver.base_url}/elsewhere"
    result = await fake.inbound(from_=HANDSET, to=SENDER, body="2", url=url, bad_signature=True)
    hook = await receiver.next()
    assert (result.status_code, hook.url, hook.params["Body"]) == (200, url, "2")
    assert not valid(fake, hook)


async def test_inbound_answers_with_the_webhooks_status() -> None:
    refusing = Receiver(status=403, reply="forbidden")
    async with FakeTwilio(sms_webhook_url=await refusing.server.start() + "/sms") as fake:
        result = await fake.inbound(from_=HANDSET, to=SENDER, body="1")
        unreachable = await fake.inbound(from_=HANDSET, to=SENDER, body="1", url="http://127.0.0.1:9/sms")
    await refusing.server.stop()
    assert (result.status_code, result.body) == (403, "forbidden")
    assert unreachable.status_code == 502
    assert fake.messages == []  # no TwiML executed from a refusal


async def test_the_long_poll_returns_a_message_sent_during_the_wait(fake: FakeTwilio, client: Client) -> None:
    await send(client, to="+8613900000000", body="before")
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{fake.base_url}/_fake/messages"
        polling = asyncio.create_task(http.get(url, params={"to": HANDSET, "since": 1, "wait": 5}))
        await asyncio.sleep(0.1)
        assert not polling.done()
        message = await send(client, to=HANDSET, body="during")
        async with asyncio.timeout(2):
            answer = await polling
        empty = await http.get(url, params={"to": "+8613700000000", "wait": 0})
    items = answer.json()["items"]
    assert [(i["index"], i["sid"], i["to"], i["from"], i["body"]) for i in items] == [
        (2, message.sid, HANDSET, SENDER, "during")
    ]
    assert (answer.json()["last_index"], empty.json()["items"]) == (2, [])


async def test_callback_failures_are_logged_not_fatal(
    fake: FakeTwilio, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    down = await send(client, to=HANDSET, body="a", status_callback="http://127.0.0.1:9/status")
    await fetch_until(client, down.sid, "delivered")
    assert "status callback http://127.0.0.1:9/status" in caplog.text
    refusing = Receiver(status=500)
    base = await refusing.server.start()
    try:
        refused = await send(client, to=HANDSET, body="b", status_callback=f"{base}/status")
        await fetch_until(client, refused.sid, "delivered")
    finally:
        await refusing.server.stop()
    assert "answered 500" in caplog.text


async def test_config_is_checked_and_shown(fake: FakeTwilio) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        bad = await http.post("/_fake/config", json={"status_delay_ms": -1})
        unknown = await http.post("/_fake/config", json={"colour": "red"})
        not_json = await http.post("/_fake/config", content=b"{")
        shown = await http.post(
            "/_fake/config", json={"status_delay_ms": 0, "sms_webhook_url": "http://x/sms"}
        )
    assert (bad.status_code, unknown.status_code, not_json.status_code) == (400, 400, 400)
    assert shown.json()["status_delay_ms"] == 0
    assert fake.state.config.sms_webhook_url == "http://x/sms"
    assert "auth_token" not in shown.json()


def test_the_http_client_rewrites_only_twilios_api() -> None:
    fake_client = BaseUrlHttpClient("http://127.0.0.1:8790/")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=2"
    assert (
        fake_client.rewrite(url) == "http://127.0.0.1:8790/2010-04-01/Accounts/AC1/Messages.json?PageSize=2"
    )
    assert fake_client.rewrite("https://api.sydney.au1.twilio.com/x") == "http://127.0.0.1:8790/x"
    assert fake_client.rewrite("https://example.com/x") == "https://example.com/x"
    assert BaseUrlHttpClient(None).rewrite(url) == url


async def test_the_module_runs_standalone() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators.fake_twilio", "--port", "0", "--status-delay-ms", "0",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        async with asyncio.timeout(20):
            line = (await process.stdout.readline()).decode()
        base_url = re.search(r"listening on (http://\S+)", line)
        assert base_url is not None, line
        client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=BaseUrlHttpClient(base_url[1]))
        message = await send(client, to=HANDSET, body="hello")
        assert message.status == "queued"
    finally:
        process.terminate()
        async with asyncio.timeout(10):
            assert await process.wait() == 0


async def test_told_to_fail_n_times_it_refuses_then_accepts(fake: FakeTwilio, client: Client) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        told = await http.post("/_fake/faults", json={"status": 500, "count": 2})
    assert told.json() == {
        "status": 500,
        "target": "sms",
        "remaining": 2,
        "until": None,
        "retry_after": None,
        "refused": 0,
        "refused_total": 0,
    }
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            await send(client, to=HANDSET, body="hello")
        assert (caught.value.status, caught.value.code) == (500, 20500)
    message = await send(client, to=HANDSET, body="hello")
    assert message.status == "queued"
    assert [m.sid for m in fake.messages] == [message.sid]  # nothing refused was kept
    assert fake.state.fault_json()["refused_total"] == 2


async def test_a_429_carries_retry_after_for_a_while() -> None:
    now = [datetime(2026, 3, 2, 1, 0, tzinfo=UTC)]
    async with FakeTwilio(status_delay_ms=5, now=lambda: now[0]) as fake:
        fake.fail(429, seconds=30, retry_after=7)
        url = f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
        async with httpx.AsyncClient(auth=(fake.account_sid, fake.auth_token)) as http:
            form = {"To": HANDSET, "From": SENDER, "Body": "hi"}
            refused = [await http.post(url, data=form) for _ in range(3)]
            now[0] += timedelta(seconds=30)
            accepted = await http.post(url, data=form)
    assert [(r.status_code, r.headers.get("Retry-After"), r.json()["code"]) for r in refused] == [
        (429, "7", 20429)
    ] * 3
    assert accepted.status_code == 201


async def test_faults_are_checked_and_cleared(fake: FakeTwilio, client: Client) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        bad = [
            await http.post("/_fake/faults", json=body)
            for body in ({"status": 404}, {"status": "500"}, {"status": 500, "count": -1}, {"colour": 1})
        ]
        forever = await http.post("/_fake/faults", json={"status": 503})
        with pytest.raises(TwilioRestException):
            await send(client, to=HANDSET, body="hello")
        cleared = await http.post("/_fake/faults", json={"status": None})
        shown = await http.get("/_fake/faults")
    assert [r.status_code for r in bad] == [400] * 4
    assert forever.json()["status"] == 503
    assert cleared.json() == shown.json() == {"status": None, "refused_total": 1}
    assert (await send(client, to=HANDSET, body="hello")).status == "queued"
    fake.fail(500)
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        assert (await http.post("/_fake/reset")).status_code == 204
    assert (await send(client, to=HANDSET, body="hello")).status == "queued"


class DropsFirstConnections:
    """A raw HTTP endpoint that reads a request and closes without answering, `drops` times, then answers
    200: a server restarting, or one closing a kept-alive connection just as the request was sent."""

    def __init__(self, drops: int) -> None:
        self.drops, self.requests = drops, 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE)[1])  # type: ignore[index]
        await reader.readexactly(length)
        self.requests += 1
        if self.requests <= self.drops:
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_dropped_connection_is_retried_once_as_twilio_does(fake: FakeTwilio) -> None:
    once = DropsFirstConnections(drops=1)
    base = await once.start()
    try:
        answered = await fake.webhooks.post(f"{base}/status", {"CallSid": "CA1"})
        assert (answered.status_code, once.requests) == (200, 2)
        twice = DropsFirstConnections(drops=2)
        base = await twice.start()
        with pytest.raises(httpx.HTTPError):
            await fake.webhooks.post(f"{base}/status", {"CallSid": "CA1"})
        assert twice.requests == 2
        await twice.stop()
    finally:
        await once.stop()


async def test_the_url_fragment_overrides_the_retries_and_is_not_sent(fake: FakeTwilio) -> None:
    flaky = Receiver(status=500)
    base = await flaky.server.start()
    try:
        answered = await fake.webhooks.post(f"{base}/hook#rc=2&rp=5xx", {"CallSid": "CA1"})
        hooks = [await flaky.next() for _ in range(3)]
        assert answered.status_code == 500
        assert {hook.url for hook in hooks} == {f"{base}/hook"}
        assert all(valid(fake, hook) for hook in hooks)
        await fake.webhooks.post(f"{base}/hook", {"CallSid": "CA2"})  # default: a 500 is not retried
        await flaky.next()
        assert flaky.hooks.empty()
    finally:
        await flaky.server.stop()
