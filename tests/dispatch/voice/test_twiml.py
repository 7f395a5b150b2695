"""The TwiML the hotline answers with, byte for byte where it matters."""

from __future__ import annotations

from dispatch.voice import twiml

MENU = "https://d.example.cn/webhooks/twilio/voice?step=menu&phone_call_id=5"
SOS = "https://d.example.cn/webhooks/twilio/voice?step=emergency&phone_call_id=5"


def test_a_recorded_greeting_is_played_instead_of_spoken() -> None:
    played = twiml.greeting_and_menu(
        greeting_url="https://cdn.example.cn/hi.wav", menu_action=MENU, no_input_url=SOS
    )
    assert played.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Play>https://cdn.example.cn/hi.wav</Play><Gather'
    )
    assert "您好" not in played
    assert "紧急求助请按1" in played


def test_the_waiting_message_loops_and_a_rung_leg_joins_without_ending_the_call() -> None:
    assert twiml.waiting() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say language="zh-CN" loop="0">坐席正忙，请您不要挂机，我们会尽快为您接通。</Say></Response>'
    )
    assert twiml.join(conference="pc-5") == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Dial>'
        '<Conference beep="false" endConferenceOnExit="false" startConferenceOnEnter="true">pc-5</Conference>'
        "</Dial></Response>"
    )
    assert 'record="record-from-start"' in twiml.join(conference="pc-5", recording_callback="https://x/rec")
