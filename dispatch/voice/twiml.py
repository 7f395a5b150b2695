"""The TwiML the hotline answers with, built with the `twilio` library: greeting and menu, the caller's
place in the call's conference (recorded), the legs we ring into it, the waiting message. The spoken texts
are in `templates/*.txt` (zh-CN)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from twilio.twiml.voice_response import VoiceResponse

LANGUAGE = "zh-CN"
MENU_SECONDS = 6  # elders are slow to press a key; no key at all means an emergency
WAIT_LOOPS = 0  # Twilio: 0 = repeat until the conference starts


@cache
def text(name: str) -> str:
    """A spoken text from templates/<name>.txt."""
    return resources.files("dispatch.voice").joinpath("templates", f"{name}.txt").read_text("utf-8").strip()


def greeting_and_menu(*, greeting_url: str, menu_action: str, no_input_url: str) -> str:
    """Greeting (spoken, or the recorded prompt), the 1-4 menu; no key within the time: the emergency path."""
    response = VoiceResponse()
    if greeting_url:
        response.play(greeting_url)
    else:
        response.say(text("greeting"), language=LANGUAGE)
    gather = response.gather(num_digits=1, timeout=MENU_SECONDS, action=menu_action, method="POST")
    gather.say(text("menu"), language=LANGUAGE)
    response.redirect(no_input_url, method="POST")
    return str(response)


def queue(*, conference: str, recording_callback: str, wait_url: str, greeting_url: str = "") -> str:
    """The caller joins the call's conference: recorded from the start, waiting (with the waiting message)
    until an agent joins; the conference ends when the caller leaves."""
    response = VoiceResponse()
    if greeting_url:
        response.play(greeting_url)
    response.say(text("queued"), language=LANGUAGE)
    dial = response.dial()
    dial.conference(
        conference,
        record="record-from-start",
        recording_status_callback=recording_callback,
        recording_status_callback_event="completed",
        wait_url=wait_url,
        wait_method="POST",
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
    )
    return str(response)


def join(*, conference: str, recording_callback: str | None = None, ends_on_exit: bool = False) -> str:
    """A leg we rang (an agent, an outbound target, an added party) joins the call's conference; with a
    recording callback the conference is recorded from the start (outbound calls: the agent starts it)."""
    response = VoiceResponse()
    dial = response.dial()
    if recording_callback:
        dial.conference(
            conference,
            record="record-from-start",
            recording_status_callback=recording_callback,
            recording_status_callback_event="completed",
            start_conference_on_enter=True,
            end_conference_on_exit=ends_on_exit,
            beep=False,
        )
    else:
        dial.conference(
            conference, start_conference_on_enter=True, end_conference_on_exit=ends_on_exit, beep=False
        )
    return str(response)


def waiting() -> str:
    """What a queued caller hears until an agent joins."""
    response = VoiceResponse()
    response.say(text("wait"), language=LANGUAGE, loop=WAIT_LOOPS)
    return str(response)


def hang_up() -> str:
    """End this leg (a call that is over, a leg nobody expects any more)."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
