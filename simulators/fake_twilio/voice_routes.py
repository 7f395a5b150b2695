"""The voice side's endpoints: Twilio's Calls, Conferences, Participants and Recordings REST resources
(2010-04-01, HTTP Basic auth) and the `/_fake/voice/...` controls.

REST (what the server's twilio client uses):
  POST   .../Calls.json                        To, From, Url | Twiml, StatusCallback, StatusCallbackEvent*,
                                               Timeout -> 201 Call (queued)
  GET    .../Calls/{Sid}.json                  the Call
  POST   .../Calls/{Sid}.json                  Status=completed|canceled, or Twiml / Url (redirect a live call)
  GET    .../Conferences.json                  FriendlyName=, Status=init|in-progress|completed -> a page
  GET    .../Conferences/{Sid}.json; POST Status=completed ends it
  GET    .../Conferences/{Sid}/Participants.json; POST From, To, StatusCallback, StatusCallbackEvent*,
         Timeout, Muted, Label, StartConferenceOnEnter, EndConferenceOnExit, ConferenceStatusCallback,
         ConferenceStatusCallbackEvent*, ConferenceRecord, ConferenceRecordingStatusCallback -> 201
         ({Sid} may be the friendly name: the conference is created)
  GET|POST|DELETE .../Conferences/{Sid}/Participants/{CallSid}.json   Hold=, Muted=
  GET    .../Recordings/{Sid}.json             the Recording
  GET    .../Recordings/{Sid}.wav (or no extension)   the audio (auth checked when sent); .mp3: 404
Refused while a fault targets "voice" (`POST /_fake/faults {"status": 500, "target": "voice"}`).

Controls (no auth):
  POST /_fake/voice/calls {"from", "to"?, "digits"?: "1" | "" | ["1", ""], "hangup_after_s"?,
                           "say_nothing"?: bool, "url"?, "signature"?: "bad"} -> 201 the call
  GET  /_fake/voice/calls?from=&to=            {"items": [...]}
  GET  /_fake/voice/calls/{sid}?wait_for=in-progress[,completed|in-conference]&wait=5   the call (long
                                               poll: answers once a status is reached or the call ended)
  POST /_fake/voice/calls/{sid}/hangup         the caller hangs up -> the call
  GET  /_fake/voice/conferences?name=          {"items": [...]}
  GET  /_fake/voice/recordings                 {"items": [...]}
  GET|POST /_fake/voice/phones {number: {answer, answer_after_s, hangup_after_s, busy, fail, digits} | null}
  GET|POST /_fake/voice/config {voice_webhook_url, voice_status_url, voice_number, voice_ms_per_second}
  POST /_fake/voice/reset
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.fake_twilio.forms import bad_request, json_object, optional_str
from simulators.fake_twilio.state import FakeState
from simulators.fake_twilio.twiml import Node, TwimlError, parse_twiml
from simulators.fake_twilio.voice_player import VoicePlayer
from simulators.fake_twilio.voice_state import (
    FakeCall,
    FakeConference,
    FakeParticipant,
    VoiceState,
    parse_digits,
)
from simulators.fake_twilio.voice_wire import (
    MultiForm,
    check_call_from,
    check_call_to,
    check_callback_url,
)
from simulators.fake_twilio.wire import TwilioError, not_found

__all__ = ["VoiceApi", "voice_routes"]

VOICE_CONFIG_KEYS = ("voice_webhook_url", "voice_status_url", "voice_number", "voice_ms_per_second")
MAX_TIMEOUT_S = 600.0


def _twiml(document: str) -> list[Node]:
    """Parsed TwiML from a REST form, or Twilio's 400."""
    try:
        return parse_twiml(document)
    except TwimlError as exc:
        raise TwilioError(400, 12100, f"Document parse failure: {exc}") from None


def _page(key: str, items: list[dict[str, object]], uri: str) -> dict[str, object]:
    """A one-page list answer of the 2010-04-01 API."""
    return {
        key: items,
        "end": max(len(items) - 1, 0),
        "first_page_uri": uri,
        "next_page_uri": None,
        "page": 0,
        "page_size": max(len(items), 50),
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }


class VoiceApi:
    """The voice endpoints over the VoiceState and its VoicePlayer."""

    def __init__(
        self,
        shared: FakeState,
        voice: VoiceState,
        player: VoicePlayer,
        authenticate: Callable[[Request], None],
    ) -> None:
        self.shared = shared
        self.voice = voice
        self.player = player
        self.authenticate = authenticate

    async def _rest(self, request: Request) -> MultiForm:
        """Authenticate a REST request, apply a voice fault, read its form."""
        self.authenticate(request)
        self.shared.check_fault("voice")
        return MultiForm((await request.body()).decode("utf-8", "replace"))

    def _call(self, request: Request, name: str = "sid") -> FakeCall:
        """The call named in the path (20404 when unknown)."""
        call = self.voice.calls.get(request.path_params[name])
        if call is None:
            raise not_found(request.url.path)
        return call

    def _conference(self, request: Request) -> FakeConference:
        """The conference named in the path by SID or live friendly name (20404 when unknown)."""
        conference = self.voice.conference(request.path_params["sid"])
        if conference is None:
            raise not_found(request.url.path)
        return conference

    # -- Calls

    async def create_call(self, request: Request) -> Response:
        """POST .../Calls.json."""
        form = await self._rest(request)
        to, sender = form.get("To").strip(), form.get("From").strip()
        check_call_to(to, self.voice.phones)
        check_call_from(sender)
        url, twiml = form.get("Url").strip(), form.get("Twiml").strip()
        if not url and not twiml:
            raise TwilioError(400, 21205, "Either 'Url' or 'Twiml' is required")
        check_callback_url(url, "Url")
        status_callback = form.get("StatusCallback").strip()
        check_callback_url(status_callback, "StatusCallback")
        call = self.player.place_outbound(
            sender=sender,
            to=to,
            url=url or None,
            twiml=_twiml(twiml) if twiml else None,
            status_callback=status_callback or None,
            events=form.all("StatusCallbackEvent"),
            timeout_s=min(form.number("Timeout", 60), MAX_TIMEOUT_S),
        )
        return JSONResponse(call.resource(), status_code=201)

    async def fetch_call(self, request: Request) -> Response:
        """GET .../Calls/{Sid}.json."""
        await self._rest(request)
        return JSONResponse(self._call(request).resource())

    async def update_call(self, request: Request) -> Response:
        """POST .../Calls/{Sid}.json: end it, or redirect it to new TwiML."""
        form = await self._rest(request)
        call = self._call(request)
        status, url, twiml = form.get("Status").strip(), form.get("Url").strip(), form.get("Twiml").strip()
        if status and status not in ("completed", "canceled"):
            raise TwilioError(400, 20001, f"Invalid value for Status: {status}")
        if status:
            if status == "completed" or call.status in ("queued", "initiated", "ringing"):
                self.player.hang_up(call)
        elif url or twiml:
            if call.status != "in-progress":
                raise TwilioError(400, 21220, "Call is not in-progress. Cannot redirect.")
            check_callback_url(url, "Url")
            self.player.redirect(call, twiml=_twiml(twiml) if twiml else None, url=url or None)
        return JSONResponse(call.resource())

    # -- Conferences and participants

    async def list_conferences(self, request: Request) -> Response:
        """GET .../Conferences.json?FriendlyName=&Status=."""
        await self._rest(request)
        name, status = request.query_params.get("FriendlyName"), request.query_params.get("Status")
        found = [
            c.resource()
            for c in self.voice.conferences.values()
            if (name is None or c.friendly_name == name) and (status is None or c.status == status)
        ]
        return JSONResponse(_page("conferences", found, request.url.path))

    async def fetch_conference(self, request: Request) -> Response:
        """GET .../Conferences/{Sid}.json."""
        await self._rest(request)
        return JSONResponse(self._conference(request).resource())

    async def update_conference(self, request: Request) -> Response:
        """POST .../Conferences/{Sid}.json: Status=completed ends it."""
        form = await self._rest(request)
        conference = self._conference(request)
        status = form.get("Status").strip()
        if status and status != "completed":
            raise TwilioError(400, 20001, f"Invalid value for Status: {status}")
        if status:
            self.player.end_conference(conference, "conference-ended-via-API", None)
        return JSONResponse(conference.resource())

    async def list_participants(self, request: Request) -> Response:
        """GET .../Conferences/{Sid}/Participants.json."""
        await self._rest(request)
        conference = self._conference(request)
        found = [p.resource() for p in [*conference.participants.values(), *conference.pending.values()]]
        return JSONResponse(_page("participants", found, request.url.path))

    async def create_participant(self, request: Request) -> Response:
        """POST .../Conferences/{Sid}/Participants.json: ring someone into the conference."""
        form = await self._rest(request)
        key = request.path_params["sid"]
        conference = self.voice.conference(key)
        if conference is None:
            if key.startswith("CF"):
                raise not_found(request.url.path)
            conference = self.voice.open_conference(key)
        to, sender = form.get("To").strip(), form.get("From").strip()
        check_call_to(to, self.voice.phones)
        check_call_from(sender)
        status_callback = form.get("StatusCallback").strip()
        check_callback_url(status_callback, "StatusCallback")
        self.player.configure_conference(conference, self._conference_noun(form))
        participant = self.player.add_participant(
            conference,
            sender=sender,
            to=to,
            status_callback=status_callback or None,
            events=form.all("StatusCallbackEvent"),
            timeout_s=min(form.number("Timeout", 60), MAX_TIMEOUT_S),
            participant={
                "label": form.get("Label") or None,
                "muted": form.flag("Muted", False),
                "start_conference_on_enter": form.flag("StartConferenceOnEnter", True),
                "end_conference_on_exit": form.flag("EndConferenceOnExit", False),
            },
        )
        return JSONResponse(participant.resource(), status_code=201)

    @staticmethod
    def _conference_noun(form: MultiForm) -> Node:
        """The conference settings of a Participants request, as a `<Conference>` noun would give them."""
        attrs = {
            "statusCallback": form.get("ConferenceStatusCallback"),
            "statusCallbackEvent": " ".join(form.all("ConferenceStatusCallbackEvent")) or "start end",
            "record": form.get("ConferenceRecord"),
            "recordingStatusCallback": form.get("ConferenceRecordingStatusCallback"),
        }
        return Node(name="Conference", attrs={key: value for key, value in attrs.items() if value})

    def _participant(self, request: Request, *, pending_too: bool) -> tuple[FakeConference, FakeParticipant]:
        """The participant named in the path (20404 when it is not in the conference)."""
        conference = self._conference(request)
        call_sid = request.path_params["call_sid"]
        participant = conference.participants.get(call_sid)
        if participant is None and pending_too:
            participant = conference.pending.get(call_sid)
        if participant is None:
            raise not_found(request.url.path)
        return conference, participant

    async def fetch_participant(self, request: Request) -> Response:
        """GET .../Participants/{CallSid}.json."""
        await self._rest(request)
        return JSONResponse(self._participant(request, pending_too=True)[1].resource())

    async def update_participant(self, request: Request) -> Response:
        """POST .../Participants/{CallSid}.json: Hold=, Muted=."""
        form = await self._rest(request)
        _conference, participant = self._participant(request, pending_too=False)
        hold = form.flag("Hold", participant.hold) if form.get("Hold") else None
        muted = form.flag("Muted", participant.muted) if form.get("Muted") else None
        self.player.update_participant(participant, hold=hold, muted=muted)
        return JSONResponse(participant.resource())

    async def delete_participant(self, request: Request) -> Response:
        """DELETE .../Participants/{CallSid}.json: out of the conference (its TwiML goes on after `<Dial>`)."""
        await self._rest(request)
        conference, participant = self._participant(request, pending_too=True)
        call = self.voice.calls[participant.call_sid]
        if participant.call_sid in conference.pending:
            self.player.hang_up(call)
        else:
            self.player.leave(call, reason="participant-removed")
        return Response(status_code=204)

    # -- Recordings

    async def recording(self, request: Request) -> Response:
        """GET .../Recordings/{Sid}.json (the resource) or {Sid}[.wav] (the audio; `.mp3` is not kept)."""
        if request.headers.get("authorization") or request.path_params["name"].endswith(".json"):
            self.authenticate(request)
        elif request.path_params["account_sid"] != self.shared.config.account_sid:
            raise not_found(request.url.path)
        self.shared.check_fault("voice")
        sid, _, extension = request.path_params["name"].partition(".")
        recording = self.voice.recordings.get(sid)
        if recording is None or extension not in ("", "json", "wav"):
            raise not_found(request.url.path)
        if extension == "json":
            return JSONResponse(recording.resource())
        return Response(recording.audio(), media_type="audio/x-wav")

    # -- controls

    async def place_call(self, request: Request) -> Response:
        """POST /_fake/voice/calls: a scripted caller rings the voice number."""
        data = await json_object(request)
        sender = data.get("from")
        to = optional_str(data.get("to")) or self.shared.config.voice_number
        if not isinstance(sender, str) or not sender:
            return bad_request('"from" is required')
        if not to:
            return bad_request('"to" is required when no voice_number is configured')
        try:
            digits = [] if data.get("say_nothing") is True else parse_digits(data.get("digits"))
            hangup_after_s = _optional_seconds(data.get("hangup_after_s"))
        except ValueError as exc:
            return bad_request(str(exc))
        call = self.player.place_incoming(
            sender=sender,
            to=to,
            url=optional_str(data.get("url")),
            digits=digits,
            hangup_after_s=hangup_after_s,
            bad_signature=data.get("signature") == "bad",
        )
        return JSONResponse(call.summary(), status_code=201)

    async def list_calls(self, request: Request) -> Response:
        """GET /_fake/voice/calls?from=&to=."""
        sender, to = request.query_params.get("from"), request.query_params.get("to")
        items = [
            c.summary()
            for c in self.voice.calls.values()
            if (sender is None or c.sender == sender) and (to is None or c.to == to)
        ]
        return JSONResponse({"items": items})

    async def show_call(self, request: Request) -> Response:
        """GET /_fake/voice/calls/{sid}?wait_for=&wait=: the call, once in that status (long poll)."""
        call = self.voice.calls.get(request.path_params["sid"])
        if call is None:
            return JSONResponse({"message": "no such call"}, status_code=404)
        wanted = [s for s in request.query_params.get("wait_for", "").split(",") if s]
        try:
            wait_s = float(request.query_params.get("wait", "0"))
        except ValueError:
            return bad_request("wait: a number of seconds")
        if wanted:
            await self.voice.wait_for(call, wanted, wait_s)
        return JSONResponse(call.summary())

    async def hang_up(self, request: Request) -> Response:
        """POST /_fake/voice/calls/{sid}/hangup: that party hangs up."""
        call = self.voice.calls.get(request.path_params["sid"])
        if call is None:
            return JSONResponse({"message": "no such call"}, status_code=404)
        self.player.hang_up(call)
        return JSONResponse(call.summary())

    async def list_conferences_control(self, request: Request) -> Response:
        """GET /_fake/voice/conferences?name=."""
        name = request.query_params.get("name")
        items = [
            c.summary() for c in self.voice.conferences.values() if name is None or c.friendly_name == name
        ]
        return JSONResponse({"items": items})

    async def list_recordings(self, _request: Request) -> Response:
        """GET /_fake/voice/recordings."""
        return JSONResponse({"items": [r.summary() for r in self.voice.recordings.values()]})

    async def phones(self, request: Request) -> Response:
        """GET or POST /_fake/voice/phones."""
        if request.method == "POST":
            try:
                self.voice.set_phones(await json_object(request))
            except ValueError as exc:
                return bad_request(str(exc))
        return JSONResponse({number: script.as_json() for number, script in self.voice.phones.items()})

    async def config(self, request: Request) -> Response:
        """GET or POST /_fake/voice/config (the voice keys of `/_fake/config`)."""
        if request.method == "POST":
            changes = await json_object(request)
            unknown = set(changes) - set(VOICE_CONFIG_KEYS)
            if unknown:
                return bad_request(f"unknown settings: {sorted(unknown)}")
            try:
                self.shared.config.update(changes)
            except ValueError as exc:
                return bad_request(str(exc))
        shown = self.shared.config.as_json()
        return JSONResponse({key: shown[key] for key in VOICE_CONFIG_KEYS})

    async def reset(self, _request: Request) -> Response:
        """POST /_fake/voice/reset."""
        await self.player.reset()
        return Response(status_code=204)


def _optional_seconds(value: object) -> float | None:
    """A number of seconds >= 0, or None."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError("hangup_after_s: expected a number of seconds >= 0")
    return float(value)


def voice_routes(api: VoiceApi, account_path: str) -> list[Route]:
    """The voice routes (REST under `account_path`, then the controls)."""
    conference = f"{account_path}/Conferences/{{sid}}"
    routes: list[tuple[str, Any, list[str]]] = [
        (f"{account_path}/Calls.json", api.create_call, ["POST"]),
        (f"{account_path}/Calls/{{sid}}.json", api.fetch_call, ["GET"]),
        (f"{account_path}/Calls/{{sid}}.json", api.update_call, ["POST"]),
        (f"{account_path}/Conferences.json", api.list_conferences, ["GET"]),
        (f"{conference}.json", api.fetch_conference, ["GET"]),
        (f"{conference}.json", api.update_conference, ["POST"]),
        (f"{conference}/Participants.json", api.list_participants, ["GET"]),
        (f"{conference}/Participants.json", api.create_participant, ["POST"]),
        (f"{conference}/Participants/{{call_sid}}.json", api.fetch_participant, ["GET"]),
        (f"{conference}/Participants/{{call_sid}}.json", api.update_participant, ["POST"]),
        (f"{conference}/Participants/{{call_sid}}.json", api.delete_participant, ["DELETE"]),
        (f"{account_path}/Recordings/{{name}}", api.recording, ["GET"]),
        ("/_fake/voice/calls", api.place_call, ["POST"]),
        ("/_fake/voice/calls", api.list_calls, ["GET"]),
        ("/_fake/voice/calls/{sid}", api.show_call, ["GET"]),
        ("/_fake/voice/calls/{sid}/hangup", api.hang_up, ["POST"]),
        ("/_fake/voice/conferences", api.list_conferences_control, ["GET"]),
        ("/_fake/voice/recordings", api.list_recordings, ["GET"]),
        ("/_fake/voice/phones", api.phones, ["GET", "POST"]),
        ("/_fake/voice/config", api.config, ["GET", "POST"]),
        ("/_fake/voice/reset", api.reset, ["POST"]),
    ]
    return [Route(path, endpoint, methods=methods) for path, endpoint, methods in routes]
