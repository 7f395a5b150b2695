"""The fake Twilio playing calls: it posts signed voice webhooks, follows the TwiML they answer, rings scripted
phones, holds conferences, records them, and posts call, conference and recording status callbacks.

Each call leg runs as one background task (`FakeCall.task`) executing its TwiML document verb by verb; a
hang-up, a REST redirect or the end of a conference interrupts it. Callbacks of one call (or conference) are
posted in order by a chain of tasks, so nothing in a request handler waits on our webhooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from simulators.fake_twilio.delivery import Webhooks
from simulators.fake_twilio.twiml import Node, TwimlError, parse_twiml
from simulators.fake_twilio.voice_state import FakeCall, FakeConference, FakeParticipant, VoiceState
from simulators.fake_twilio.voice_wire import event_of, events_wanted, flags
from simulators.fake_twilio.wire import API_VERSION, country_of, rfc2822

logger = logging.getLogger(__name__)

SAY_SECONDS = 1.0  # how long a <Say> or <Play> takes, in scripted seconds
KEYPRESS_SECONDS = 1.0  # how long a scripted caller takes to press the digits at a <Gather>
CONFERENCE_EVENTS = {
    "start": "conference-start",
    "end": "conference-end",
    "join": "participant-join",
    "leave": "participant-leave",
    "mute": "participant-mute",
    "unmute": "participant-unmute",
    "hold": "participant-hold",
    "unhold": "participant-unhold",
}


@dataclass(frozen=True, slots=True)
class Document:
    """A TwiML document to execute and the URL it came from (relative URLs resolve against it)."""

    verbs: list[Node]
    url: str


HANG_UP = Document([], "")  # a verb's result: the call ends here


def call_params(call: FakeCall) -> dict[str, str]:
    """The form Twilio posts about a call to its voice URL and status callbacks."""
    params = {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": call.status,
        "Direction": call.direction,
        "From": call.sender,
        "To": call.to,
        "Caller": call.sender,
        "Called": call.to,
        "FromCountry": country_of(call.sender),
        "ToCountry": country_of(call.to),
        "CallerCountry": country_of(call.sender),
        "CalledCountry": country_of(call.to),
    }
    for prefix in ("From", "To", "Caller", "Called"):
        params |= {f"{prefix}City": "", f"{prefix}State": "", f"{prefix}Zip": ""}
    if call.parent_call_sid:
        params["ParentCallSid"] = call.parent_call_sid
    return params


class VoicePlayer:
    """Runs the calls of a VoiceState, sending its requests through the fake's Webhooks (signed)."""

    def __init__(self, state: VoiceState, webhooks: Webhooks) -> None:
        self.state = state
        self.webhooks = webhooks
        self.base_url = ""  # the fake's own URL (recording URLs); set when the server starts
        self._tasks: set[asyncio.Task[Any]] = set()
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._children: dict[str, list[FakeCall]] = {}
        self._music: dict[str, asyncio.Task[None]] = {}  # wait music of callers in a conference not started

    # -- tasks and timing

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run `coro` in the background, tracked so `close()` can cancel it."""
        task = asyncio.create_task(coro, name=f"fake-twilio voice {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def pause(self, scripted_s: float) -> None:
        """Let `scripted_s` seconds of the call pass."""
        await asyncio.sleep(self.state.real_seconds(scripted_s))

    async def close(self) -> None:
        """Cancel every call and callback still running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._chains.clear()

    async def reset(self) -> None:
        """Cancel everything and forget every call."""
        await self.close()
        self._children.clear()
        self._music.clear()
        self.state.reset()

    # -- callbacks, posted in order per call or conference

    def _post_in_order(self, key: str, url: str, params: dict[str, str]) -> None:
        """Post `params` to `url` after the earlier callbacks under `key`."""
        previous = self._chains.get(key)
        self._chains[key] = self.spawn(self._post_after(previous, url, params), f"callback {key}")

    async def _post_after(
        self, previous: asyncio.Task[None] | None, url: str, params: dict[str, str]
    ) -> None:
        """Wait for the previous callback, then post this one (failures are logged, not retried)."""
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            response = await self.webhooks.post(url, params)
        except httpx.HTTPError as exc:
            logger.warning("voice callback %s failed: %r", url, exc)
            return
        finally:
            self._forget_chain(asyncio.current_task())
        if not response.is_success:
            logger.warning("voice callback %s answered %d", url, response.status_code)

    def _forget_chain(self, task: asyncio.Task[Any] | None) -> None:
        """Drop a chain whose last callback this was (so the map does not grow with every call)."""
        for key, last in list(self._chains.items()):
            if last is task:
                del self._chains[key]

    def _transition(self, call: FakeCall, status: str) -> None:
        """Move the call to `status` and post its status callback when that event was asked for
        (`initiated` is only a callback: the Call resource stays `queued` until it rings)."""
        if call.status == status or call.final:
            return
        if status != "initiated":
            self.state.set_status(call, status)
        if call.status_callback and event_of(status) in call.events:
            call.sequence += 1
            params = call_params(call) | {
                "CallStatus": status,
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(call.sequence - 1),
                "Timestamp": rfc2822(self.state.shared.now()) or "",
            }
            if call.final:
                params["CallDuration"] = str(call.duration or 0)
            self._post_in_order(call.sid, call.status_callback, params)

    # -- placing calls

    def place_incoming(
        self,
        *,
        sender: str,
        to: str,
        url: str | None,
        digits: list[str],
        hangup_after_s: float | None,
        bad_signature: bool = False,
    ) -> FakeCall:
        """A scripted caller dials `to`: its voice URL gets the call, the caller follows the TwiML."""
        config = self.state.shared.config
        status_url = config.voice_status_url
        call = self.state.add_call(
            sender=sender,
            to=to,
            direction="inbound",
            status="ringing",
            url=url or config.voice_webhook_url,
            status_callback=status_url,
            events=events_wanted([], status_url),
            digits=list(digits),
            hangup_after_s=hangup_after_s,
        )
        call.task = self.spawn(self._run_incoming(call, bad_signature), call.sid)
        if hangup_after_s is not None:
            self.spawn(self._hang_up_after(call, hangup_after_s), f"{call.sid} hang-up")
        return call

    def place_outbound(
        self,
        *,
        sender: str,
        to: str,
        url: str | None,
        twiml: list[Node] | None,
        status_callback: str | None,
        events: list[str],
        timeout_s: float,
    ) -> FakeCall:
        """A call created through the REST API: ring `to`, then follow its TwiML."""
        call = self.state.add_call(
            sender=sender,
            to=to,
            direction="outbound-api",
            status="queued",
            url=url,
            status_callback=status_callback,
            events=events_wanted(events, status_callback),
            timeout_s=timeout_s,
        )
        call.task = self.spawn(self._run_outbound(call, twiml), call.sid)
        return call

    def add_participant(
        self,
        conference: FakeConference,
        *,
        sender: str,
        to: str,
        status_callback: str | None,
        events: list[str],
        timeout_s: float,
        participant: dict[str, Any],
    ) -> FakeParticipant:
        """A call created through the Participants API: ring `to`, on answer join the conference."""
        call = self.state.add_call(
            sender=sender,
            to=to,
            direction="outbound-api",
            status="queued",
            status_callback=status_callback,
            events=events_wanted(events, status_callback),
            timeout_s=timeout_s,
        )
        now = self.state.shared.now()
        pending = FakeParticipant(
            call_sid=call.sid,
            conference_sid=conference.sid,
            account_sid=call.account_sid,
            created_at=now,
            updated_at=now,
            status="queued",
            **participant,
        )
        conference.pending[call.sid] = pending
        call.task = self.spawn(self._run_participant(call, conference, pending), call.sid)
        return pending

    async def _hang_up_after(self, call: FakeCall, scripted_s: float) -> None:
        """The scripted party hangs up after `scripted_s` seconds."""
        await self.pause(scripted_s)
        self.hang_up(call)

    # -- ending and interrupting

    def hang_up(self, call: FakeCall) -> None:
        """The party hangs up (or the API ends the call): completed when answered, else canceled."""
        self.end_call(call, "completed" if call.status == "in-progress" else "canceled")

    def end_call(self, call: FakeCall, status: str) -> None:
        """End the call with `status`: stop its TwiML, its dialled legs and its conference seat."""
        if call.final:
            return
        self.interrupt(call)
        call.executed.append(f"ended: {status}")
        self._transition(call, status)

    def interrupt(self, call: FakeCall) -> None:
        """Stop what the call is doing (unless it is the caller): its TwiML task, dialled legs, conference."""
        runner = call.task
        if runner is not None and runner is not asyncio.current_task() and not runner.done():
            runner.cancel()
        for child in self._children.pop(call.sid, []):
            self.hang_up(child)
        if call.conference_sid:
            self.leave(call, reason="participant-left")

    def redirect(self, call: FakeCall, *, twiml: list[Node] | None, url: str | None) -> None:
        """REST update with `Twiml` or `Url`: drop the current TwiML and run the new one."""
        self.interrupt(call)
        call.executed.append(f"redirected: {url or 'twiml'}")
        if twiml is not None:
            call.task = self.spawn(self._run_document(call, Document(twiml, call.url or "")), call.sid)
        elif url:
            call.url = url
            call.task = self.spawn(self._run_url(call, url), call.sid)

    # -- running TwiML

    async def _run_incoming(self, call: FakeCall, bad_signature: bool) -> None:
        """Post the call to the voice URL and follow the answer; the call ends when the TwiML does."""
        if not call.url:
            call.executed.append("error: no voice webhook URL is configured")
            self.end_call(call, "failed")
            return
        document = await self._fetch(call, call.url, {}, bad_signature=bad_signature)
        if document is None:
            self.end_call(call, "failed")
            return
        self._transition(call, "in-progress")
        await self._execute(call, document)

    async def _run_outbound(self, call: FakeCall, twiml: list[Node] | None) -> None:
        """Ring; once answered, run the given TwiML or fetch it from the call's URL."""
        if not await self._ring(call):
            return
        if twiml is not None:
            await self._run_document(call, Document(twiml, call.url or ""))
        elif call.url:
            await self._run_url(call, call.url)

    async def _run_participant(
        self, call: FakeCall, conference: FakeConference, pending: FakeParticipant
    ) -> None:
        """Ring; once answered, sit in the conference until leaving it, then hang up."""
        pending.status = "ringing"
        answered = await self._ring(call)
        conference.pending.pop(call.sid, None)
        if not answered:
            pending.status = "failed" if call.status == "failed" else "complete"
            return
        if conference.status == "completed":
            self.end_call(call, "completed")
            return
        joined = self.join(call, conference, pending)
        await joined.left.wait()
        self.end_call(call, "completed")

    async def _run_url(self, call: FakeCall, url: str) -> None:
        """Fetch the TwiML at `url` and run it."""
        document = await self._fetch(call, url, {})
        if document is None:
            self.end_call(call, "completed")
            return
        await self._execute(call, document)

    async def _run_document(self, call: FakeCall, document: Document) -> None:
        """Run a document given whole (REST `Twiml`)."""
        await self._execute(call, document)

    async def _fetch(
        self, call: FakeCall, url: str, extra: dict[str, str], *, bad_signature: bool = False
    ) -> Document | None:
        """POST the call to `url` and parse the TwiML answer; None (logged on the call) when that fails."""
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            response = await self.webhooks.post(url, call_params(call) | extra, bad_signature=bad_signature)
        except httpx.HTTPError as exc:
            call.executed.append(f"error 11200: {url} unreachable ({exc!r})")
            return None
        finally:
            call.webhook_ms.append(round((loop.time() - sent) * 1000, 2))
        if not response.is_success:
            call.executed.append(f"error 11200: {url} answered {response.status_code}")
            return None
        try:
            return Document(parse_twiml(response.text), url)
        except TwimlError as exc:
            call.executed.append(f"error 12100: {exc}")
            return None

    async def _execute(self, call: FakeCall, document: Document) -> None:
        """Execute the verbs in order (a verb may replace the document); hang up when they run out."""
        current: Document | None = document
        while current is not None:
            if current is HANG_UP:
                break
            verbs, url = list(current.verbs), current.url
            current = None
            while verbs:
                verb = verbs.pop(0)
                call.executed.append(verb.describe())
                replacement = await self._verb(call, verb, url)
                if replacement is not None:
                    current = replacement
                    break
        self.end_call(call, "completed")

    async def _verb(self, call: FakeCall, verb: Node, url: str) -> Document | None:
        """Carry out one verb; a Document to continue with instead of the rest, or None."""
        if verb.name in ("Say", "Play"):
            if verb.attr("loop") == "0":  # Twilio repeats it until the call moves on (hold music)
                await asyncio.Event().wait()
            await self.pause(SAY_SECONDS * max(1, int(verb.seconds("loop", 1))))
        elif verb.name == "Pause":
            await self.pause(verb.seconds("length", 1))
        elif verb.name == "Gather":
            return await self._gather(call, verb, url)
        elif verb.name == "Redirect":
            return await self._follow(call, urljoin(url, verb.text), {})
        elif verb.name == "Dial":
            return await self._dial(call, verb, url)
        elif verb.name == "Hangup":
            return HANG_UP
        elif verb.name == "Reject":
            self.end_call(call, "busy" if verb.attr("reason") == "busy" else "no-answer")
            return HANG_UP
        else:
            call.executed.append(f"skipped: the fake does not play <{verb.name}>")
        return None

    async def _follow(self, call: FakeCall, url: str, extra: dict[str, str]) -> Document:
        """The document at `url` (the call hangs up when it cannot be fetched, as Twilio's error does)."""
        return await self._fetch(call, url, extra) or HANG_UP

    async def _gather(self, call: FakeCall, verb: Node, url: str) -> Document | None:
        """Play the nested verbs, then the caller presses the scripted digits or nothing (Twilio's rules)."""
        for nested in verb.children:
            call.executed.append(nested.describe())
            await self._verb(call, nested, url)
        digits = (call.digits.pop(0) if call.digits else "").split(verb.attr("finishOnKey", "#") or "\0")[0]
        if verb.attr("numDigits").isdigit():
            digits = digits[: int(verb.attr("numDigits"))]
        action = urljoin(url, verb.attr("action")) if verb.attr("action") else url
        if digits:
            await self.pause(KEYPRESS_SECONDS)
            call.executed.append(f"pressed: {digits}")
            return await self._follow(call, action, {"Digits": digits, "FinishedOnKey": ""})
        await self.pause(verb.seconds("timeout", 5))
        call.executed.append("pressed: nothing")
        if verb.flag("actionOnEmptyResult"):
            return await self._follow(call, action, {})
        return None

    async def _dial(self, call: FakeCall, verb: Node, url: str) -> Document | None:
        """Dial a conference or a number / client; then the action URL or the next verb."""
        nouns = [child for child in verb.children if child.name in ("Conference", "Number", "Client", "Sip")]
        if not nouns and verb.text:
            nouns = [Node(name="Number", text=verb.text)]
        if not nouns:
            call.executed.append("error: <Dial> without anything to dial")
            return None
        noun = nouns[0]
        if noun.name == "Conference":
            result = await self._dial_conference(call, noun, url)
        else:
            result = await self._dial_party(call, verb, noun, url)
        action = verb.attr("action")
        if action:
            return await self._follow(call, urljoin(url, action), result)
        return None

    async def _dial_conference(self, call: FakeCall, noun: Node, url: str) -> dict[str, str]:
        """Join the named conference and stay until leaving it."""
        conference = self.state.open_conference(noun.text)
        self.configure_conference(conference, noun, url)
        now = self.state.shared.now()
        participant = FakeParticipant(
            call_sid=call.sid,
            conference_sid=conference.sid,
            account_sid=call.account_sid,
            created_at=now,
            updated_at=now,
            muted=noun.flag("muted"),
            start_conference_on_enter=noun.flag("startConferenceOnEnter", True),
            end_conference_on_exit=noun.flag("endConferenceOnExit"),
        )
        started = asyncio.get_running_loop().time()
        self.join(call, conference, participant)
        if noun.attr("waitUrl") and conference.status == "init":
            wait_url = urljoin(url, noun.attr("waitUrl"))
            self._music[call.sid] = self.spawn(self._wait_music(call, wait_url), f"{call.sid} wait music")
        try:
            await participant.left.wait()
        finally:
            self._stop_music(call.sid)
        seconds = round(self.state.scripted_seconds(started))
        return {
            "DialCallStatus": "completed",
            "DialCallDuration": str(seconds),
            "ConferenceSid": conference.sid,
        }

    async def _wait_music(self, call: FakeCall, url: str) -> None:
        """Play the `waitUrl` TwiML (Say, Play, Pause, Redirect) again and again until the conference starts."""
        while True:
            document = await self._fetch(call, url, {})
            if document is None:
                return  # Twilio plays silence
            for verb in document.verbs:
                if verb.name not in ("Say", "Play", "Pause", "Redirect"):
                    continue
                call.executed.append(verb.describe())
                if verb.name == "Redirect":
                    url = urljoin(document.url, verb.text)
                    break
                await self._verb(call, verb, document.url)
            await self.pause(SAY_SECONDS)

    def _stop_music(self, call_sid: str) -> None:
        """Stop a participant's wait music."""
        music = self._music.pop(call_sid, None)
        if music is not None:
            music.cancel()

    def configure_conference(self, conference: FakeConference, noun: Node, base: str = "") -> None:
        """Conference settings from a `<Conference>` noun (the first participant to give one sets it);
        relative callback URLs resolve against `base`, the document's URL."""
        if noun.attr("statusCallback") and not conference.status_callback:
            conference.status_callback = urljoin(base, noun.attr("statusCallback"))
            conference.status_events = frozenset(noun.attr("statusCallbackEvent", "start end").split())
        if noun.attr("record") in ("record-from-start", "true") and not conference.record:
            conference.record = True
            self._start_recording(conference)
        if noun.attr("recordingStatusCallback") and not conference.recording_status_callback:
            conference.recording_status_callback = urljoin(base, noun.attr("recordingStatusCallback"))

    async def _dial_party(self, call: FakeCall, verb: Node, noun: Node, url: str) -> dict[str, str]:
        """Ring a number or client; if it answers, stay bridged until it hangs up."""
        target = f"client:{noun.identity()}" if noun.name == "Client" else noun.text
        status_callback = urljoin(url, noun.attr("statusCallback")) if noun.attr("statusCallback") else None
        child = self.state.add_call(
            sender=verb.attr("callerId") or call.sender,
            to=target,
            direction="outbound-dial",
            status="queued",
            parent_call_sid=call.sid,
            status_callback=status_callback,
            events=events_wanted(noun.attr("statusCallbackEvent").split(), status_callback),
            timeout_s=verb.seconds("timeout", 30),
        )
        self._children.setdefault(call.sid, []).append(child)  # its ringing runs in the parent's task
        record = verb.attr("record") in ("record-from-answer", "record-from-ringing", "true")
        if await self._ring(child):
            started, started_at = self.state.shared.now(), asyncio.get_running_loop().time()
            await child.ended.wait()
            if record and verb.attr("recordingStatusCallback"):
                seconds = self.state.scripted_seconds(started_at)
                recording = self.state.add_recording(
                    call_sid=call.sid,
                    conference_sid=None,
                    started=started,
                    seconds=seconds,
                    source="DialVerb",
                )
                callback = urljoin(url, verb.attr("recordingStatusCallback"))
                self._post_recording(recording.sid, callback, call_sid=call.sid)
        children = self._children.get(call.sid, [])
        if child in children:
            children.remove(child)
        return {
            "DialCallStatus": child.status,
            "DialCallSid": child.sid,
            "DialCallDuration": str(child.duration or 0),
        }

    async def _ring(self, call: FakeCall) -> bool:
        """Ring the call's `to` as its script says; True once answered (its hang-up then scheduled)."""
        script = self.state.script_for(call.to)
        self._transition(call, "initiated")
        if script.fail:
            self.end_call(call, "failed")
            return False
        if script.busy:
            self.end_call(call, "busy")
            return False
        self._transition(call, "ringing")
        if not script.answer or script.answer_after_s >= call.timeout_s:
            await self.pause(call.timeout_s)
            self.end_call(call, "no-answer")
            return False
        await self.pause(script.answer_after_s)
        if call.final:
            return False
        call.digits = list(script.digits)
        self._transition(call, "in-progress")
        if script.hangup_after_s is not None:
            self.spawn(self._hang_up_after(call, script.hangup_after_s), f"{call.sid} hang-up")
        return True

    # -- conferences

    def join(
        self, call: FakeCall, conference: FakeConference, participant: FakeParticipant
    ) -> FakeParticipant:
        """Seat the call in the conference (starting it when the participant may)."""
        participant.status = "connected"
        participant.conference_sid = conference.sid
        conference.participants[call.sid] = participant
        conference.ever_joined.append(call.sid)
        call.conference_sid, call.conference_name = conference.sid, conference.friendly_name
        call.executed.append(f"joined conference: {conference.friendly_name}")
        self._conference_event(conference, "join", participant)
        if conference.status == "init" and participant.start_conference_on_enter:
            for waiting in conference.participants:
                self._stop_music(waiting)
            conference.status = "in-progress"
            conference.updated_at = self.state.shared.now()
            self._conference_event(conference, "start", None)
            if conference.record:
                self._start_recording(conference)
        self.state.shared.changed()
        return participant

    def leave(self, call: FakeCall, *, reason: str) -> None:
        """Take the call out of its conference; the conference ends when it was the last or the ender."""
        conference = self.state.conferences.get(call.conference_sid or "")
        call.conference_sid = call.conference_name = None
        if conference is None or call.sid not in conference.participants:
            return
        participant = conference.participants.pop(call.sid)
        self._seat_vacated(conference, participant)
        if participant.end_conference_on_exit and conference.status == "in-progress":
            self.end_conference(conference, "participant-with-end-conference-on-exit-left", call.sid)
        elif not conference.participants:
            self.end_conference(conference, "last-participant-left", call.sid)
        self.state.shared.changed()

    def _seat_vacated(self, conference: FakeConference, participant: FakeParticipant) -> None:
        """A participant is out: its Dial verb may go on."""
        participant.status = "complete"
        participant.updated_at = self.state.shared.now()
        participant.left.set()
        self._conference_event(conference, "leave", participant)

    def end_conference(self, conference: FakeConference, reason: str, ending_call_sid: str | None) -> None:
        """End the conference: everyone leaves it, the recording (if any) completes."""
        if conference.status == "completed":
            return
        was_live = conference.status == "in-progress"
        conference.status, conference.reason_ended = "completed", reason
        conference.call_sid_ending = ending_call_sid
        conference.updated_at = self.state.shared.now()
        for call_sid, participant in list(conference.participants.items()):
            conference.participants.pop(call_sid)
            leaving = self.state.calls.get(call_sid)
            if leaving is not None:
                leaving.conference_sid = leaving.conference_name = None
            self._seat_vacated(conference, participant)
        if was_live:
            self._conference_event(conference, "end", None)
        self._finish_recording(conference)
        self.state.shared.changed()

    def _start_recording(self, conference: FakeConference) -> None:
        """Start recording a live conference (record-from-start waits for the start)."""
        if conference.status == "in-progress" and conference.recording_started_at is None:
            conference.recording_started_at = asyncio.get_running_loop().time()
            conference.recording_started = self.state.shared.now()

    def _finish_recording(self, conference: FakeConference) -> None:
        """Store the conference's recording and post its recording status callback."""
        if conference.recording_started_at is None or conference.recording_started is None:
            return
        recording = self.state.add_recording(
            call_sid=None,
            conference_sid=conference.sid,
            started=conference.recording_started,
            seconds=self.state.scripted_seconds(conference.recording_started_at),
            source="StartConferenceRecordingAPI",
        )
        conference.recording_sid = recording.sid
        if conference.recording_status_callback:
            self._post_recording(
                recording.sid, conference.recording_status_callback, conference_sid=conference.sid
            )

    def _post_recording(
        self, recording_sid: str, url: str, *, call_sid: str | None = None, conference_sid: str | None = None
    ) -> None:
        """Post a completed recording's status callback."""
        recording = self.state.recordings[recording_sid]
        params = {
            "AccountSid": recording.account_sid,
            "RecordingSid": recording.sid,
            "RecordingUrl": f"{self.base_url}{recording.uri.removesuffix('.json')}",
            "RecordingStatus": "completed",
            "RecordingDuration": str(recording.duration),
            "RecordingChannels": "1",
            "RecordingStartTime": rfc2822(recording.start_time) or "",
            "RecordingSource": recording.source,
            "ErrorCode": "0",
        }
        if call_sid:
            params["CallSid"] = call_sid
        if conference_sid:
            params["ConferenceSid"] = conference_sid
        self._post_in_order(conference_sid or call_sid or recording_sid, url, params)

    def _conference_event(
        self, conference: FakeConference, event: str, participant: FakeParticipant | None
    ) -> None:
        """Post a conference status callback when the conference asked for that event."""
        asked_as = event.removeprefix("un")  # `hold` asks for hold and unhold, `mute` for mute and unmute
        if not conference.status_callback or asked_as not in conference.status_events:
            return
        conference.sequence += 1
        params = {
            "AccountSid": conference.account_sid,
            "ConferenceSid": conference.sid,
            "FriendlyName": conference.friendly_name,
            "StatusCallbackEvent": CONFERENCE_EVENTS[event],
            "SequenceNumber": str(conference.sequence),
            "Timestamp": rfc2822(self.state.shared.now()) or "",
        }
        if participant is not None:
            params["CallSid"] = participant.call_sid
            params |= flags(
                {
                    "Muted": participant.muted,
                    "Hold": participant.hold,
                    "Coaching": False,
                    "EndConferenceOnExit": participant.end_conference_on_exit,
                    "StartConferenceOnEnter": participant.start_conference_on_enter,
                }
            )
        if event == "end":
            params["ReasonConferenceEnded"] = conference.reason_ended or ""
            params["CallSidEndingConference"] = conference.call_sid_ending or ""
        self._post_in_order(conference.sid, conference.status_callback, params)

    def update_participant(
        self, participant: FakeParticipant, *, hold: bool | None, muted: bool | None
    ) -> None:
        """REST hold / mute of a participant, with its conference event."""
        conference = self.state.conferences[participant.conference_sid]
        participant.updated_at = self.state.shared.now()
        if hold is not None and hold != participant.hold:
            participant.hold = hold
            self._conference_event(conference, "hold" if hold else "unhold", participant)
        if muted is not None and muted != participant.muted:
            participant.muted = muted
            self._conference_event(conference, "mute" if muted else "unmute", participant)
        self.state.shared.changed()
