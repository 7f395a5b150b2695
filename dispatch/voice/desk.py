"""The hotline's running part: rings agents and targets through the telephony once the database says
so, and a timer (every `DISPATCH_VOICE_TICK_SECONDS`) that offers waiting calls to ready agents, moves
unanswered offers on, ends wrap-ups and alerts supervisors about callers waiting too long. Every step is
claimed in the database, so every server process may run one. Work a webhook asks for runs in tracked
background tasks after its commit, so the webhook answers at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.auth.actor import Actor
from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.clock import Clock
from dispatch.settings import Settings
from dispatch.tasks import cancel_and_wait
from dispatch.voice import agents, incall, legs, outbound, reconcile, service
from dispatch.voice.models import PhoneCall, PhoneCallState
from dispatch.voice.reconcile import LegToCheck
from dispatch.voice.service import FINAL_LEG_STATUSES, Actions, Ring, TelephonyRefused
from dispatch.voice.telephony import LegStatus, Telephony, TelephonyFailed, conference_name

logger = logging.getLogger(__name__)

T = TypeVar("T")
VOICE_PATH = "/webhooks/twilio/voice"
MAX_ROUTING_PASSES = 3  # a pass after failed rings tries the next agents; the timer does the rest


class VoiceDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        settings: Settings,
        telephony: Telephony,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self.telephony = telephony
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # --- URLs Twilio calls back on ---------------------------------------------------------------

    def url(self, path: str = "", /, **query: object) -> str:
        """One of our voice webhooks' public URLs (what Twilio signs), with its query."""
        base = self._settings.public_base_url.rstrip("/") + VOICE_PATH + path
        pairs = {k: str(v) for k, v in query.items() if v is not None}
        return base + ("?" + urlencode(pairs) if pairs else "")

    def recording_url(self, phone_call_id: int) -> str:
        return self.url("/recording", phone_call_id=phone_call_id)

    # --- transactions and background work --------------------------------------------------------

    async def _in_transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._sessions() as session:
            try:
                result = await work(session)
                await commit_and_publish(session, self._bus)
            except BaseException:
                discard_announced(session)
                await session.rollback()
                raise
        return result

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `work` in the background, tracked (cancelled on stop), its failure logged."""
        task = asyncio.create_task(self._logged(work, name), name=f"voice-{name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, Any], name: str) -> None:
        try:
            await work
        except Exception:
            logger.exception("voice: %s failed", name)

    async def settle(self) -> None:
        """Wait until the background work (and what it started) is done (tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def carry_out_soon(self, actions: Actions) -> None:
        """After a webhook's commit: do what it asked of the phone network, in the background."""
        if actions:
            self.spawn(self.carry_out(actions), "actions")

    async def route_soon(self) -> None:
        """A call was queued: look for an agent now, not at the next tick."""
        self.spawn(self.route(), "route")

    async def carry_out(self, actions: Actions) -> None:
        for sid in actions.hang_up:
            await self._quietly(self.telephony.hang_up(call_sid=sid), f"hang up {sid}")
        for name, alone in actions.end_conference.items():
            await self._end_conference(name, alone)
        for phone_call_id in actions.dial_target:
            await self.dial_target(phone_call_id)
        if actions.route:
            await self.route()

    async def _end_conference(self, name: str, alone: str | None) -> None:
        try:
            await self.telephony.end_conference(conference=name)
        except TelephonyFailed as exc:
            if alone is None or exc.status != HTTPStatus.NOT_FOUND:
                logger.warning("voice: end %s: %s", name, exc)
                return
            logger.info("voice: %s never started; hanging up %s, who waits in it", name, alone)
            await self._quietly(self.telephony.hang_up(call_sid=alone), f"hang up {alone}")

    @staticmethod
    async def _quietly(request: Awaitable[None], what: str) -> None:
        """A request whose failure changes nothing we hold (a leg already gone, say): logged."""
        try:
            await request
        except TelephonyFailed as exc:
            logger.warning("voice: %s: %s", what, exc)

    # --- offering calls to agents ---------------------------------------------------------------

    async def route(self) -> int:
        """Offer waiting calls to ready agents and ring them; a ring that fails frees the agent (tried for
        that call) and the next pass offers the call to the next agent. Returns the offers rung."""
        rung = 0
        for _ in range(MAX_ROUTING_PASSES):
            rings = await self._in_transaction(
                lambda s: service.make_offers(
                    session=s, clock=self._clock, offer_seconds=self._settings.voice_offer_seconds
                )
            )
            results = [await self._ring(ring) for ring in rings]
            rung += sum(results)
            if all(results):
                break
        return rung

    async def _ring(self, ring: Ring) -> bool:
        query = {"leg": "agent", "phone_call_id": ring.phone_call_id, "operator_id": ring.operator_id}
        try:
            sid = await self.telephony.dial(
                to=ring.phone,
                url=self.url(**query),
                status_callback=self.url("/status", **query),
                ring_seconds=self._settings.voice_offer_seconds,
            )
        except TelephonyFailed as exc:
            logger.warning(
                "voice: ringing agent %d for call %d failed: %s", ring.operator_id, ring.phone_call_id, exc
            )
            await self._in_transaction(
                lambda s: service.withdraw_offer(
                    session=s,
                    clock=self._clock,
                    phone_call_id=ring.phone_call_id,
                    operator_id=ring.operator_id,
                    back_of_line=False,
                )
            )
            return False
        stored = await self._in_transaction(
            lambda s: service.offer_rung(
                session=s, phone_call_id=ring.phone_call_id, operator_id=ring.operator_id, sid=sid
            )
        )
        if not stored:  # the caller hung up (or it was answered elsewhere) while we dialled
            await self._quietly(self.telephony.hang_up(call_sid=sid), f"hang up stale ring {sid}")
        return True

    # --- the timer -----------------------------------------------------------------------------------

    async def tick(self) -> dict[str, int]:
        """One pass of the timer: expired offers moved on, wrap-ups ended, waiting alerts, offers made."""
        clock, settings = self._clock, self._settings
        expired = await self._in_transaction(lambda s: service.expire_offers(session=s, clock=clock))
        await self.carry_out(Actions(hang_up=expired.hang_up, end_conference=expired.end_conference))
        reconciled = await self.reconcile()
        ready = await self._in_transaction(lambda s: agents.end_wrap_ups(session=s, clock=clock))
        alerted = await self._in_transaction(
            lambda s: service.alert_waiting(
                session=s, clock=clock, after_seconds=settings.voice_wait_alert_seconds
            )
        )
        offered = await self.route()
        return {
            "offers_expired": len(expired.hang_up),
            "lost_statuses": reconciled,
            "wrap_ups_ended": ready,
            "waiting_alerts": alerted,
            "offered": offered,
        }

    async def reconcile(self) -> int:
        """Open calls with no news for a while: their legs looked up at the phone network, a leg found over
        taken as its lost status callback. Returns the legs found over."""
        quiet = await self._in_transaction(
            lambda s: reconcile.claim_quiet_calls(
                session=s, clock=self._clock, quiet_seconds=self._settings.voice_reconcile_seconds
            )
        )
        over = 0
        for leg in quiet:
            try:
                found = await self.telephony.leg_status(call_sid=leg.sid)
            except TelephonyFailed as exc:
                logger.warning("voice: looking up leg %s failed: %s", leg.sid, exc)
                continue
            if found.status in FINAL_LEG_STATUSES:
                await self._lost_status(leg, found)
                over += 1
        return over

    async def _lost_status(self, leg: LegToCheck, found: LegStatus) -> None:
        logger.warning(
            "voice: phone call %d: its %s leg %s is %s but that status never reached us",
            leg.phone_call_id,
            leg.leg,
            leg.sid,
            found.status,
        )
        actions = await self._in_transaction(
            lambda s: legs.leg_status(
                session=s,
                clock=self._clock,
                settings=self._settings,
                leg=leg.leg,
                phone_call_id=leg.phone_call_id,
                operator_id=leg.operator_id,
                sid=leg.sid,
                status=found.status,
                duration_s=found.duration_s,
            )
        )
        await self.carry_out(actions)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="voice-desk")

    async def stop(self) -> None:
        await cancel_and_wait([self._task, *self._background])

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.voice_tick_seconds)
            try:
                await self.tick()
            except Exception:
                logger.exception("voice timer failed; trying again next tick")

    # --- outbound -------------------------------------------------------------------------------------

    async def dial_agent_soon(self, phone_call_id: int, phone: str) -> None:
        """After the dial request's commit: ring the agent in the background."""
        self.spawn(self.dial_agent(phone_call_id, phone), "dial agent")

    async def dial_agent(self, phone_call_id: int, phone: str) -> None:
        """Outbound, first step: ring the agent's own phone (it joins the call's conference, recorded)."""
        query = {"leg": "agent", "phone_call_id": phone_call_id}
        try:
            sid = await self.telephony.dial(
                to=phone,
                url=self.url(**query),
                status_callback=self.url("/status", **query),
                ring_seconds=self._settings.voice_offer_seconds,
            )
        except TelephonyFailed as exc:
            await self._outbound_failed(phone_call_id, f"坐席电话呼叫失败：{exc}")
            return
        await self._in_transaction(
            lambda s: outbound.outbound_agent_rung(session=s, phone_call_id=phone_call_id, sid=sid)
        )

    async def dial_target(self, phone_call_id: int) -> None:
        """Outbound, second step (the agent answered): ring the number they asked for into the conference."""
        phone_call = await self._in_transaction(lambda s: service.get(session=s, phone_call_id=phone_call_id))
        if phone_call.state != PhoneCallState.ringing or phone_call.twilio_sid:
            return
        query = {"leg": "target", "phone_call_id": phone_call_id}
        try:
            sid = await self.telephony.dial(
                to=phone_call.to_number,
                url=self.url(**query),
                status_callback=self.url("/status", **query),
                ring_seconds=self._settings.voice_offer_seconds * 2,
            )
        except TelephonyFailed as exc:
            await self._outbound_failed(phone_call_id, f"呼叫对方失败：{exc}")
            if phone_call.agent_leg_sid:
                await self._quietly(
                    self.telephony.hang_up(call_sid=phone_call.agent_leg_sid), "hang up agent"
                )
            return
        await self._in_transaction(
            lambda s: outbound.outbound_target_rung(session=s, phone_call_id=phone_call_id, sid=sid)
        )

    async def _outbound_failed(self, phone_call_id: int, reason: str) -> None:
        logger.warning("voice: outbound call %d failed: %s", phone_call_id, reason)
        await self._in_transaction(
            lambda s: outbound.outbound_failed(
                session=s,
                clock=self._clock,
                settings=self._settings,
                phone_call_id=phone_call_id,
                reason=reason,
            )
        )

    # --- in-call controls (the request's session: committed before the phone network is asked) ------

    async def _ask(self, session: AsyncSession, request: Awaitable[None]) -> None:
        """Commit what was read and checked (releasing SQLite's write lock), then ask the phone network."""
        await commit_and_publish(session, self._bus)
        try:
            await request
        except TelephonyFailed as exc:
            raise TelephonyRefused(f"the phone network refused: {exc}") from exc

    async def hold(self, *, session: AsyncSession, actor: Actor, phone_call_id: int, on: bool) -> PhoneCall:
        """Put the other side (caller or target) on hold, or take them off."""
        phone_call = await self._talking(session, actor, phone_call_id)
        other = incall.other_side(phone_call)
        if other is None:
            raise TelephonyRefused("nobody to hold yet")
        await self._ask(
            session, self.telephony.set_hold(conference=conference_name(phone_call_id), call_sid=other, on=on)
        )
        incall.announce_held(session, phone_call, on=on)
        return phone_call

    async def mute(self, *, session: AsyncSession, actor: Actor, phone_call_id: int, on: bool) -> PhoneCall:
        """Mute or unmute the agent's own leg."""
        phone_call = await self._talking(session, actor, phone_call_id)
        if phone_call.agent_leg_sid is None:
            raise TelephonyRefused("the agent is not on the line")
        leg = phone_call.agent_leg_sid
        await self._ask(
            session, self.telephony.set_muted(conference=conference_name(phone_call_id), call_sid=leg, on=on)
        )
        incall.announce_muted(session, phone_call, on=on)
        return phone_call

    async def add_party(
        self, *, session: AsyncSession, actor: Actor, phone_call_id: int, number: str, label: str
    ) -> PhoneCall:
        """Ring another number (a contact, a provider, 120) into the call's conference."""
        phone_call = await self._talking(session, actor, phone_call_id)
        query = {"leg": "party", "phone_call_id": phone_call_id}
        dialled = self.telephony.dial(
            to=number,
            url=self.url(**query),
            status_callback=self.url("/status", **query),
            ring_seconds=self._settings.voice_offer_seconds * 2,
        )
        await self._ask(session, _ignore_result(dialled))
        await incall.note_party(
            session=session, clock=self._clock, actor=actor, phone_call=phone_call, label=label
        )
        return phone_call

    async def transfer(
        self, *, session: AsyncSession, actor: Actor, phone_call_id: int, operator_id: int
    ) -> PhoneCall:
        """Ring another agent into the call; when they answer they take it over (the first agent's leg is
        hung up and goes to wrap-up)."""
        phone_call, phone = await incall.start_transfer(
            session=session,
            clock=self._clock,
            actor=actor,
            phone_call_id=phone_call_id,
            operator_id=operator_id,
        )
        query = {"leg": "transfer", "phone_call_id": phone_call_id, "operator_id": operator_id}
        dialled = self.telephony.dial(
            to=phone,
            url=self.url(**query),
            status_callback=self.url("/status", **query),
            ring_seconds=self._settings.voice_offer_seconds,
        )
        try:
            await self._ask(session, _ignore_result(dialled))
        except TelephonyRefused:
            await self._in_transaction(
                lambda s: incall.transfer_failed(
                    session=s, clock=self._clock, phone_call_id=phone_call_id, operator_id=operator_id
                )
            )
            raise
        return phone_call

    async def hang_up(self, *, session: AsyncSession, actor: Actor, phone_call_id: int) -> PhoneCall:
        """End the call: the conference ends (every leg), the status callbacks then close the record; a
        call still ringing the other side is simply stopped."""
        phone_call = await incall.controlled(session=session, actor=actor, phone_call_id=phone_call_id)
        if phone_call.state == PhoneCallState.ended:
            return phone_call
        legs = [sid for sid in (phone_call.agent_leg_sid, phone_call.twilio_sid) if sid]
        if phone_call.state == PhoneCallState.talking:
            await self._ask(session, self.telephony.end_conference(conference=conference_name(phone_call_id)))
        else:
            await commit_and_publish(session, self._bus)
            for sid in legs:
                await self._quietly(self.telephony.hang_up(call_sid=sid), f"hang up {sid}")
        return await service.get(session=session, phone_call_id=phone_call_id)

    async def _talking(self, session: AsyncSession, actor: Actor, phone_call_id: int) -> PhoneCall:
        phone_call = await incall.controlled(session=session, actor=actor, phone_call_id=phone_call_id)
        if phone_call.state != PhoneCallState.talking:
            raise TelephonyRefused(f"phone call {phone_call_id} is {phone_call.state.value}, not in progress")
        return phone_call


async def _ignore_result(request: Awaitable[str]) -> None:
    await request
