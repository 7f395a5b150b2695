"""Simulated franchised providers (加盟商) answering SMS offers through the fake Twilio's control endpoints.

    python -m simulators.provider --twilio http://127.0.0.1:8790 --our-number +8659112349 \\
        --provider +8613900000001=accept:3 --provider +8613900000002=silent --default accept:5

It long-polls `GET /_fake/messages` for what our server texts, from the end of the list when it starts,
so it works against an in-process `FakeTwilio` and a standalone `python -m simulators.fake_twilio` alike.
An offer is recognised by its reply instructions, whatever the rest of the wording: it asks for an accept
and a decline reply with the same 4-digit code (`接 4821` and `拒 4821`, or `Y 4821` and `N 4821`).
Each offer to a simulated provider is answered through `POST /_fake/inbound` as its `Behaviour` says, in
the offer's language: accept (`接 CODE`, later `到 CODE`, later `完成 CODE`), decline (`拒 CODE`), garbage
(text nobody can read) or silent (nothing). A later message to the same provider that names the code
without asking for any reply is a withdrawal (the job went to someone else or was cancelled): the replies
not yet sent for that code are dropped. Confirmations, help texts and messages to other numbers are
ignored. Behaviour specs on the command line: `KIND[:ANSWER_AFTER_S[:ARRIVE_AFTER_S[:DONE_AFTER_S]]]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, cast, get_args
from zoneinfo import ZoneInfo

import httpx

from dispatch.tasks import set_within

__all__ = [
    "Answer",
    "Behaviour",
    "OfferSms",
    "SimulatedProviders",
    "asks_for_reply",
    "read_offer",
    "withdraws",
]

logger = logging.getLogger(__name__)

Kind = Literal["accept", "decline", "silent", "garbage"]
Language = Literal["zh", "en"]
KINDS: tuple[Kind, ...] = get_args(Kind)
LANGUAGES: tuple[Language, ...] = get_args(Language)

# The reply words our offers ask for, per language; a code is 4 to 6 digits not part of a longer number.
_CODE = r"\s*(\d{4,6})(?!\d)"
_ACCEPT = {"zh": re.compile("接" + _CODE), "en": re.compile(r"(?<![A-Za-z])Y" + _CODE)}
_DECLINE = {"zh": re.compile("拒" + _CODE), "en": re.compile(r"(?<![A-Za-z])N" + _CODE)}
_ANY_REPLY = re.compile(r"(?:接|拒|到|完成|(?<![A-Za-z])[YNAD])" + _CODE)
_NUMBERS = re.compile(r"(?<!\d)\d{4,6}(?!\d)")

REPLIES: dict[Language, dict[str, str]] = {
    "zh": {"accept": "接 {code}", "decline": "拒 {code}", "arrived": "到 {code}", "done": "完成 {code}"},
    "en": {"accept": "Y {code}", "decline": "N {code}", "arrived": "A {code}", "done": "D {code}"},
}
GARBAGE: dict[Language, str] = {"zh": "收到，马上安排", "en": "OK, on my way"}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one provider answers offers; the times are seconds (arrival after the accept, done after it)."""

    kind: Kind
    answer_after_s: float = 0.0
    arrive_after_s: float = 0.0
    done_after_s: float = 0.0
    keeps_window: bool = False  # a service order's arrival counts from its window's start, not the accept

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"behaviour kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if min(self.answer_after_s, self.arrive_after_s, self.done_after_s) < 0:
            raise ValueError("behaviour times must be >= 0")

    @classmethod
    def parse(cls, spec: str) -> Behaviour:
        """`accept:3:60:600` (kind, answer, arrive, done seconds; missing times are 0) → Behaviour."""
        kind, *times = spec.strip().split(":")
        if len(times) > 3:
            raise ValueError(f"too many times in {spec!r}: KIND[:ANSWER[:ARRIVE[:DONE]]]")
        try:
            seconds = [float(value) for value in times]
        except ValueError:
            raise ValueError(f"times must be numbers of seconds in {spec!r}") from None
        answer, arrive, done = [*seconds, 0.0, 0.0, 0.0][:3]
        return cls(cast(Kind, kind), answer, arrive, done)

    def __str__(self) -> str:
        """The spec `parse` reads: `accept:3:60:600`."""
        times = (self.answer_after_s, self.arrive_after_s, self.done_after_s)
        return ":".join([self.kind, *(f"{t:g}" for t in times)])


@dataclass(frozen=True, slots=True)
class OfferSms:
    """What the simulator reads from an offer: its job code, language and, for a service order, when its
    window starts (the offer's `MM-DD HH:MM`, Shanghai time)."""

    code: str
    language: Language
    window_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A reply sent: from which phone, what, when (the simulator's clock) and the SMS webhook's status."""

    phone: str
    body: str
    at: float
    status: int


_LINK = re.compile(r"https?://\S+")


def _normalised(text: str) -> str:
    """Full-width digits and letters as ASCII (NFKC), as the server reads replies; links (the offer's job page)
    left out, so a token's characters are never read as a reply word and a code."""
    return _LINK.sub(" ", unicodedata.normalize("NFKC", text))


def read_offer(text: str) -> OfferSms | None:
    """An offer: it asks for an accept and a decline reply with the same code; anything else → None."""
    normalised = _normalised(text)
    for language in LANGUAGES:
        accept = {m[1] for m in _ACCEPT[language].finditer(normalised)}
        decline = {m[1] for m in _DECLINE[language].finditer(normalised)}
        codes = sorted(accept & decline)
        if codes:
            return OfferSms(codes[0], language, window_start(normalised))
    return None


_WINDOW = re.compile(r"(?<!\d)(\d{2})-(\d{2}) (\d{2}):(\d{2})-\d{2}:\d{2}")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def window_start(text: str, now: datetime | None = None) -> datetime | None:
    """The start of a service window `11-24 09:00-11:00` in an offer, in the coming year; None without one."""
    found = _WINDOW.search(text)
    if found is None:
        return None
    month, day, hour, minute = map(int, found.groups())
    today = (now or datetime.now(UTC)).astimezone(SHANGHAI)
    try:
        start = datetime(today.year, month, day, hour, minute, tzinfo=SHANGHAI)
    except ValueError:
        return None
    return start.replace(year=today.year + 1) if start < today - timedelta(days=180) else start


def asks_for_reply(text: str) -> bool:
    """Whether the text shows a reply to send (`接 1234`, `Y 1234`, `到 1234`...): offers, confirmations, help."""
    return _ANY_REPLY.search(_normalised(text)) is not None


def withdraws(text: str, code: str) -> bool:
    """A withdrawal of `code`: the text names the code without asking for any reply."""
    normalised = _normalised(text)
    return code in _NUMBERS.findall(normalised) and not asks_for_reply(normalised)


@dataclass
class _Job:
    """One offer being answered: its task and the withdrawal that stops it."""

    offer: OfferSms
    withdrawn: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class SimulatedProviders:
    """Answers the offers texted to simulated providers' phones, each as its behaviour says."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        our_number: str,
        behaviours: Mapping[str, Behaviour],
        default: Behaviour | None = None,
        *,
        poll_wait_s: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.our_number = our_number
        self.behaviours = dict(behaviours)
        self.default = default
        self.poll_wait_s = poll_wait_s
        self.clock = clock
        self.answers: list[Answer] = []
        self.offers_seen = 0
        self.ready = asyncio.Event()  # set once the end of the message list is known: later offers count
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> int:
        """How many offers still have replies to come."""
        return len(self._tasks)

    def behaviour_of(self, phone: str) -> Behaviour | None:
        """The phone's behaviour, the default for other phones, None for phones left alone."""
        return self.behaviours.get(phone, self.default)

    async def run(self) -> None:
        """Answer offers until cancelled (the scheduled replies are cancelled with it)."""
        try:
            since = await self._current_end()
            self.ready.set()
            while True:
                since = await self._poll(since)
        finally:
            await self._cancel_all()

    async def _current_end(self) -> int:
        """The index of the last message the fake holds now (0 when none), retrying until it answers."""
        beyond = 2**62
        while True:
            try:
                response = await self.client.get("/_fake/messages", params={"since": beyond, "wait": 0})
                response.raise_for_status()
            except httpx.HTTPError as exc:
                logger.warning("fake Twilio not reachable (%r); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            last = int(response.json()["last_index"])
            return 0 if last >= beyond else last

    async def _poll(self, since: int) -> int:
        """One long poll for messages after `since`; handles them and returns the new position."""
        params = {"since": since, "wait": self.poll_wait_s}
        try:
            response = await self.client.get("/_fake/messages", params=params, timeout=self.poll_wait_s + 10)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("polling the fake Twilio failed (%r); retrying", exc)
            await asyncio.sleep(1.0)
            return since
        for message in response.json()["items"]:
            since = max(since, int(message["index"]))
            self.handle(message)
        return since

    def handle(self, message: Mapping[str, object]) -> None:
        """React to one outbound message the fake recorded (a `/_fake/messages` item)."""
        phone, body = str(message.get("to") or ""), str(message.get("body") or "")
        behaviour = self.behaviour_of(phone)
        if behaviour is None:
            return
        offer = read_offer(body)
        if offer is None:
            self._maybe_withdraw(phone, body)
            return
        self.offers_seen += 1
        self._start(phone, offer, behaviour)

    def _maybe_withdraw(self, phone: str, body: str) -> None:
        """Stop the replies of every code of this phone the message withdraws."""
        for (to, code), job in list(self._jobs.items()):
            if to == phone and withdraws(body, code):
                logger.info("%s: job %s withdrawn; no further replies", phone, code)
                job.withdrawn.set()
                del self._jobs[(to, code)]

    def _start(self, phone: str, offer: OfferSms, behaviour: Behaviour) -> None:
        """Schedule the answers to an offer."""
        if behaviour.kind == "silent":
            logger.info("%s: offer %s, staying silent", phone, offer.code)
            return
        logger.info(
            "%s: offer %s (%s), %s in %.2f s",
            phone,
            offer.code,
            offer.language,
            behaviour.kind,
            behaviour.answer_after_s,
        )
        job = _Job(offer)
        self._jobs[(phone, offer.code)] = job
        job.task = asyncio.create_task(
            self._answer(phone, job, behaviour), name=f"provider {phone} {offer.code}"
        )
        self._tasks.add(job.task)
        job.task.add_done_callback(lambda task: self._finished(phone, job, task))

    def _finished(self, phone: str, job: _Job, task: asyncio.Task[None]) -> None:
        """Forget a finished job; log a failure."""
        self._tasks.discard(task)
        if self._jobs.get((phone, job.offer.code)) is job:
            del self._jobs[(phone, job.offer.code)]
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: answering job %s failed", phone, job.offer.code, exc_info=task.exception())

    async def _answer(self, phone: str, job: _Job, behaviour: Behaviour) -> None:
        """Send the behaviour's replies on schedule, stopping at a withdrawal."""
        words = REPLIES[job.offer.language]
        if behaviour.kind == "garbage":
            steps = [(behaviour.answer_after_s, GARBAGE[job.offer.language])]
        elif behaviour.kind == "decline":
            steps = [(behaviour.answer_after_s, words["decline"])]
        else:
            steps = [
                (behaviour.answer_after_s, words["accept"]),
                (self._arrival_delay(job.offer, behaviour), words["arrived"]),
                (behaviour.done_after_s, words["done"]),
            ]
        for delay, text in steps:
            if await _withdrawn_within(job.withdrawn, delay):
                return
            await self.reply(phone, text.format(code=job.offer.code))

    @staticmethod
    def _arrival_delay(offer: OfferSms, behaviour: Behaviour) -> float:
        """Seconds from the accept to the arrival: to the window's start and then `arrive_after_s` when the
        provider keeps windows and the offer has one still ahead, else `arrive_after_s`."""
        if not (behaviour.keeps_window and offer.window_start):
            return behaviour.arrive_after_s
        until_window = (offer.window_start - datetime.now(UTC)).total_seconds() - behaviour.answer_after_s
        return max(0.0, until_window) + behaviour.arrive_after_s

    async def reply(self, phone: str, body: str) -> Answer:
        """Text our number from `phone` through the fake Twilio and record the answer."""
        try:
            response = await self.client.post(
                "/_fake/inbound", json={"from": phone, "to": self.our_number, "body": body}, timeout=30
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            logger.warning("%s: could not send %r (%r)", phone, body, exc)
            status = 0
        answer = Answer(phone, body, self.clock(), status)
        self.answers.append(answer)
        logger.info("%s: replied %r (webhook answered %d)", phone, body, status)
        return answer

    async def _cancel_all(self) -> None:
        """Cancel the replies still scheduled."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()


async def _withdrawn_within(withdrawn: asyncio.Event, delay: float) -> bool:
    """Wait `delay` seconds unless the job is withdrawn first; whether it was."""
    if withdrawn.is_set():
        return True
    if delay > 0:
        await set_within(withdrawn, delay)
    return withdrawn.is_set()


# ---------------------------------------------------------------- command line


def _provider_arg(value: str) -> tuple[str, Behaviour]:
    """`+8613900000001=accept:3` → (phone, Behaviour)."""
    phone, sep, spec = value.partition("=")
    if not sep or not phone.strip():
        raise argparse.ArgumentTypeError(f"expected PHONE=KIND[:SECONDS...], got {value!r}")
    try:
        return phone.strip(), Behaviour.parse(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _behaviour_arg(value: str) -> Behaviour:
    """A `--default` behaviour spec."""
    try:
        return Behaviour.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.provider",
        description="Simulated providers answering offers through the fake Twilio.",
        epilog="Behaviour: KIND[:ANSWER_AFTER_S[:ARRIVE_AFTER_S[:DONE_AFTER_S]]], KIND one of "
        + ", ".join(KINDS),
    )
    parser.add_argument("--twilio", default="http://127.0.0.1:8790", help="the fake Twilio's base URL")
    parser.add_argument("--our-number", required=True, help="our SMS number (DISPATCH_TWILIO_FROM)")
    parser.add_argument(
        "--provider", type=_provider_arg, action="append", default=[], metavar="PHONE=BEHAVIOUR"
    )
    parser.add_argument("--default", type=_behaviour_arg, default=None, help="for phones not listed")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=args.twilio, trust_env=False) as client:
        providers = SimulatedProviders(client, args.our_number, dict(args.provider), args.default)
        running = asyncio.create_task(providers.run())
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, running.cancel)
        listed = ", ".join(f"{phone}={b}" for phone, b in providers.behaviours.items()) or "none"
        others = args.default or "left alone"
        print(f"providers answering offers via {args.twilio}: {listed}; other phones: {others}", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await running
        print(
            f"stopped after {providers.offers_seen} offers and {len(providers.answers)} replies", flush=True
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per long poll says nothing
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
