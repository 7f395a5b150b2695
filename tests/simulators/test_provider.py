"""Simulated providers against a real fake Twilio: offers go out through the real `twilio` client, the
providers' replies come back as signed inbound webhooks to a small receiver standing in for our server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from dispatch.notify.templates import render
from dispatch.notify.twilio_http import BaseUrlHttpClient
from dispatch.offers.replies import parse_reply
from simulators.fake_twilio import FakeTwilio, LocalServer
from simulators.provider import Behaviour, OfferSms, SimulatedProviders, parse_args, read_offer, withdraws

OUR_NUMBER = "+8659112349"
NEAR, FAR, STRANGER = "+8613900000001", "+8613900000002", "+8613800000009"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
QUIET_S = 0.3  # how long "never answers" is watched


@dataclass(frozen=True)
class Hook:
    """One inbound SMS as our webhook received it."""

    sender: str
    to: str
    body: str
    signed: bool


class Receiver:
    """Our SMS webhook: records the signed form posts the fake Twilio delivers, answers empty TwiML."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.hooks: list[Hook] = []
        self.server = LocalServer(Starlette(routes=[Route("/sms", self.receive, methods=["POST"])]))

    async def receive(self, request: Request) -> Response:
        """Record one post."""
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        signed = self.validator.validate(
            str(request.url), params, request.headers.get("X-Twilio-Signature", "")
        )
        self.hooks.append(Hook(params["From"], params["To"], params["Body"], bool(signed)))
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def bodies(self, count: int) -> list[str]:
        """The first `count` bodies received, once they are all in."""
        async with asyncio.timeout(5):
            while len(self.hooks) < count:  # noqa: ASYNC110 - waiting for another server's requests
                await asyncio.sleep(0.005)
        return [hook.body for hook in self.hooks]


StartProviders = Callable[..., Awaitable[SimulatedProviders]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(status_delay_ms=1) as running:
        yield running


@pytest.fixture
async def receiver(fake: FakeTwilio) -> AsyncIterator[Receiver]:
    hooks = Receiver(fake.auth_token)
    fake.configure(sms_webhook_url=await hooks.server.start() + "/sms")
    yield hooks
    await hooks.server.stop()


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return Client(fake.account_sid, fake.auth_token, http_client=BaseUrlHttpClient(fake.base_url, timeout=5))


@pytest.fixture
async def start_providers(fake: FakeTwilio) -> AsyncIterator[StartProviders]:
    """Start simulated providers polling the fake; they are stopped after the test."""
    tasks: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(base_url=fake.base_url) as http:

        async def start(
            behaviours: Mapping[str, Behaviour], default: Behaviour | None = None
        ) -> SimulatedProviders:
            providers = SimulatedProviders(http, OUR_NUMBER, behaviours, default, poll_wait_s=2)
            tasks.append(asyncio.create_task(providers.run()))
            async with asyncio.timeout(5):
                await providers.ready.wait()
            return providers

        yield start
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def text(client: Client, to: str, body: str) -> None:
    """Our server texting a provider: the real twilio client (synchronous) off the loop."""
    await asyncio.to_thread(client.messages.create, to=to, from_=OUR_NUMBER, body=body)


def offer(
    code: str, language: str = "zh", link: str = "http://127.0.0.1:8000/p/2n.t4x1k3.Qx-Y1234_N1234abcd"
) -> str:
    """The server's own offer text (its job page link made to look like replies to another code)."""
    return render(
        "offer",
        language,
        service="紧急救助" if language == "zh" else "emergency rescue",
        address="福州市鼓楼区测试路1号",
        distance="1.2",
        window="立即" if language == "zh" else "now",
        code=code,
        minutes=2,
        link=link,
    )


def confirm(code: str, language: str = "zh") -> str:
    """The server's confirmation to the provider that got the job."""
    return render(
        "confirm",
        language,
        code=code,
        service="紧急救助",
        elder_name="林玉兰",
        elder_phone="+8613905911234",
        address="福州市鼓楼区测试路1号",
        lon="119.298500",
        lat="26.083000",
        map_link="https://uri.amap.com/marker?position=119.298500,26.083000",
    )


async def settled(providers: SimulatedProviders, offers: int) -> None:
    """Until the providers have read `offers` offers and have no reply left to send."""
    async with asyncio.timeout(5):
        while providers.offers_seen < offers or providers.busy:  # noqa: ASYNC110 - polling its state
            await asyncio.sleep(0.005)


# ---------------------------------------------------------------- reading messages


@pytest.mark.parametrize("language", ["zh", "en"])
def test_offers_are_read_in_either_language_and_other_texts_are_not(language: str) -> None:
    assert read_offer(offer("4821", language)) == OfferSms("4821", language)  # type: ignore[arg-type]
    assert read_offer("【12349派单】…回复“接 ４８２１”接单，“拒 ４８２１”拒绝") == OfferSms("4821", "zh")
    for other in (
        confirm("4821", language),
        render("help", language),
        render("withdraw", language, code="4821"),
    ):
        assert read_offer(other) is None
    assert withdraws(render("withdraw", language, code="4821"), "4821")
    assert not withdraws(render("withdraw", language, code="4821"), "1234")
    assert not withdraws(confirm("4821", language), "4821")
    assert not withdraws(render("help", language), "4821")  # the help text's example code is 4821


def test_behaviour_specs_and_the_command_line() -> None:
    assert Behaviour.parse("accept:3:60:600") == Behaviour("accept", 3.0, 60.0, 600.0)
    assert Behaviour.parse("silent") == Behaviour("silent")
    assert str(Behaviour("accept", 3, 0.5)) == "accept:3:0.5:0"
    for bad in ("maybe:1", "accept:soon", "decline:-1", "accept:1:2:3:4"):
        with pytest.raises(ValueError, match=r"kind|seconds|>= 0|too many"):
            Behaviour.parse(bad)
    args = parse_args(
        [
            *("--our-number", OUR_NUMBER),
            *("--provider", f"{NEAR}=accept:3", "--provider", f"{FAR}=silent"),
            *("--default", "garbage:5"),
        ]
    )
    assert dict(args.provider) == {NEAR: Behaviour("accept", 3.0), FAR: Behaviour("silent")}
    assert (args.default, args.twilio) == (Behaviour("garbage", 5.0), "http://127.0.0.1:8790")


# ---------------------------------------------------------------- against the fake Twilio


@pytest.mark.parametrize(
    ("language", "replies"),
    [("zh", ["接 4821", "到 4821", "完成 4821"]), ("en", ["Y 4821", "A 4821", "D 4821"])],
)
async def test_accept_takes_the_job_arrives_and_finishes_in_order(
    client: Client, receiver: Receiver, start_providers: StartProviders, language: str, replies: list[str]
) -> None:
    providers = await start_providers({NEAR: Behaviour("accept", 0.0, 0.02, 0.02)})
    await text(client, NEAR, offer("4821", language))
    assert await receiver.bodies(3) == replies
    await settled(providers, 1)
    assert all((hook.sender, hook.to, hook.signed) == (NEAR, OUR_NUMBER, True) for hook in receiver.hooks)
    assert [(a.phone, a.body, a.status) for a in providers.answers] == [(NEAR, r, 200) for r in replies]
    times = [a.at for a in providers.answers]
    assert times == sorted(times)
    assert times[2] - times[0] >= 0.04  # arrival and done waited their turn


async def test_decline_answers_with_the_code(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("decline", 0.05)})
    await text(client, NEAR, offer("1234"))
    assert await receiver.bodies(1) == ["拒 1234"]
    await settled(providers, 1)
    assert [a.body for a in providers.answers] == ["拒 1234"]


async def test_silent_never_answers(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("silent")})
    await text(client, NEAR, offer("1234"))
    await settled(providers, 1)
    await asyncio.sleep(QUIET_S)
    assert (receiver.hooks, providers.answers) == ([], [])


async def test_garbage_answers_something_nobody_can_read(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("garbage")})
    await text(client, NEAR, offer("1234"))
    [body] = await receiver.bodies(1)
    await settled(providers, 1)
    assert (body, parse_reply(body)) == ("收到，马上安排", None)
    assert len(providers.answers) == 1


async def test_a_withdrawal_before_the_accept_stops_every_reply(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("accept", 30.0)})  # stopped long before 30 s
    await text(client, NEAR, offer("1234"))
    await text(client, NEAR, render("withdraw", "zh", code="1234"))
    await settled(providers, 1)  # the scheduled reply ended at the withdrawal, without sending
    assert (receiver.hooks, providers.answers) == ([], [])


async def test_a_withdrawal_after_the_accept_stops_arrival_and_done(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("accept", 0.0, 30.0, 0.0)})
    await text(client, NEAR, offer("1234", "en"))
    assert await receiver.bodies(1) == ["Y 1234"]
    await text(client, NEAR, render("withdraw", "en", code="1234"))
    await settled(providers, 1)
    assert [a.body for a in providers.answers] == ["Y 1234"]


async def test_messages_that_are_not_offers_are_ignored(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("accept"), FAR: Behaviour("decline")})
    for body in (
        confirm("1234"),
        confirm("1234", "en"),
        render("help", "zh"),
        render("help", "en"),  # shows "Y 4821" as an example
        render("withdraw", "zh", code="5678"),  # a job it was never offered
        "【12349紧急提醒】您的家人林玉兰于09:00发出SOS求救报警。",
    ):
        await text(client, NEAR, body)
    await text(client, STRANGER, offer("2222"))  # not a simulated provider, and no default
    await text(client, FAR, offer("3333"))  # the last message: once it is answered, all were read
    assert await receiver.bodies(1) == ["拒 3333"]
    await settled(providers, 1)
    assert [(a.phone, a.body) for a in providers.answers] == [(FAR, "拒 3333")]


async def test_the_default_behaviour_answers_phones_not_listed(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    providers = await start_providers({NEAR: Behaviour("silent")}, default=Behaviour("decline"))
    await text(client, NEAR, offer("1111"))
    await text(client, STRANGER, offer("2222"))
    assert await receiver.bodies(1) == ["拒 2222"]
    await settled(providers, 2)
    assert [(a.phone, a.body) for a in providers.answers] == [(STRANGER, "拒 2222")]


async def test_only_messages_after_the_start_are_answered(
    client: Client, receiver: Receiver, start_providers: StartProviders
) -> None:
    await text(client, NEAR, offer("1111"))  # before the simulator started: history, not news
    providers = await start_providers({NEAR: Behaviour("decline")})
    await text(client, NEAR, offer("2222"))
    assert await receiver.bodies(1) == ["拒 2222"]
    await settled(providers, 1)
    assert providers.offers_seen == 1
