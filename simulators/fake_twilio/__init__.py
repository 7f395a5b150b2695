"""A wire-level fake of Twilio's SMS and voice APIs: the real `twilio` client talks to it, it calls back
like Twilio (and plays the calls: it follows the TwiML our voice webhook answers).

Layout: `wire` (Twilio's formats, errors and checks, pure), `state` (configuration and messages),
`delivery` (signed status callbacks and inbound webhooks), `server` (the Starlette app and `FakeTwilio`),
`runner` (uvicorn in the caller's loop). Voice: `voice_wire` and `twiml` (pure), `voice_state` (calls,
conferences, recordings, phone scripts), `voice_player` (plays the calls, signed callbacks), `voice_routes`
(Calls / Conferences / Participants / Recordings REST and the `/_fake/voice` controls).
`python -m simulators.fake_twilio --port 8790` runs it alone.
"""

from simulators.fake_twilio.delivery import InboundResult
from simulators.fake_twilio.runner import LocalServer
from simulators.fake_twilio.server import FakeTwilio, create_app
from simulators.fake_twilio.state import FakeConfig, FakeMessage
from simulators.fake_twilio.voice_state import FakeCall, FakeConference, FakeRecording, PhoneScript
from simulators.fake_twilio.wire import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, num_segments

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FakeCall",
    "FakeConference",
    "FakeConfig",
    "FakeMessage",
    "FakeRecording",
    "FakeTwilio",
    "InboundResult",
    "LocalServer",
    "PhoneScript",
    "create_app",
    "num_segments",
]
