"""python -m simulators.fake_twilio --port 8790 [--host 127.0.0.1] [--account-sid AC...] [--auth-token T]
[--sms-webhook URL] [--status-delay-ms 50] [--voice-webhook URL] [--voice-status URL] [--voice-number N]
[--voice-ms-per-second 1000]: the fake Twilio on its own, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from simulators.fake_twilio.server import FakeTwilio
from simulators.fake_twilio.wire import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m simulators.fake_twilio", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790, help="0: any free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--sms-webhook", default=None, help="where inbound SMS are posted")
    parser.add_argument("--status-delay-ms", type=float, default=50.0, help="between status callbacks")
    parser.add_argument("--voice-webhook", default=None, help="where incoming calls are posted")
    parser.add_argument("--voice-status", default=None, help="the voice number's status callback URL")
    parser.add_argument("--voice-number", default=None, help="the number scripted callers dial")
    parser.add_argument(
        "--voice-ms-per-second", type=float, default=1000.0, help="real ms per scripted second of a call"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    fake = FakeTwilio(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        sms_webhook_url=args.sms_webhook,
        status_delay_ms=args.status_delay_ms,
        voice_webhook_url=args.voice_webhook,
        voice_status_url=args.voice_status,
        voice_number=args.voice_number,
        voice_ms_per_second=args.voice_ms_per_second,
        host=args.host,
        port=args.port,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    base_url = await fake.start()
    print(f"fake Twilio listening on {base_url} (account {fake.account_sid})", flush=True)
    print(f"  REST: {base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json", flush=True)
    print(f"  SMS webhook: {args.sms_webhook or '(none; set it with POST /_fake/config)'}", flush=True)
    print(
        f"  voice webhook: {args.voice_webhook or '(none; set it with POST /_fake/voice/config)'}", flush=True
    )
    try:
        await stopping.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
