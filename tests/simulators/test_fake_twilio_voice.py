"""The fake Twilio's voice side over real sockets: the real `twilio` client on its REST resources, and a
tiny voice app on a port of its own that gets the calls signed and answers TwiML."""

from __future__ import annotations

import asyncio
import io
import re
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
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
from dispatch.voice.telephony import LegStatus, TelephonyFailed, TwilioTelephony
from simulators.fake_twilio import FakeTwilio, LocalServer

HOTLINE = "+8659112349"
ELDER = "+8613800138000"
AGENT = "+8613900000001"
DAUGHTER = "+8613700000002"
MS_PER_SECOND = 10.0  # one scripted second of a call takes 10 ms
EMPTY = "<Response/>"

Answer = str | Callable[[dict[str, str]], str]


@dataclass(frozen=True)
class Hook:
    """One request our app got."""

    path: str
    url: str
    params: dict[str, str]
    signature: str


class VoiceApp:
    """Our side: answers each path with its TwiML (empty `<Response/>` by default) and records every hook."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.hooks: list[Hook] = []
        self.arrived = asyncio.Condition()
        self.server = LocalServer(Starlette(routes=[Route("/{path:path}", self.receive, methods=["POST"])]))
        self.base_url = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def receive(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        hook = Hook(request.url.path, str(request.url), params, request.headers.get("X-Twilio-Signature", ""))
        async with self.arrived:
            self.hooks.append(hook)
            self.arrived.notify_all()
        answer = self.answers.get(request.url.path, EMPTY)
        body = answer(params) if callable(answer) else answer
        return Response(body, media_type="text/xml")

    def at(self, path: str) -> list[Hook]:
        return [hook for hook in self.hooks if hook.path == path]

    async def wait(self, path: str, count: int = 1, **match: str) -> list[Hook]:
        """The hooks to `path` (with those params), once there are `count` of them."""

        def found() -> list[Hook]:
            return [h for h in self.at(path) if all(h.params.get(k) == v for k, v in match.items())]

        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(found()) >= count)
        return found()


def valid(fake: FakeTwilio, hook: Hook) -> bool:
    """What our webhook handlers do: twilio's own check of the signature."""
    return bool(RequestValidator(fake.auth_token).validate(hook.url, hook.params, hook.signature))


@pytest.fixture
async def app() -> AsyncIterator[VoiceApp]:
    voice_app = VoiceApp()
    voice_app.base_url = await voice_app.server.start()
    yield voice_app
    await voice_app.server.stop()


@pytest.fixture
async def fake(app: VoiceApp) -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(
        status_delay_ms=5,
        voice_webhook_url=app.url("/voice"),
        voice_status_url=app.url("/voice/status"),
        voice_number=HOTLINE,
        voice_ms_per_second=MS_PER_SECOND,
    ) as running:
        yield running


@pytest.fixture
async def http(fake: FakeTwilio) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=10) as controls:
        yield controls


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return Client(fake.account_sid, fake.auth_token, http_client=BaseUrlHttpClient(fake.base_url, timeout=5))


async def rest(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A twilio client call off the event loop (the client is synchronous)."""
    return await asyncio.to_thread(method, *args, **kwargs)


async def control(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return await http.request(method, path, **kwargs)


async def place(http: httpx.AsyncClient, **body: Any) -> str:
    """A scripted caller rings the hotline through the control API; its CallSid."""
    answer = await control(http, "POST", "/_fake/voice/calls", json=body)
    assert answer.status_code == 201, answer.text
    sid: str = answer.json()["sid"]
    return sid


async def call_state(
    http: httpx.AsyncClient, sid: str, wait_for: str = "", wait: float = 5
) -> dict[str, Any]:
    answer = await control(
        http, "GET", f"/_fake/voice/calls/{sid}", params={"wait_for": wait_for, "wait": wait}
    )
    assert answer.status_code == 200
    state: dict[str, Any] = answer.json()
    return state


async def until(check: Callable[[], bool]) -> None:
    """Wait (5 s at most) until `check()` holds."""
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 - the fake's calls run in this loop; polling its state is cheap
            await asyncio.sleep(0.005)


# -- REST resources through the twilio client


async def test_an_outbound_call_rings_answers_runs_twiml_and_is_ended_by_rest(
    fake: FakeTwilio, client: Client, app: VoiceApp
) -> None:
    app.answers["/agent"] = '<Response><Say language="zh-CN">有来电</Say><Pause length="600"/></Response>'
    fake.set_phones({AGENT: {"answer_after_s": 2}})
    created = await rest(
        client.calls.create,
        to=AGENT,
        from_=HOTLINE,
        url=app.url("/agent?leg=agent&phone_call_id=7"),
        status_callback=app.url("/status?leg=agent&phone_call_id=7"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        timeout=20,
    )
    assert re.fullmatch(r"CA[0-9a-f]{32}", created.sid)
    assert (created.status, created.direction, created.to, created.from_formatted) == (
        "queued",
        "outbound-api",
        AGENT,
        HOTLINE,
    )
    assert created.uri == f"/2010-04-01/Accounts/{fake.account_sid}/Calls/{created.sid}.json"
    assert created.date_created is not None
    assert created.date_created.utcoffset() is not None
    await fake.wait_for_call(created.sid, "in-progress")
    fetch_hook = (await app.wait("/agent"))[0]
    assert valid(fake, fetch_hook)
    assert fetch_hook.params["CallStatus"] == "in-progress"
    assert (fetch_hook.params["Direction"], fetch_hook.params["To"]) == ("outbound-api", AGENT)
    assert fetch_hook.url == app.url("/agent?leg=agent&phone_call_id=7")
    fetched = await rest(client.calls(created.sid).fetch)
    assert (fetched.status, fetched.start_time is not None) == ("in-progress", True)
    await until(lambda: "Say: 有来电" in fake.call(created.sid).executed)
    ended = await rest(client.calls(created.sid).update, status="completed")
    assert ended.status == "completed"
    hooks = await app.wait("/status", 4)
    assert [h.params["CallStatus"] for h in hooks] == ["initiated", "ringing", "in-progress", "completed"]
    assert [h.params["SequenceNumber"] for h in hooks] == ["0", "1", "2", "3"]
    assert all(valid(fake, h) and h.params["CallSid"] == created.sid for h in hooks)
    assert "CallDuration" in hooks[3].params
    assert "CallDuration" not in hooks[2].params
    assert (await rest(client.calls(created.sid).fetch)).duration == hooks[3].params["CallDuration"]


@pytest.mark.parametrize(
    ("script", "statuses"),
    [
        ({"answer": False}, ["initiated", "ringing", "no-answer"]),
        ({"answer_after_s": 30}, ["initiated", "ringing", "no-answer"]),  # later than the call's timeout
        ({"busy": True}, ["initiated", "busy"]),
        ({"fail": True}, ["initiated", "failed"]),
    ],
)
async def test_a_phone_that_does_not_answer(
    fake: FakeTwilio,
    http: httpx.AsyncClient,
    client: Client,
    app: VoiceApp,
    script: dict[str, object],
    statuses: list[str],
) -> None:
    answered = await control(http, "POST", "/_fake/voice/phones", json={AGENT: script})
    assert answered.json()[AGENT]["busy"] is bool(script.get("busy"))
    call = await rest(
        client.calls.create,
        to=AGENT,
        from_=HOTLINE,
        url=app.url("/agent"),
        status_callback=app.url("/status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        timeout=20,
    )
    hooks = await app.wait("/status", len(statuses))
    assert [h.params["CallStatus"] for h in hooks] == statuses
    assert app.at("/agent") == []  # never answered: no TwiML fetched
    assert (await rest(client.calls(call.sid).fetch)).status == statuses[-1]


async def test_only_completed_is_posted_when_no_events_are_asked(
    fake: FakeTwilio, client: Client, app: VoiceApp
) -> None:
    fake.set_phones({AGENT: {"answer_after_s": 0, "hangup_after_s": 3}})
    call = await rest(
        client.calls.create, to=AGENT, from_=HOTLINE, twiml="<Response><Pause length='60'/></Response>",
        status_callback=app.url("/status"),
    )  # fmt: skip
    hooks = await app.wait("/status")
    assert [h.params["CallStatus"] for h in hooks] == ["completed"]
    assert int(hooks[0].params["CallDuration"]) >= 3  # scripted seconds: a loaded machine may add some
    assert fake.call(call.sid).executed[-1] == "ended: completed"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"to": "13800138000"}, 400, 21211),
        ({"to": "+86123"}, 400, 21217),
        ({"from_": "not a number"}, 400, 21212),
        ({"url": None}, 400, 21205),
        ({"twiml": "<Response><Sing/></Response>", "url": None}, 400, 12100),
    ],
)
async def test_refused_calls_raise_twilio_rest_exception(
    fake: FakeTwilio, client: Client, app: VoiceApp, kwargs: dict[str, Any], status: int, code: int
) -> None:
    arguments = {"to": AGENT, "from_": HOTLINE, "url": app.url("/agent"), **kwargs}
    with pytest.raises(TwilioRestException) as caught:
        await rest(client.calls.create, **{k: v for k, v in arguments.items() if v is not None})
    assert (caught.value.status, caught.value.code) == (status, code)
    assert fake.voice.state.calls == {}


async def test_unknown_resources_credentials_and_faults(
    fake: FakeTwilio, http: httpx.AsyncClient, client: Client, app: VoiceApp
) -> None:
    unknown = [
        client.calls("CA" + "0" * 32).fetch,
        client.recordings("RE" + "0" * 32).fetch,
        client.conferences("CF" + "0" * 32).fetch,
        client.conferences("CF" + "0" * 32).participants("CA" + "0" * 32).delete,
    ]
    for method in unknown:
        with pytest.raises(TwilioRestException) as caught:
            await rest(method)
        assert (caught.value.status, caught.value.code) == (404, 20404)
    wrong = Client(fake.account_sid, "not-the-token", http_client=BaseUrlHttpClient(fake.base_url, timeout=5))
    with pytest.raises(TwilioRestException) as caught:
        await rest(wrong.calls.create, to=AGENT, from_=HOTLINE, url=app.url("/agent"))
    assert (caught.value.status, caught.value.code) == (401, 20003)
    told = await control(http, "POST", "/_fake/faults", json={"status": 500, "target": "voice", "count": 1})
    assert (told.json()["target"], told.json()["remaining"]) == ("voice", 1)
    sms = await rest(client.messages.create, to=ELDER, from_=HOTLINE, body="texts are not refused")
    assert sms.status == "queued"
    with pytest.raises(TwilioRestException) as caught:
        await rest(client.calls.create, to=AGENT, from_=HOTLINE, url=app.url("/agent"))
    assert (caught.value.status, caught.value.code) == (500, 20500)
    accepted = await rest(client.calls.create, to=AGENT, from_=HOTLINE, url=app.url("/agent"))
    assert [c.sid for c in fake.voice.state.calls.values()] == [accepted.sid]
    fake.set_phones({"+86120": {"answer": True}})  # a short number is dialable once scripted
    emergency = await rest(client.calls.create, to="+86120", from_=HOTLINE, url=app.url("/agent"))
    assert emergency.to == "+86120"


# -- incoming calls played through our TwiML


GREETING = (
    '<Response><Say language="zh-CN">您好，这里是12349</Say>'
    '<Gather numDigits="1" timeout="3" action="/voice/menu"><Say language="zh-CN">紧急求助请按1</Say></Gather>'
    '<Say language="zh-CN">正在为您转接</Say></Response>'
)


async def test_an_incoming_call_is_posted_signed_and_no_key_goes_on_to_the_next_verb(
    fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp
) -> None:
    app.answers["/voice"] = GREETING
    sid = await place(http, **{"from": ELDER, "digits": ""})
    state = await call_state(http, sid, wait_for="completed")
    hook = app.at("/voice")[0]
    assert valid(fake, hook)
    assert hook.url == app.url("/voice")
    expected = {
        "CallSid": sid,
        "AccountSid": fake.account_sid,
        "From": ELDER,
        "To": HOTLINE,
        "Caller": ELDER,
        "Called": HOTLINE,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "FromCountry": "CN",
    }
    assert {key: hook.params[key] for key in expected} == expected
    assert "Digits" not in hook.params
    assert app.at("/voice/menu") == []  # no input and no actionOnEmptyResult: Twilio goes on
    assert state["said"] == ["您好，这里是12349", "紧急求助请按1", "正在为您转接"]
    assert "pressed: nothing" in state["executed"]
    assert len(state["webhook_ms"]) == 1  # one TwiML fetch, timed
    assert state["webhook_ms"][0] > 0
    assert (state["status"], state["history"]) == ("completed", ["ringing", "in-progress", "completed"])
    final = (await app.wait("/voice/status"))[0]
    assert valid(fake, final)
    assert (final.params["CallStatus"], final.params["CallSid"]) == ("completed", sid)
    assert int(final.params["CallDuration"]) == state["duration"] >= 5


@pytest.mark.parametrize(
    ("body", "posted"),
    [
        ({"digits": "4"}, {"Digits": "4"}),
        ({"digits": ["21#"]}, {"Digits": "2"}),  # numDigits="1"
        ({"say_nothing": True}, {}),
    ],
)
async def test_the_menu_action_gets_the_digits_or_an_empty_result(
    fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp, body: dict[str, object], posted: dict[str, str]
) -> None:
    app.answers["/voice"] = GREETING.replace(
        'action="/voice/menu"', 'action="/voice/menu" actionOnEmptyResult="true"'
    )
    app.answers["/voice/menu"] = lambda params: (
        f"<Response><Say>选了{params.get('Digits', '无')}</Say></Response>"
    )
    sid = await place(http, **{"from": ELDER, **body})
    state = await call_state(http, sid, wait_for="completed")
    menu = app.at("/voice/menu")
    assert len(menu) == 1
    assert valid(fake, menu[0])
    assert menu[0].params.get("Digits") == posted.get("Digits")
    assert state["said"][-1] == f"选了{posted.get('Digits', '无')}"
    assert "正在为您转接" not in state["said"]  # the action's TwiML replaced the rest


async def test_redirect_pause_and_hangup(fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp) -> None:
    app.answers["/voice"] = (
        '<Response><Pause length="2"/><Redirect>/voice/queue?n=1</Redirect><Say>never</Say></Response>'
    )
    app.answers["/voice/queue"] = "<Response><Say>请稍候</Say><Hangup/><Say>never</Say></Response>"
    sid = await place(http, **{"from": ELDER})
    state = await call_state(http, sid, wait_for="completed")
    redirected = app.at("/voice/queue")
    assert [h.url for h in redirected] == [app.url("/voice/queue?n=1")]
    assert valid(fake, redirected[0])
    assert redirected[0].params["CallStatus"] == "in-progress"
    assert state["said"] == ["请稍候"]


async def test_a_webhook_that_refuses_fails_the_call(
    fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp
) -> None:
    refusing = Starlette(routes=[Route("/voice", lambda _r: Response("forbidden", 403), methods=["POST"])])
    server = LocalServer(refusing)
    base = await server.start()
    try:
        sid = await place(http, **{"from": ELDER, "url": f"{base}/voice", "signature": "bad"})
        state = await call_state(http, sid, wait_for="completed,failed")
    finally:
        await server.stop()
    assert state["status"] == "failed"
    assert any("answered 403" in line for line in state["executed"])


async def test_the_hotline_flow_conference_agent_daughter_recording(
    fake: FakeTwilio, http: httpx.AsyncClient, client: Client, app: VoiceApp
) -> None:
    caller_twiml = (
        "<Response><Say>请稍候</Say><Dial><Conference"
        f' record="record-from-start" recordingStatusCallback="{app.url("/voice/recording?phone_call_id=7")}"'
        ' statusCallback="/voice/conference" statusCallbackEvent="start end join leave hold"'
        ' endConferenceOnExit="true">pc-7</Conference></Dial></Response>'
    )
    app.answers["/voice"] = caller_twiml
    app.answers["/voice/agent"] = "<Response><Dial><Conference>pc-7</Conference></Dial></Response>"
    fake.set_phones({AGENT: {"answer_after_s": 1}, DAUGHTER: {"answer_after_s": 1}})
    caller = await place(http, **{"from": ELDER})
    await until(lambda: fake.call(caller).conference_sid is not None)
    live = await rest(client.conferences.list, friendly_name="pc-7", status="in-progress")
    assert [(c.friendly_name, c.status) for c in live] == [("pc-7", "in-progress")]
    conference = live[0]
    assert re.fullmatch(r"CF[0-9a-f]{32}", conference.sid)

    agent = await rest(
        client.calls.create, to=AGENT, from_=HOTLINE, url=app.url("/voice/agent"),
        status_callback=app.url("/voice/status?leg=agent"), status_callback_event=["answered", "completed"],
    )  # fmt: skip
    await until(lambda: fake.call(agent.sid).conference_sid == conference.sid)
    daughter = await rest(
        client.conferences(conference.sid).participants.create, from_=HOTLINE, to=DAUGHTER, label="daughter"
    )
    assert (daughter.status, daughter.label, daughter.conference_sid) == (
        "queued",
        "daughter",
        conference.sid,
    )
    await until(lambda: fake.call(daughter.call_sid).conference_sid == conference.sid)
    seated = await rest(client.conferences(conference.sid).participants.list)
    assert {p.call_sid for p in seated} == {caller, agent.sid, daughter.call_sid}

    held = await rest(client.conferences(conference.sid).participants(caller).update, hold=True)
    muted = await rest(client.conferences(conference.sid).participants(agent.sid).update, muted=True)
    assert (held.hold, muted.muted) == (True, True)
    await rest(client.conferences(conference.sid).participants(caller).update, hold=False)
    await rest(client.conferences(conference.sid).participants(daughter.call_sid).delete)
    await fake.wait_for_call(daughter.call_sid, "completed")
    assert fake.call(caller).conference_sid == conference.sid

    await until(lambda: fake.call(caller).history.count("in-progress") == 1)
    hung = await control(http, "POST", f"/_fake/voice/calls/{caller}/hangup")  # endConferenceOnExit ends it
    assert hung.json()["status"] == "completed"
    await fake.wait_for_call(agent.sid, "completed")
    ended = await rest(client.conferences(conference.sid).fetch)
    assert (ended.status, ended.reason_conference_ended, ended.call_sid_ending_conference) == (
        "completed",
        "participant-with-end-conference-on-exit-left",
        caller,
    )
    hooks = await app.wait("/voice/conference", 10)
    assert [(h.params["StatusCallbackEvent"], h.params.get("CallSid")) for h in hooks] == [
        ("participant-join", caller),
        ("conference-start", None),
        ("participant-join", agent.sid),
        ("participant-join", daughter.call_sid),
        ("participant-hold", caller),
        ("participant-unhold", caller),
        ("participant-leave", daughter.call_sid),
        ("participant-leave", caller),
        ("participant-leave", agent.sid),
        ("conference-end", None),
    ]
    assert hooks[-1].params["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert hooks[0].url == app.url("/voice/conference")  # resolved against the document's URL
    assert all(valid(fake, h) for h in app.at("/voice/conference"))
    agent_final = await app.wait("/voice/status", CallStatus="completed", CallSid=agent.sid)
    assert agent_final[0].url == app.url("/voice/status?leg=agent")

    recorded = (await app.wait("/voice/recording"))[0]
    assert valid(fake, recorded)
    assert recorded.url == app.url("/voice/recording?phone_call_id=7")
    params = recorded.params
    assert (params["RecordingStatus"], params["ConferenceSid"], params["AccountSid"]) == (
        "completed",
        conference.sid,
        fake.account_sid,
    )
    duration = int(params["RecordingDuration"])
    assert 1 <= duration <= (fake.call(caller).duration or 0)  # from the conference start to the hang-up
    assert params["RecordingUrl"] == (
        f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Recordings/{params['RecordingSid']}"
    )
    recording = await rest(client.recordings(params["RecordingSid"]).fetch)
    assert (recording.conference_sid, recording.duration, recording.status) == (
        conference.sid,
        str(duration),
        "completed",
    )
    async with httpx.AsyncClient(auth=(fake.account_sid, fake.auth_token)) as http:
        audio = await http.get(params["RecordingUrl"] + ".wav")
        mp3 = await http.get(params["RecordingUrl"] + ".mp3")
    assert (audio.status_code, audio.headers["content-type"], mp3.status_code) == (200, "audio/x-wav", 404)
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        assert wav.getnframes() == min(duration, 30) * 8000


async def test_a_live_call_is_redirected_out_of_its_conference(
    fake: FakeTwilio, http: httpx.AsyncClient, client: Client, app: VoiceApp
) -> None:
    app.answers["/voice"] = (
        '<Response><Dial><Conference>pc-9</Conference></Dial><Play loop="0">hold.wav</Play></Response>'
    )
    caller = await place(http, **{"from": ELDER})
    seated = await call_state(http, caller, wait_for="in-conference")
    assert (seated["status"], seated["conference"]) == ("in-progress", "pc-9")
    await rest(client.calls(caller).update, twiml="<Response><Say>再见</Say></Response>")
    state = await call_state(http, caller, wait_for="completed")
    assert state["said"] == ["再见"]
    assert "Play: hold.wav" not in state["executed"]  # the redirect left the conference for the new TwiML
    conferences = (await control(http, "GET", "/_fake/voice/conferences", params={"name": "pc-9"})).json()[
        "items"
    ]
    assert [(c["status"], c["reason_ended"]) for c in conferences] == [("completed", "last-participant-left")]
    with pytest.raises(TwilioRestException) as caught:
        await rest(client.calls(caller).update, url=app.url("/voice"))
    assert caught.value.code == 21220


async def test_dial_a_number_posts_the_dial_action(
    fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp
) -> None:
    app.answers["/voice"] = (
        f'<Response><Dial action="/voice/dialed" timeout="10" record="record-from-answer"'
        f' recordingStatusCallback="/voice/recording"><Number>{DAUGHTER}</Number></Dial><Say>never</Say></Response>'
    )
    app.answers["/voice/dialed"] = "<Response><Say>结束</Say></Response>"
    fake.set_phones({DAUGHTER: {"answer_after_s": 2, "hangup_after_s": 5}})
    caller = await place(http, **{"from": ELDER})
    state = await call_state(http, caller, wait_for="completed")
    dialed = app.at("/voice/dialed")[0].params
    assert dialed["DialCallStatus"] == "completed"
    assert int(dialed["DialCallDuration"]) >= 5  # the daughter hangs up 5 scripted seconds after answering
    child = fake.call(dialed["DialCallSid"])
    assert (child.direction, child.parent_call_sid, child.to, child.sender) == (
        "outbound-dial",
        caller,
        DAUGHTER,
        ELDER,
    )
    assert state["said"] == ["结束"]
    recorded = (await app.wait("/voice/recording"))[0].params
    assert recorded["CallSid"] == caller
    assert abs(int(recorded["RecordingDuration"]) - int(dialed["DialCallDuration"])) <= 1


async def test_the_caller_hanging_up_while_a_number_rings(
    fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp
) -> None:
    app.answers["/voice"] = "<Response><Dial><Client>agent1</Client></Dial></Response>"
    fake.set_phones({"client:agent1": {"answer": False}})
    caller = await place(http, **{"from": ELDER})
    await until(lambda: len(fake.voice.state.calls) == 2)
    hung = await control(http, "POST", f"/_fake/voice/calls/{caller}/hangup")
    assert hung.json()["status"] == "completed"
    child = next(c for c in fake.voice.state.calls.values() if c.parent_call_sid == caller)
    assert (child.to, child.status) == ("client:agent1", "canceled")


async def test_controls_check_their_input(fake: FakeTwilio, http: httpx.AsyncClient) -> None:
    bad = [
        await control(http, "POST", "/_fake/voice/calls", json={"to": HOTLINE}),
        await control(http, "POST", "/_fake/voice/calls", json={"from": ELDER, "digits": "x"}),
        await control(http, "POST", "/_fake/voice/calls", json={"from": ELDER, "hangup_after_s": -1}),
        await control(http, "POST", "/_fake/voice/phones", json={AGENT: {"answer": "yes"}}),
        await control(http, "POST", "/_fake/voice/phones", json={AGENT: {"colour": 1}}),
        await control(http, "POST", "/_fake/voice/config", json={"sms_webhook_url": "http://x"}),
        await control(http, "POST", "/_fake/voice/config", json={"voice_ms_per_second": -1}),
        await control(http, "POST", "/_fake/faults", json={"status": 500, "target": "fax"}),
    ]
    assert [r.status_code for r in bad] == [400] * len(bad)
    assert (await control(http, "GET", "/_fake/voice/calls/CA0")).status_code == 404
    shown = await control(http, "POST", "/_fake/voice/config", json={"voice_ms_per_second": 5})
    assert shown.json()["voice_ms_per_second"] == 5
    assert (await control(http, "GET", "/_fake/config")).json()["voice_number"] == HOTLINE
    await place(http, **{"from": ELDER})
    assert (await control(http, "POST", "/_fake/voice/reset")).status_code == 204
    assert (await control(http, "GET", "/_fake/voice/calls")).json() == {"items": []}


async def test_a_removed_participant_goes_on_with_the_twiml_after_dial(
    fake: FakeTwilio, http: httpx.AsyncClient, client: Client, app: VoiceApp
) -> None:
    app.answers["/voice"] = (
        '<Response><Dial><Conference>pc-3</Conference></Dial><Play loop="0">hold.wav</Play></Response>'
    )
    caller = await place(http, **{"from": ELDER})
    seated = await call_state(http, caller, wait_for="in-conference")
    await rest(client.conferences(seated["conference_sid"]).participants(caller).delete)
    await until(lambda: "Play: hold.wav" in fake.call(caller).executed)
    assert fake.call(caller).status == "in-progress"  # hold music loops until someone hangs up
    with pytest.raises(TwilioRestException) as caught:
        await rest(client.conferences(seated["conference_sid"]).participants(caller).fetch)
    assert caught.value.code == 20404
    hung = await control(http, "POST", f"/_fake/voice/calls/{caller}/hangup")
    assert (hung.json()["status"], hung.json()["conference"]) == ("completed", None)


async def test_a_caller_waits_with_the_wait_url_until_the_agent_starts_the_conference(
    fake: FakeTwilio, http: httpx.AsyncClient, client: Client, app: VoiceApp
) -> None:
    app.answers["/voice"] = (
        '<Response><Dial><Conference waitUrl="/voice/wait" startConferenceOnEnter="false"'
        ' endConferenceOnExit="true">pc-5</Conference></Dial></Response>'
    )
    app.answers["/voice/wait"] = (
        '<Response><Say>请稍候，正在为您接通</Say><Play loop="0">music.wav</Play></Response>'
    )
    app.answers["/voice/agent"] = "<Response><Dial><Conference>pc-5</Conference></Dial></Response>"
    caller = await place(http, **{"from": ELDER, "hangup_after_s": 600})
    waiting = (await app.wait("/voice/wait"))[0]
    assert valid(fake, waiting)
    assert waiting.params["CallSid"] == caller
    live = await rest(client.conferences.list, friendly_name="pc-5")
    assert [c.status for c in live] == ["init"]  # nobody who starts it has joined yet
    await until(lambda: "Play: music.wav" in fake.call(caller).executed)
    agent = await rest(client.calls.create, to=AGENT, from_=HOTLINE, url=app.url("/voice/agent"))
    seated = await call_state(http, agent.sid, wait_for="in-conference")
    assert seated["conference"] == "pc-5"
    assert (await rest(client.conferences(live[0].sid).fetch)).status == "in-progress"
    assert fake.call(caller).executed.count("Play: music.wav") == 1  # the music stopped, no second round
    assert (await call_state(http, caller))["said"] == ["请稍候，正在为您接通"]
    await control(http, "POST", f"/_fake/voice/calls/{caller}/hangup")
    assert (await call_state(http, agent.sid, wait_for="completed"))["status"] == "completed"


async def test_the_api_ends_a_conference_made_by_participants(
    fake: FakeTwilio, http: httpx.AsyncClient, client: Client, app: VoiceApp
) -> None:
    fake.set_phones({AGENT: {"answer_after_s": 0}, DAUGHTER: {"answer_after_s": 0}})
    first = await rest(
        client.conferences("pc-11").participants.create, from_=HOTLINE, to=AGENT,
        conference_record="record-from-start",
        conference_recording_status_callback=app.url("/voice/recording?phone_call_id=11"),
    )  # fmt: skip
    await call_state(http, first.call_sid, wait_for="in-conference")
    conference = (await rest(client.conferences.list, friendly_name="pc-11", status="in-progress"))[0]
    second = await rest(client.conferences(conference.sid).participants.create, from_=HOTLINE, to=DAUGHTER)
    await call_state(http, second.call_sid, wait_for="in-conference")
    ended = await rest(client.conferences(conference.sid).update, status="completed")
    assert (ended.status, ended.reason_conference_ended) == ("completed", "conference-ended-via-API")
    for sid in (first.call_sid, second.call_sid):
        assert (await call_state(http, sid, wait_for="completed"))["status"] == "completed"
    recorded = (await app.wait("/voice/recording"))[0]
    assert recorded.params["ConferenceSid"] == conference.sid
    assert recorded.url == app.url("/voice/recording?phone_call_id=11")
    with pytest.raises(TwilioRestException) as caught:
        await rest(client.conferences("CF" + "1" * 32).participants.create, from_=HOTLINE, to=AGENT)
    assert caught.value.code == 20404


async def test_our_telephony_looks_up_a_legs_final_status(
    fake: FakeTwilio, http: httpx.AsyncClient, app: VoiceApp
) -> None:
    await control(http, "POST", "/_fake/voice/phones", json={AGENT: {"busy": True}})
    phones = TwilioTelephony(
        account_sid=fake.account_sid, auth_token=fake.auth_token, caller_id=HOTLINE, base_url=fake.base_url
    )
    sid = await phones.dial(
        to=AGENT, url=app.url("/agent"), status_callback=app.url("/status"), ring_seconds=20
    )
    await app.wait("/status", CallStatus="busy")
    assert await phones.leg_status(call_sid=sid) == LegStatus("busy", 0)
    with pytest.raises(TelephonyFailed) as unknown:
        await phones.leg_status(call_sid="CA" + "9" * 32)
    assert unknown.value.status == 404
