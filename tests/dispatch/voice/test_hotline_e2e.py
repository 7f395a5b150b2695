"""End to end over real sockets: the hotline server (uvicorn, the real twilio client inside it) and the fake
Twilio playing the calls. An elder presses nothing and reaches agent1, whose console pops the call within a
second; a watch's SIM calling after its SOS goes to the agent holding the alarm; a caller nobody answers
leaves a call-back task; a forged signature stores nothing and a repeated webhook changes nothing; a REST
500 while ringing an agent rings the next one; outbound calls log a follow-up's and a care call's attempt.

One server and one fake for the module (SQLite, the fake clock); each test leaves the desk quiet."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import shutil
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.models import Operator, Role
from dispatch.carecalls.models import CareAssignee, CareCadence, CareCall, CareCallState, CareChannel
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.elders.models import Device
from dispatch.followups.models import FollowUp, FollowUpKind, FollowUpState
from dispatch.voice import twiml
from dispatch.voice.models import (
    AgentPresence,
    AgentState,
    PhoneCall,
    PhoneCallState,
    Recording,
    RecordingState,
)
from simulators.fake_twilio import FakeCall, FakeTwilio, LocalServer
from simulators.fake_twilio.state import parse_fault
from simulators.watch import SimulatedWatch, WatchConfig
from tests.conftest import START, sqlite_settings
from tests.dispatch.conftest import eventually
from tests.factories import PASSWORD, elder_payload, make_elder_with_device, make_operator
from tests.test_cli import free_port

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

HOTLINE = "+8659112349"
MS_PER_SECOND = 20.0  # a scripted second of the fake's calls lasts 20 ms
WRAP_UP_SECONDS = 10
OFFER_SECONDS = 5
SCREEN_POP_BUDGET_S = 1.0
_phones = itertools.count(1)


def agent_phone() -> str:
    """A desk phone of its own for each agent of the module."""
    return f"+86591000{next(_phones):05d}"


@dataclass
class Hotline:
    base: str
    fake: FakeTwilio
    services: AppServices
    clock: FakeClock
    http: httpx.AsyncClient
    admin: dict[str, str]
    supervisor: dict[str, str]


@dataclass
class Seat:
    id: int
    name: str
    phone: str
    headers: dict[str, str]


async def log_in(base: str, username: str) -> dict[str, str]:
    """Bearer headers of a fresh session (a client of its own, so no cookie is shared)."""
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hotline(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hotline]:
    data_dir = tmp_path_factory.mktemp("hotline")
    shutil.copy(sqlite_template, data_dir / "dispatch.sqlite3")
    clock = FakeClock(START)
    fake = FakeTwilio(voice_number=HOTLINE, voice_ms_per_second=MS_PER_SECOND, status_delay_ms=5)
    await fake.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = sqlite_settings(data_dir).model_copy(
        update={
            "twilio_account_sid": fake.account_sid,
            "twilio_auth_token": fake.auth_token,
            "twilio_base_url": fake.base_url,
            "voice_number": HOTLINE,
            "public_base_url": base,
            "voice_offer_seconds": OFFER_SECONDS,
            "wrap_up_seconds": WRAP_UP_SECONDS,
            "voice_tick_seconds": 0.2,
        }
    )
    app = create_app(settings, clock=clock)
    server = LocalServer(app, port=port)
    await server.start()
    fake.configure_voice(
        voice_webhook_url=f"{base}/webhooks/twilio/voice",
        voice_status_url=f"{base}/webhooks/twilio/voice/status",
    )
    services: AppServices = app.state.services
    await make_operator(services, "e2e-admin", Role.admin)
    await make_operator(services, "e2e-supervisor", Role.supervisor)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=15) as http:
            yield Hotline(
                base=base,
                fake=fake,
                services=services,
                clock=clock,
                http=http,
                admin=await log_in(base, "e2e-admin"),
                supervisor=await log_in(base, "e2e-supervisor"),
            )
    finally:
        await server.stop()
        await fake.stop()


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def quiet_desk(hotline: Hotline) -> AsyncIterator[None]:
    """After each test: every call over, every recording fetched, every seat offline, no fault."""
    yield
    fake, services = hotline.fake, hotline.services
    fake.fail(None)
    fake.state.fault = parse_fault({}, fake.state.now())
    for call in list(fake.voice.state.calls.values()):
        if not call.final:
            fake.voice.hang_up(call)

    async def settled() -> bool:
        async with services.sessions() as session:
            live = await session.scalar(
                select(func.count()).where(PhoneCall.state != PhoneCallState.ended).select_from(PhoneCall)
            )
            fetching = await session.scalar(
                select(func.count()).where(Recording.state == RecordingState.pending).select_from(Recording)
            )
        return not live and not fetching and all(c.final for c in fake.voice.state.calls.values())

    await eventually(settled)
    async with unit_of_work(services.sessions) as session:
        await session.execute(
            update(AgentPresence).values(
                state=AgentState.offline, ready_since=None, phone_call_id=None, wrap_up_until=None
            )
        )


async def seat(h: Hotline, name: str, *, ready: bool, answer_after_s: float = 2.0) -> Seat:
    """An agent with a desk phone that answers after `answer_after_s` scripted seconds; ready if asked."""
    phone = agent_phone()
    operator = await make_operator(h.services, name, Role.agent)
    async with unit_of_work(h.services.sessions) as session:
        await session.execute(update(Operator).where(Operator.id == operator.id).values(phone=phone))
    h.fake.set_phones({phone: {"answer": True, "answer_after_s": answer_after_s}})
    agent = Seat(id=operator.id, name=name, phone=phone, headers=await log_in(h.base, name))
    if ready:
        await set_state(h, agent, "ready")
    return agent


async def set_state(h: Hotline, agent: Seat, state: str) -> dict[str, Any]:
    response = await h.http.put("/api/v1/agents/me/state", json={"state": state}, headers=agent.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["state"] == state
    return body


async def agent_state(h: Hotline, agent: Seat) -> str:
    listed = (await h.http.get("/api/v1/agents", headers=h.supervisor)).json()["items"]
    return str(next(item["state"] for item in listed if item["operator_id"] == agent.id))


async def phone_call(h: Hotline, phone_call_id: int) -> dict[str, Any]:
    response = await h.http.get(f"/api/v1/phone-calls/{phone_call_id}", headers=h.supervisor)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def the_call_of(h: Hotline, *, elder_id: int) -> int:
    """The id of the elder's latest phone call, once there is one."""

    async def latest() -> int | None:
        async with h.services.sessions() as session:
            return await session.scalar(select(func.max(PhoneCall.id)).where(PhoneCall.elder_id == elder_id))

    found: int = await eventually(latest)
    return found


async def until(
    h: Hotline, phone_call_id: int, check: Callable[[PhoneCall], bool], within: float = 10.0
) -> dict[str, Any]:
    """The phone call (as the API shows it) once `check` holds for its row (polled in the database, so the
    polling adds no audited reads)."""

    async def reached() -> bool:
        async with h.services.sessions() as session:
            row = await session.get(PhoneCall, phone_call_id)
            return row is not None and check(row)

    await eventually(reached, within)
    return await phone_call(h, phone_call_id)


async def recording_stored(h: Hotline, phone_call_id: int) -> dict[str, Any]:
    """The phone call once its recording is stored."""

    async def stored() -> bool:
        async with h.services.sessions() as session:
            state = await session.scalar(
                select(Recording.state).where(Recording.phone_call_id == phone_call_id)
            )
            return state == RecordingState.stored

    await eventually(stored)
    return await phone_call(h, phone_call_id)


def said(call: FakeCall) -> list[str]:
    """What the caller heard (`<Say>` texts), in order."""
    return [line.removeprefix("Say: ") for line in call.executed if line.startswith("Say: ")]


def legs_to(h: Hotline, number: str) -> list[FakeCall]:
    """The calls the fake placed to `number` (agents' phones, targets), oldest first."""
    return [c for c in h.fake.voice.state.calls.values() if c.to == number and c.direction != "inbound"]


async def post_elder(h: Hotline, **overrides: Any) -> dict[str, Any]:
    response = await h.http.post("/api/v1/elders", json=elder_payload(**overrides), headers=h.supervisor)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Console:
    """An agent's console WebSocket; every message kept with the monotonic time it arrived."""

    socket: websockets.ClientConnection
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, h: Hotline, headers: dict[str, str]) -> Console:
        ticket = await h.http.post("/api/v1/auth/ws-ticket", headers=headers)
        assert ticket.status_code == 201, ticket.text
        url = h.base.replace("http", "ws", 1) + f"/ws/console?ticket={ticket.json()['ticket']}"
        console = cls(await websockets.connect(url))
        console.reader = asyncio.create_task(console._read())
        await console.next(lambda m: m["type"] == "resync")
        return console

    async def _read(self) -> None:
        async for raw in self.socket:
            self.messages.append((time.monotonic(), json.loads(raw)))

    async def next(
        self, match: Callable[[dict[str, Any]], bool], within: float = 10.0
    ) -> tuple[float, dict[str, Any]]:
        """The first message that matches (and when it arrived)."""

        async def found() -> tuple[float, dict[str, Any]] | None:
            return next(((at, m) for at, m in self.messages if match(m)), None)

        result: tuple[float, dict[str, Any]] = await eventually(found, within)
        return result

    async def close(self) -> None:
        await self.socket.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


def phone_message(change: str, phone_call_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "phone" and m["change"] == change and m["phone_call"]["id"] == phone_call_id


async def test_an_elder_pressing_nothing_reaches_agent1_whose_console_pops_the_call_then_it_is_recorded(
    hotline: Hotline,
) -> None:
    h = hotline
    elder_phone, daughter = "+8613905910001", "+8613800000102"
    elder = await post_elder(
        h,
        name="林玉兰",
        phone=elder_phone,
        contacts=[{"name": "林小红", "kind": "relative", "relation": "女儿", "phone": daughter}],
    )
    daughter_id = elder["contacts"][0]["id"]
    agent1 = await seat(h, "agent1", ready=False)
    h.fake.set_phones({daughter: {"answer": True, "answer_after_s": 1}})
    console = await Console.open(h, agent1.headers)
    try:
        caller = h.fake.place_call(from_=elder_phone)  # presses nothing at the menu

        # Greeting, menu, no key: the emergency queue, the caller waiting in the call's conference.
        pc_id = await the_call_of(h, elder_id=elder["id"])
        queued = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.queued)
        assert (queued["direction"], queued["from"], queued["to"]) == ("inbound", elder_phone, HOTLINE)
        assert (queued["category"], queued["caller_kind"], queued["agent_id"]) == ("emergency", "elder", None)
        played = h.fake.call(caller.sid)
        assert said(played)[:2] == [twiml.text("greeting"), twiml.text("menu")]
        assert "pressed: nothing" in played.executed

        # agent1 gets ready: rung at once, and their console pops the call (measured from the ready request,
        # which comes before the offer, so this bounds offer-to-screen-pop from above).
        asked_at = time.monotonic()
        await set_state(h, agent1, "ready")
        popped_at, offered = await console.next(phone_message("offered", pc_id))
        assert offered["for_operator_id"] == agent1.id
        assert offered["phone_call"]["offered_agent_id"] == agent1.id
        assert popped_at - asked_at < SCREEN_POP_BUDGET_S, f"screen-pop after {popped_at - asked_at:.3f} s"
        card = await h.http.get(f"/api/v1/phone-calls/{pc_id}/caller", headers=agent1.headers)
        assert card.status_code == 200, card.text
        assert (card.json()["caller_kind"], card.json()["elder"]["name"]) == ("elder", "林玉兰")
        assert card.json()["elder"]["allergies"] == ["青霉素"]

        # agent1's phone answers: talking, on a call.
        await console.next(phone_message("answered", pc_id))
        talking = await phone_call(h, pc_id)
        assert (talking["state"], talking["agent_id"], talking["agent"]) == ("talking", agent1.id, "agent1")
        [agent_leg] = legs_to(h, agent1.phone)

        async def joined() -> str | None:  # the fake runs the leg's TwiML just after our answer to it
            return agent_leg.conference_name

        assert await eventually(joined) == f"pc-{pc_id}"
        assert await agent_state(h, agent1) == "on_call"

        # The daughter is added to the conference: three on the line.
        added = await h.http.post(
            f"/api/v1/phone-calls/{pc_id}/add-party", json={"contact_id": daughter_id}, headers=agent1.headers
        )
        assert added.status_code == 200, added.text

        async def three_on_the_line() -> bool:
            conference = h.fake.voice.state.conference_named(f"pc-{pc_id}")
            return conference is not None and len(conference.participants) == 3

        await eventually(three_on_the_line)
        assert {c.to for c in legs_to(h, daughter)} == {daughter}

        # 95 s later agent1 hangs up: the call ends for everyone, agent1 in wrap-up, then ready.
        h.clock.advance(95)
        hung_up = await h.http.post(f"/api/v1/phone-calls/{pc_id}/hangup", headers=agent1.headers)
        assert hung_up.status_code == 200, hung_up.text
        ended = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.ended)
        assert (ended["outcome"], ended["talk_seconds"], ended["agent_id"]) == ("answered", 95, agent1.id)
        assert (await h.fake.wait_for_call(caller.sid, "completed")).status == "completed"
        assert all(leg.final for leg in legs_to(h, daughter))
        await eventually(lambda: _is(agent_state(h, agent1), "wrap_up"))
        h.clock.advance(WRAP_UP_SECONDS)
        await eventually(lambda: _is(agent_state(h, agent1), "ready"))

        # The conference's recording is fetched and stored; a supervisor plays it, and that is audited.
        recorded = await recording_stored(h, pc_id)
        sid = _conference_recording(h, pc_id)
        assert sid is not None
        fake_recording = h.fake.voice.state.recordings[sid]
        assert recorded["recording"]["duration_s"] == fake_recording.duration
        audio = await h.http.get(f"/api/v1/phone-calls/{pc_id}/recording", headers=h.supervisor)
        assert audio.status_code == 200, audio.text
        assert audio.headers["content-type"].startswith("audio/")
        with wave.open(io.BytesIO(audio.content)) as wav:
            assert (wav.getnchannels(), wav.getnframes() > 0) == (1, True)
        entries = await h.http.get(
            "/api/v1/audit",
            params={"action": "recording.play", "entity_id": str(recorded["recording"]["id"])},
            headers=h.admin,
        )
        assert [(e["username"], e["detail"]) for e in entries.json()["items"]] == [
            ("e2e-supervisor", {"phone_call_id": pc_id})
        ]
    finally:
        await console.close()


async def _is(value: Any, expected: object) -> bool:
    return bool(await value == expected)


def _conference_recording(h: Hotline, phone_call_id: int) -> str | None:
    """The SID of the recording of the call's (ended) conference."""
    for conference in h.fake.voice.state.conferences.values():
        if conference.friendly_name == f"pc-{phone_call_id}":
            return conference.recording_sid
    return None


async def test_a_watch_calling_after_its_sos_joins_the_alarm_and_rings_the_agent_holding_it(
    hotline: Hotline,
) -> None:
    h = hotline
    imei, sim = "860000000000914", "+8614700000914"
    elder_id, device_id, _ = await make_elder_with_device(h.services, imei, name="陈建国")
    async with unit_of_work(h.services.sessions) as session:
        await session.execute(update(Device).where(Device.id == device_id).values(phone=sim))
    idle_longest = await seat(h, "e2e-idle", ready=True)
    holder = await seat(h, "e2e-holder", ready=False)

    watch = SimulatedWatch(WatchConfig(imei, 119.2985, 26.083), port=h.services.watch_port)
    await watch.connect()
    assert await watch.alarm("sos") is not None
    await watch.close()

    async def open_alarm() -> dict[str, Any] | None:
        listed = await h.http.get("/api/v1/calls", params={"open": True}, headers=holder.headers)
        return next((c for c in listed.json()["items"] if c["elder_id"] == elder_id), None)

    alarm = await eventually(open_alarm)
    acknowledged = await h.http.post(f"/api/v1/calls/{alarm['id']}/acknowledge", headers=holder.headers)
    assert acknowledged.status_code == 200, acknowledged.text
    await set_state(h, holder, "ready")  # after e2e-idle, who would otherwise be next

    watch_call = h.fake.place_call(from_=sim)
    pc_id = await the_call_of(h, elder_id=elder_id)
    talking = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.talking)
    assert (talking["caller_kind"], talking["category"], talking["call_id"]) == (
        "device",
        "emergency",
        alarm["id"],
    )
    assert (talking["device_id"], talking["agent_id"]) == (device_id, holder.id)
    assert not any(line.startswith("pressed") for line in h.fake.call(watch_call.sid).executed)  # no menu
    assert [leg.status for leg in legs_to(h, holder.phone)] == ["in-progress"]
    assert legs_to(h, idle_longest.phone) == []
    detail = (await h.http.get(f"/api/v1/calls/{alarm['id']}", headers=holder.headers)).json()
    [on_the_line] = [e for e in detail["timeline"] if e["kind"] == "phone_in"]
    assert "elder on the line" in on_the_line["text"]
    assert on_the_line["detail"]["phone_call_id"] == pc_id

    hung_up = await h.http.post(f"/api/v1/phone-calls/{pc_id}/hangup", headers=holder.headers)
    assert hung_up.status_code == 200, hung_up.text
    ended = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.ended)
    assert ended["outcome"] == "answered"


async def voice_stats(h: Hotline) -> dict[str, Any]:
    response = await h.http.get("/api/v1/voice/stats", headers=h.supervisor)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_nobody_ready_the_caller_waits_then_hangs_up_and_a_callback_task_is_open(
    hotline: Hotline,
) -> None:
    h = hotline
    number = "+8613905910040"
    elder = await post_elder(h, name="王秀英", phone=number)
    before = await voice_stats(h)

    # 40 scripted seconds must cover the greeting, the menu and joining the queue even on a loaded machine
    h.fake.configure_voice(voice_ms_per_second=75.0)
    try:
        caller = h.fake.place_call(from_=number, hangup_after_s=40)  # presses nothing, gives up after 40 s
        pc_id = await the_call_of(h, elder_id=elder["id"])
        ended = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.ended)
    finally:
        h.fake.configure_voice(voice_ms_per_second=MS_PER_SECOND)
    assert (ended["outcome"], ended["category"], ended["agent_id"], ended["answered_at"]) == (
        "abandoned",
        "emergency",
        None,
        None,
    )
    assert ended["queued_at"] is not None
    played = h.fake.call(caller.sid)
    assert f"joined conference: pc-{pc_id}" in played.executed  # waited in the call's conference
    assert twiml.text("queued") in said(played)
    assert played.status == "completed"
    assert played.duration is not None
    assert 0 < played.duration <= 40  # hung up 40 s after dialling

    callbacks = (await h.http.get("/api/v1/callbacks", headers=h.supervisor)).json()["items"]
    [task] = [c for c in callbacks if c["phone_call_id"] == pc_id]
    assert (task["state"], task["elder_id"], task["category"]) == ("open", elder["id"], "emergency")
    assert task["number"] != number
    assert task["number"].endswith(number[-4:])

    after = await voice_stats(h)
    assert (after["offered"] - before["offered"], after["abandoned"] - before["abandoned"]) == (1, 1)
    assert after["answered"] == before["answered"]


def sign(h: Hotline, path: str, form: dict[str, str]) -> dict[str, str]:
    url = h.base + path
    return {"X-Twilio-Signature": RequestValidator(h.fake.auth_token).compute_signature(url, form)}


async def phone_calls_from(h: Hotline, number: str) -> int:
    async with h.services.sessions() as session:
        found = await session.scalar(
            select(func.count()).where(PhoneCall.from_number == number).select_from(PhoneCall)
        )
        return int(found or 0)


async def test_a_forged_signature_is_refused_and_stores_nothing_and_a_repeated_webhook_changes_nothing(
    hotline: Hotline,
) -> None:
    h = hotline
    forger = "+8613600000666"
    forged = h.fake.place_call(from_=forger, bad_signature=True)
    failed = await h.fake.wait_for_call(forged.sid, "failed", wait_s=10)
    assert failed.status == "failed"
    assert any(line.endswith("answered 403") for line in failed.executed)
    assert await phone_calls_from(h, forger) == 0

    # The same incoming-call webhook twice: one phone call, the same TwiML; its end twice: one call-back.
    number, sid = "+8613600000777", "CA" + "7" * 32
    form = {
        "CallSid": sid,
        "From": number,
        "To": HOTLINE,
        "CallStatus": "ringing",
        "AccountSid": h.fake.account_sid,
    }
    answers = [
        await h.http.post(
            "/webhooks/twilio/voice", data=form, headers=sign(h, "/webhooks/twilio/voice", form)
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].text == answers[1].text
    assert "<Gather" in answers[0].text
    assert await phone_calls_from(h, number) == 1
    gone = form | {"CallStatus": "completed", "CallDuration": "3"}
    path = "/webhooks/twilio/voice/status"
    for _ in range(2):
        status = await h.http.post(path, data=gone, headers=sign(h, path, gone))
        assert status.status_code == 204, status.text
    async with h.services.sessions() as session:
        row = await session.scalar(select(PhoneCall).where(PhoneCall.twilio_sid == sid))
        assert row is not None
        assert (row.state, row.outcome and row.outcome.value) == (PhoneCallState.ended, "abandoned")
    callbacks = (await h.http.get("/api/v1/callbacks", headers=h.supervisor)).json()["items"]
    assert len([c for c in callbacks if c["phone_call_id"] == row.id]) == 1


async def test_a_rest_500_while_ringing_an_agent_rings_the_next_ready_agent(hotline: Hotline) -> None:
    h = hotline
    first = await seat(h, "e2e-first", ready=True)
    second = await seat(h, "e2e-second", ready=True, answer_after_s=0)  # answers before its ring is stored
    number = "+8613905910500"
    elder = await post_elder(h, name="张桂芳", phone=number)
    h.fake.state.fault = parse_fault({"status": 500, "target": "voice", "count": 1}, h.fake.state.now())

    caller = h.fake.place_call(from_=number, digits="3")  # an enquiry
    pc_id = await the_call_of(h, elder_id=elder["id"])
    talking = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.talking)
    assert (talking["category"], talking["agent_id"]) == ("enquiry", second.id)
    assert h.fake.state.fault_json()["refused_total"] == 1
    assert legs_to(h, first.phone) == []  # its ring was refused: nothing rang
    assert [leg.status for leg in legs_to(h, second.phone)] == ["in-progress"]
    assert await agent_state(h, first) == "ready"

    h.fake.voice.hang_up(h.fake.call(caller.sid))
    ended = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.ended)
    assert (ended["outcome"], ended["agent_id"]) == ("answered", second.id)


async def add_follow_up(h: Hotline, elder_id: int) -> int:
    now = h.clock.now()
    async with unit_of_work(h.services.sessions) as session:
        follow_up = FollowUp(
            kind=FollowUpKind.call,
            elder_id=elder_id,
            elder_name="回访老人",
            subject="保洁回访",
            state=FollowUpState.pending,
            due_at=now + timedelta(hours=24),
            next_attempt_at=now,
            attempts=0,
            attempt_log=[],
            comment="",
            created_at=now,
            updated_at=now,
        )
        session.add(follow_up)
        await session.flush()
        return follow_up.id


async def add_care_call(h: Hotline, elder_id: int, agent: Seat) -> int:
    now = h.clock.now()
    async with unit_of_work(h.services.sessions) as session:
        care_call = CareCall(
            elder_id=elder_id,
            elder_name="关爱老人",
            cadence=CareCadence.weekly,
            period="2026-W10",
            due_on=date(2026, 3, 2),
            channel=CareChannel.phone,
            assignee=CareAssignee.agent,
            operator_id=agent.id,
            operator_name=agent.name,
            state=CareCallState.scheduled,
            attempts=0,
            attempt_log=[],
            notes="",
            escalation_reason="",
            created_at=now,
            updated_at=now,
        )
        session.add(care_call)
        await session.flush()
        return care_call.id


async def dial(h: Hotline, agent: Seat, **body: Any) -> int:
    response = await h.http.post("/api/v1/phone-calls/dial", json=body, headers=agent.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["direction"], response.json()["agent_id"]) == ("outbound", agent.id)
    phone_call_id: int = response.json()["id"]
    return phone_call_id


async def test_a_follow_ups_click_to_call_nobody_answers_is_a_not_reached_attempt(hotline: Hotline) -> None:
    h = hotline
    target = "+8613905910601"
    elder = await post_elder(h, name="刘淑珍", phone=target)
    follow_up_id = await add_follow_up(h, elder["id"])
    agent = await seat(h, "e2e-dialler", ready=False, answer_after_s=1)
    h.fake.set_phones({target: {"answer": False}})

    pc_id = await dial(h, agent, to=target, follow_up_id=follow_up_id)
    ended = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.ended)
    assert (ended["outcome"], ended["talk_seconds"], ended["category"]) == ("no_answer", None, "follow_up")
    assert [leg.status for leg in legs_to(h, agent.phone)] == ["completed"]  # rung first, then hung up
    assert [leg.status for leg in legs_to(h, target)] == ["no-answer"]
    follow_up = (await h.http.get(f"/api/v1/follow-ups/{follow_up_id}", headers=agent.headers)).json()
    assert follow_up["attempts"] == 1
    assert follow_up["attempt_log"][0]["reached"] is False
    assert "未接通" in follow_up["attempt_log"][0]["comment"]
    await eventually(lambda: _is(agent_state(h, agent), "wrap_up"))


async def test_a_care_calls_answered_call_records_its_duration(hotline: Hotline) -> None:
    h = hotline
    target = "+8613905910701"
    elder = await post_elder(h, name="黄美英", phone=target)
    agent = await seat(h, "e2e-carer", ready=False, answer_after_s=1)
    care_call_id = await add_care_call(h, elder["id"], agent)
    h.fake.set_phones({target: {"answer": True, "answer_after_s": 3, "hangup_after_s": 30}})

    pc_id = await dial(h, agent, to=target, care_call_id=care_call_id)
    ended = await until(h, pc_id, lambda pc: pc.state == PhoneCallState.ended)
    [target_leg] = legs_to(h, target)
    assert target_leg.duration is not None
    assert target_leg.duration >= 30
    assert (ended["outcome"], ended["talk_seconds"]) == ("answered", target_leg.duration)
    care_call = (await h.http.get(f"/api/v1/care-calls/{care_call_id}", headers=agent.headers)).json()
    assert (care_call["state"], care_call["attempts"]) == ("done", 1)
    assert care_call["attempt_log"][0]["reached"] is True
    assert f"{target_leg.duration} 秒" in care_call["attempt_log"][0]["notes"]
    recorded = await recording_stored(h, pc_id)  # outbound calls are recorded too
    assert recorded["recording"]["duration_s"] is not None
