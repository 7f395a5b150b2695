"""What the fake Twilio holds for voice: calls, conferences with their participants, recordings, and the
scripts of the phones it rings. Time on a call is counted in scripted seconds (`ms_per_second` real ms each)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dispatch.tasks import set_within
from simulators.fake_twilio.state import MAX_WAIT_S, FakeState
from simulators.fake_twilio.voice_wire import FINAL_STATUSES, wav_bytes
from simulators.fake_twilio.wire import API_VERSION, new_sid, rfc2822

DEFAULT_ANSWER_AFTER_S = 1.0


def _seconds(data: Mapping[str, object], name: str, default: float | None) -> float | None:
    """A non-negative number of seconds from a control request, or the default."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: expected a number of seconds >= 0")
    return float(value)


def _flag(data: Mapping[str, object], name: str) -> bool:
    """A boolean from a control request (absent: false)."""
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false")
    return value


def parse_digits(value: object) -> list[str]:
    """`"1"`, `""` or `["1", ""]`: the keys pressed at each Gather in turn (`""`: nothing pressed)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("digits: expected a string or a list of strings")
    if any(ch not in "0123456789*#" for item in items for ch in item):
        raise ValueError("digits: only 0-9, * and #")
    return list(items)


@dataclass(slots=True, kw_only=True)
class PhoneScript:
    """How a rung phone behaves: answers (after some seconds) or not, is busy or fails, hangs up later."""

    answer: bool = True
    answer_after_s: float = DEFAULT_ANSWER_AFTER_S
    hangup_after_s: float | None = None  # after answering; None: stays until the other side ends
    busy: bool = False
    fail: bool = False
    digits: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, data: object) -> PhoneScript:
        """`{answer?, answer_after_s?, hangup_after_s?, busy?, fail?, digits?}`; ValueError when wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("a phone's script is a JSON object")
        unknown = set(data) - {"answer", "answer_after_s", "hangup_after_s", "busy", "fail", "digits"}
        if unknown:
            raise ValueError(f"unknown script settings: {sorted(unknown)}")
        answer = data.get("answer", True)
        if not isinstance(answer, bool):
            raise ValueError("answer: expected true or false")
        return cls(
            answer=answer,
            answer_after_s=_seconds(data, "answer_after_s", DEFAULT_ANSWER_AFTER_S) or 0.0,
            hangup_after_s=_seconds(data, "hangup_after_s", None),
            busy=_flag(data, "busy"),
            fail=_flag(data, "fail"),
            digits=parse_digits(data.get("digits")),
        )

    def as_json(self) -> dict[str, object]:
        """The script as `GET /_fake/voice/phones` shows it."""
        return {
            "answer": self.answer,
            "answer_after_s": self.answer_after_s,
            "hangup_after_s": self.hangup_after_s,
            "busy": self.busy,
            "fail": self.fail,
            "digits": self.digits,
        }


@dataclass(slots=True, kw_only=True)
class FakeCall:
    """One call leg as Twilio keeps it, plus what the fake saw it do (`executed`)."""

    sid: str
    account_sid: str
    sender: str
    to: str
    direction: str  # inbound, outbound-api or outbound-dial
    status: str
    created_at: datetime
    updated_at: datetime
    parent_call_sid: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    answered_at: float | None = None  # loop time, for the duration in scripted seconds
    duration: int | None = None
    url: str | None = None  # where its TwiML comes from (the current document's URL)
    status_callback: str | None = None
    events: frozenset[str] = frozenset()
    timeout_s: float = 60.0
    digits: list[str] = field(default_factory=list)
    hangup_after_s: float | None = None
    executed: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)  # how long each TwiML fetch took (load tests)
    conference_sid: str | None = None  # the conference it is in now
    conference_name: str | None = None
    sequence: int = 0
    task: asyncio.Task[None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.history.append(self.status)

    @property
    def uri(self) -> str:
        """The call's path on the REST API."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    @property
    def final(self) -> bool:
        """Whether the call is over."""
        return self.status in FINAL_STATUSES

    def resource(self) -> dict[str, object]:
        """The Call resource JSON of the 2010-04-01 API."""
        base = self.uri.removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.updated_at),
            "direction": self.direction,
            "duration": None if self.duration is None else str(self.duration),
            "end_time": rfc2822(self.end_time),
            "forwarded_from": None,
            "from": self.sender,
            "from_formatted": self.sender,
            "group_sid": None,
            "parent_call_sid": self.parent_call_sid,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time),
            "status": self.status,
            "subresource_uris": {
                name: f"{base}/{path}.json"
                for name, path in [
                    ("notifications", "Notifications"),
                    ("recordings", "Recordings"),
                    ("payments", "Payments"),
                    ("events", "Events"),
                    ("siprec", "Siprec"),
                    ("streams", "Streams"),
                    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                    ("user_defined_messages", "UserDefinedMessages"),
                ]
            },
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": self.uri,
        }

    def summary(self) -> dict[str, object]:
        """What `GET /_fake/voice/calls/{sid}` shows."""
        return {
            "sid": self.sid,
            "from": self.sender,
            "to": self.to,
            "direction": self.direction,
            "status": self.status,
            "history": self.history,
            "parent_call_sid": self.parent_call_sid,
            "duration": self.duration,
            "conference_sid": self.conference_sid,
            "conference": self.conference_name,
            "executed": self.executed,
            "said": [line.removeprefix("Say: ") for line in self.executed if line.startswith("Say: ")],
            "webhook_ms": self.webhook_ms,
            "created": self.created_at.isoformat(),
        }


@dataclass(slots=True, kw_only=True)
class FakeParticipant:
    """A call in a conference."""

    call_sid: str
    conference_sid: str
    account_sid: str
    created_at: datetime
    updated_at: datetime
    label: str | None = None
    muted: bool = False
    hold: bool = False
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    status: str = "connected"
    left: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def uri(self) -> str:
        """The participant's path on the REST API."""
        return (
            f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.conference_sid}"
            f"/Participants/{self.call_sid}.json"
        )

    def resource(self) -> dict[str, object]:
        """The Participant resource JSON."""
        return {
            "account_sid": self.account_sid,
            "call_sid": self.call_sid,
            "call_sid_to_coach": None,
            "coaching": False,
            "conference_sid": self.conference_sid,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.updated_at),
            "end_conference_on_exit": self.end_conference_on_exit,
            "hold": self.hold,
            "label": self.label,
            "muted": self.muted,
            "start_conference_on_enter": self.start_conference_on_enter,
            "status": self.status,
            "queue_time": None,
            "uri": self.uri,
        }


@dataclass(slots=True, kw_only=True)
class FakeConference:
    """A conference: participants by call SID, its status callback and recording settings."""

    sid: str
    account_sid: str
    friendly_name: str
    created_at: datetime
    updated_at: datetime
    status: str = "init"  # init, in-progress, completed
    participants: dict[str, FakeParticipant] = field(default_factory=dict)  # connected, by call SID
    pending: dict[str, FakeParticipant] = field(default_factory=dict)  # added by REST, still ringing
    ever_joined: list[str] = field(default_factory=list)
    status_callback: str | None = None
    status_events: frozenset[str] = frozenset()
    record: bool = False
    recording_status_callback: str | None = None
    recording_started_at: float | None = None  # loop time
    recording_started: datetime | None = None
    recording_sid: str | None = None
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    sequence: int = 0

    @property
    def uri(self) -> str:
        """The conference's path on the REST API."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.sid}.json"

    def resource(self) -> dict[str, object]:
        """The Conference resource JSON."""
        base = self.uri.removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid_ending_conference": self.call_sid_ending,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.updated_at),
            "friendly_name": self.friendly_name,
            "reason_conference_ended": self.reason_ended,
            "region": "us1",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "participants": f"{base}/Participants.json",
                "recordings": f"{base}/Recordings.json",
            },
            "uri": self.uri,
        }

    def summary(self) -> dict[str, object]:
        """What `GET /_fake/voice/conferences` shows."""
        return {
            "sid": self.sid,
            "friendly_name": self.friendly_name,
            "status": self.status,
            "participants": [
                {"call_sid": p.call_sid, "muted": p.muted, "hold": p.hold, "label": p.label}
                for p in self.participants.values()
            ],
            "ever_joined": self.ever_joined,
            "record": self.record,
            "recording_sid": self.recording_sid,
            "reason_ended": self.reason_ended,
        }


@dataclass(slots=True, kw_only=True)
class FakeRecording:
    """A finished recording and its audio."""

    sid: str
    account_sid: str
    call_sid: str | None
    conference_sid: str | None
    created_at: datetime
    start_time: datetime
    duration: int
    source: str
    status: str = "completed"

    @property
    def uri(self) -> str:
        """The recording's path on the REST API (its media: the same without `.json`)."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{self.sid}.json"

    def audio(self) -> bytes:
        """The WAV file (capped in length; `duration` tells the real one)."""
        return wav_bytes(self.duration)

    def resource(self) -> dict[str, object]:
        """The Recording resource JSON."""
        base = self.uri.removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": self.call_sid,
            "conference_sid": self.conference_sid,
            "channels": 1,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.created_at),
            "start_time": rfc2822(self.start_time),
            "duration": str(self.duration),
            "encryption_details": None,
            "error_code": None,
            "media_url": f"https://api.twilio.com{base}",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "source": self.source,
            "status": self.status,
            "subresource_uris": {
                "add_on_results": f"{base}/AddOnResults.json",
                "transcriptions": f"{base}/Transcriptions.json",
            },
            "uri": self.uri,
        }

    def summary(self) -> dict[str, object]:
        """What `GET /_fake/voice/recordings` shows."""
        return {
            "sid": self.sid,
            "call_sid": self.call_sid,
            "conference_sid": self.conference_sid,
            "duration": self.duration,
            "status": self.status,
        }


class VoiceState:
    """Calls, conferences, recordings and phone scripts over the fake's shared state (config, clock, news)."""

    def __init__(self, shared: FakeState) -> None:
        self.shared = shared
        self.calls: dict[str, FakeCall] = {}
        self.conferences: dict[str, FakeConference] = {}
        self.recordings: dict[str, FakeRecording] = {}
        self.phones: dict[str, PhoneScript] = {}

    @property
    def account_sid(self) -> str:
        """The account the fake serves."""
        return self.shared.config.account_sid

    def scripted_seconds(self, since: float | None) -> float:
        """Scripted seconds elapsed since the loop time `since` (0 when None)."""
        if since is None:
            return 0.0
        elapsed_ms = (asyncio.get_running_loop().time() - since) * 1000
        return elapsed_ms / max(self.shared.config.voice_ms_per_second, 0.001)

    def real_seconds(self, scripted: float) -> float:
        """How long `scripted` seconds take on the wall clock."""
        return scripted * self.shared.config.voice_ms_per_second / 1000

    def add_call(self, *, sender: str, to: str, direction: str, status: str, **more: object) -> FakeCall:
        """Record a new call leg."""
        now = self.shared.now()
        call = FakeCall(
            sid=new_sid("CA"),
            account_sid=self.account_sid,
            sender=sender,
            to=to,
            direction=direction,
            status=status,
            created_at=now,
            updated_at=now,
            **more,  # type: ignore[arg-type]  # the remaining FakeCall fields, by name
        )
        self.calls[call.sid] = call
        self.shared.changed()
        return call

    def set_status(self, call: FakeCall, status: str) -> None:
        """Move a call to `status`, keeping its times and duration."""
        if call.status == status or call.final:
            return
        now = self.shared.now()
        call.status, call.updated_at = status, now
        call.history.append(status)
        if status == "in-progress":
            call.start_time = now
            call.answered_at = asyncio.get_running_loop().time()
        if status in FINAL_STATUSES:
            call.end_time = now
            call.duration = round(self.scripted_seconds(call.answered_at))
            call.ended.set()
        self.shared.changed()

    def conference_named(self, name: str) -> FakeConference | None:
        """The conference of that name that has not ended."""
        return next(
            (c for c in self.conferences.values() if c.friendly_name == name and c.status != "completed"),
            None,
        )

    def conference(self, sid_or_name: str) -> FakeConference | None:
        """A conference by SID, or the live one by friendly name (Twilio accepts both in paths)."""
        return self.conferences.get(sid_or_name) or self.conference_named(sid_or_name)

    def open_conference(self, name: str) -> FakeConference:
        """The live conference of that name, created when there is none."""
        found = self.conference_named(name)
        if found is not None:
            return found
        now = self.shared.now()
        created = FakeConference(
            sid=new_sid("CF"),
            account_sid=self.account_sid,
            friendly_name=name,
            created_at=now,
            updated_at=now,
        )
        self.conferences[created.sid] = created
        self.shared.changed()
        return created

    def add_recording(
        self,
        *,
        call_sid: str | None,
        conference_sid: str | None,
        started: datetime,
        seconds: float,
        source: str,
    ) -> FakeRecording:
        """Record a finished recording of `seconds` scripted seconds."""
        recording = FakeRecording(
            sid=new_sid("RE"),
            account_sid=self.account_sid,
            call_sid=call_sid,
            conference_sid=conference_sid,
            created_at=self.shared.now(),
            start_time=started,
            duration=round(seconds),
            source=source,
        )
        self.recordings[recording.sid] = recording
        self.shared.changed()
        return recording

    def set_phones(self, scripts: Mapping[str, object]) -> None:
        """Apply `{number: script}` (all checked first; `null` forgets a number's script)."""
        parsed = {
            str(number): None if script is None else PhoneScript.parse(script)
            for number, script in scripts.items()
        }
        for number, script in parsed.items():
            if script is None:
                self.phones.pop(number, None)
            else:
                self.phones[number] = script

    def script_for(self, number: str) -> PhoneScript:
        """The number's script (answers after a second when none is set)."""
        return self.phones.get(number) or PhoneScript()

    async def wait_for(self, call: FakeCall, statuses: Iterable[str], wait_s: float) -> FakeCall:
        """The call once its status is one of `statuses` (`in-conference`: once it sits in one) or it ended,
        or after `wait_s` (a minute at most)."""
        wanted = frozenset(statuses)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_s, 0.0), MAX_WAIT_S)
        while True:
            changed = self.shared.news()
            remaining = deadline - loop.time()
            reached = call.status in wanted or ("in-conference" in wanted and call.conference_sid is not None)
            if reached or call.final or self.shared.closed or remaining <= 0:
                return call
            await set_within(changed, remaining)

    def reset(self) -> None:
        """Forget calls, conferences, recordings and scripts (the player cancels the calls first)."""
        self.calls.clear()
        self.conferences.clear()
        self.recordings.clear()
        self.phones.clear()
        self.shared.changed()
