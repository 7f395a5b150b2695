"""Simulated callers of the 12349 hotline: elders and their relatives phoning in through the fake Twilio.

    python -m simulators.hotline_callers --twilio http://127.0.0.1:8790 --per-hour 6 --seed 12349 \\
        --number +8613800138000 --number +8615800000001

A few calls an hour (a Poisson process, seeded) from the given numbers, each placed with
`POST /_fake/voice/calls`: most elders press nothing at the menu (the hotline treats that as an emergency),
some press 1-4; a caller hangs up after one to five minutes, or sometimes stays until the hotline ends the
call. The fake Twilio posts each call to the hotline's voice webhook, as configured on it
(`POST /_fake/voice/config {"voice_webhook_url", "voice_status_url", "voice_number"}`).
In the demo, `run_demo_hotline_callers(settings, fake)` takes the numbers of the demo elders and contacts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders.models import Contact, Elder
from dispatch.settings import Settings
from simulators.fake_twilio import FakeTwilio

__all__ = ["HotlineCallers", "PlannedCall", "demo_caller_numbers", "plan_call", "run_demo_hotline_callers"]

logger = logging.getLogger(__name__)

CALLS_PER_HOUR = 4.0
DEMO_SEED = 12349
# What callers press at the menu: nothing (elders often cannot), 1 emergency, 2 home service, 3 enquiry,
# 4 complaint; weights as a hotline sees them.
MENU_CHOICES = ("", "1", "2", "3", "4")
MENU_WEIGHTS = (40, 15, 25, 15, 5)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One scripted call: who calls, what they press, when they hang up (None: they wait for the hotline)."""

    sender: str
    digits: str
    hangup_after_s: float | None

    def as_json(self) -> dict[str, object]:
        """The body of `POST /_fake/voice/calls`."""
        return {"from": self.sender, "digits": self.digits, "hangup_after_s": self.hangup_after_s}


def plan_call(rng: random.Random, numbers: list[str]) -> PlannedCall:
    """The next call, drawn from `rng`."""
    sender = rng.choice(numbers)
    digits = rng.choices(MENU_CHOICES, MENU_WEIGHTS)[0]
    hangup_after_s = None if rng.random() < 0.2 else round(rng.uniform(60, 300), 1)
    return PlannedCall(sender, digits, hangup_after_s)


def next_gap_s(rng: random.Random, per_hour: float) -> float:
    """Seconds until the next call of a Poisson process of `per_hour` calls an hour."""
    return rng.expovariate(per_hour / 3600)


class HotlineCallers:
    """Places the planned calls through a fake Twilio's control API until cancelled."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        numbers: list[str],
        *,
        per_hour: float = CALLS_PER_HOUR,
        seed: int = DEMO_SEED,
        hotline: str | None = None,
    ) -> None:
        if not numbers:
            raise ValueError("no numbers to call from")
        if per_hour <= 0:
            raise ValueError("per_hour must be positive")
        self.client = client
        self.numbers = numbers
        self.per_hour = per_hour
        self.rng = random.Random(seed)
        self.hotline = hotline
        self.placed: list[str] = []  # CallSids

    async def place(self, call: PlannedCall) -> str | None:
        """Place one call; its CallSid, or None when the fake refused it (logged)."""
        body = call.as_json() | ({"to": self.hotline} if self.hotline else {})
        try:
            answer = await self.client.post("/_fake/voice/calls", json=body)
        except httpx.HTTPError as exc:  # the fake stopping with the demo: nothing to place calls on
            logger.warning("hotline caller: the fake Twilio is unreachable: %r", exc)
            return None
        if answer.status_code != 201:
            logger.warning(
                "hotline caller: the fake refused the call: %d %s", answer.status_code, answer.text
            )
            return None
        sid: str = answer.json()["sid"]
        self.placed.append(sid)
        logger.info("hotline caller %s rings (presses %r) as %s", call.sender, call.digits or "nothing", sid)
        return sid

    async def run(self) -> None:
        """Call, wait a random gap, call again, until cancelled."""
        while True:
            await asyncio.sleep(next_gap_s(self.rng, self.per_hour))
            await self.place(plan_call(self.rng, self.numbers))


async def demo_caller_numbers(settings: Settings) -> list[str]:
    """The phone numbers of the demo elders and their contacts, sorted (the seed picks among them)."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            elders = await session.scalars(select(Elder.phone).where(Elder.phone.is_not(None)))
            contacts = await session.scalars(select(Contact.phone))
            return sorted({phone for phone in [*elders, *contacts] if phone and phone.startswith("+")})
    finally:
        await engine.dispose()


async def run_demo_hotline_callers(
    settings: Settings, fake: FakeTwilio, *, per_hour: float = CALLS_PER_HOUR, seed: int = DEMO_SEED
) -> None:
    """The demo's callers: a few calls an hour from the demo elders and contacts, until cancelled."""
    numbers = await demo_caller_numbers(settings)
    if not numbers:
        logger.info("demo: no elder or contact has a phone number; no hotline callers")
        return
    logger.info("demo: %d numbers call the hotline about %.0f times an hour", len(numbers), per_hour)
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=10) as client:
        await HotlineCallers(client, numbers, per_hour=per_hour, seed=seed).run()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m simulators.hotline_callers", description=__doc__)
    parser.add_argument("--twilio", default="http://127.0.0.1:8790", help="the fake Twilio's base URL")
    parser.add_argument("--number", action="append", required=True, help="a caller's number (repeat)")
    parser.add_argument("--hotline", default=None, help="the number they dial (default: the fake's)")
    parser.add_argument("--per-hour", type=float, default=CALLS_PER_HOUR)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=args.twilio, timeout=10) as client:
        callers = HotlineCallers(
            client, args.number, per_hour=args.per_hour, seed=args.seed, hotline=args.hotline
        )
        running = asyncio.create_task(callers.run())
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, running.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await running


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
