"""The service desk's timer: every `DISPATCH_DESK_TICK_SECONDS` it makes the orders of recurring plans and
offers every order nobody has offered yet, escalates orders nobody accepted in time, opens the follow-ups
owed, schedules and escalates care calls, escalates overdue complaints and flags providers below the
quality thresholds. Every step is idempotent, so every server process may run one. Big steps commit in
batches: on SQLite a transaction holds the database's one write lock, which alarms must never wait for."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.assessments import scheduled as assessments
from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.carecalls import service as care_calls
from dispatch.carecalls.models import CareCall
from dispatch.clock import Clock
from dispatch.complaints import service as complaints
from dispatch.errors import Conflict
from dispatch.followups import service as follow_ups
from dispatch.ledger import check as ledger_check
from dispatch.notify.service import options_for
from dispatch.offers import service as offers
from dispatch.offers.matcher import ProviderMatcher
from dispatch.orders import service as orders
from dispatch.payments import online, reconcile
from dispatch.payments.platform import PaymentPlatform
from dispatch.quality import service as quality
from dispatch.settings import Settings
from dispatch.settlement import service as settlement
from dispatch.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

T = TypeVar("T")
Step = Callable[[], Awaitable[int]]

# Steps that read every elder or every offer run at most this often (seconds); the rest run every tick.
SLOW_STEP_INTERVALS = {
    "care_calls_scheduled": 900.0,
    "providers_flagged": 900.0,
    "reassessments_proposed": 900.0,
    "ledger_checked": 86_400.0,
    "payments_reconciled": 3_600.0,
    "settlements_drafted": 3_600.0,
}
PLAN_BATCH = 10  # plans per transaction (about 30 orders)
CARE_CALL_BATCH = 500  # care calls created per transaction
DISPATCH_BATCH = 10  # orders dispatched (a transaction each) between pauses
# Between batches: SQLite's busy handler sleeps between its tries, so back-to-back transactions could keep
# another writer (an alarm) waiting for many of them.
BATCH_PAUSE_SECONDS = 0.02


class ServiceDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        settings: Settings,
        matcher: ProviderMatcher,
        payment_platform: PaymentPlatform | None = None,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._matcher = matcher
        self._platform = payment_platform
        self._task: asyncio.Task[None] | None = None
        self._last_run: dict[str, float] = {}

    def _steps(self) -> dict[str, Step]:
        clock, settings = self._clock, self._settings
        return {
            "plan_orders": self.plan_orders,
            "orders_dispatched": self.dispatch_new_orders,
            "orders_escalated": lambda: self._in_transaction(
                lambda s: orders.escalate_unaccepted(
                    session=s, clock=clock, before_minutes=settings.order_escalate_before_minutes
                )
            ),
            "follow_ups_created": lambda: self._in_transaction(
                lambda s: follow_ups.create_due(session=s, clock=clock, rules=follow_ups.rules_for(settings))
            ),
            "care_calls_scheduled": self.schedule_care_calls,
            "care_calls_escalated": lambda: self._in_transaction(
                lambda s: care_calls.escalate_due(session=s, clock=clock, settings=settings)
            ),
            "complaints_escalated": lambda: self._in_transaction(
                lambda s: complaints.escalate_overdue(session=s, clock=clock)
            ),
            "assessments_overdue": lambda: self._in_transaction(
                lambda s: assessments.alert_overdue(session=s, clock=clock)
            ),
            "reassessments_proposed": lambda: self._in_transaction(
                lambda s: assessments.propose_reassessments(session=s, clock=clock)
            ),
            "payments_closed": lambda: self._in_transaction(
                lambda s: online.close_expired(session=s, clock=clock, platform=self._platform)
            ),
            "payments_reconciled": lambda: self._in_transaction(
                lambda s: reconcile.yesterday(session=s, clock=clock, platform=self._platform)
            ),
            "settlements_drafted": lambda: self._in_transaction(
                lambda s: settlement.draft_last_month(session=s, clock=clock, settings=settings)
            ),
            "ledger_checked": lambda: self._in_transaction(
                lambda s: ledger_check.check_and_alert(session=s, clock=clock)
            ),
            "providers_flagged": lambda: self._in_transaction(
                lambda s: quality.flag_providers(session=s, clock=clock, settings=settings)
            ),
        }

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

    async def plan_orders(self) -> int:
        """The orders of the recurring plans up to the horizon, a batch of plans per transaction."""
        made = 0
        while True:
            run = await self._in_transaction(
                lambda s: orders.generate_from_plans(
                    session=s,
                    clock=self._clock,
                    horizon_days=self._settings.plan_horizon_days,
                    max_plans=PLAN_BATCH,
                )
            )
            made += len(run.orders)
            if run.plans < PLAN_BATCH:
                return made
            await asyncio.sleep(BATCH_PAUSE_SECONDS)

    async def dispatch_new_orders(self) -> int:
        """Offer the orders nobody has offered yet (from plans and elders' apps), one transaction each."""
        dispatched = 0
        order_ids = await self._in_transaction(lambda s: orders.undispatched(session=s))
        for count, order_id in enumerate(order_ids, start=1):
            try:
                await self._in_transaction(functools.partial(self._dispatch, order_id=order_id))
                dispatched += 1
            except Conflict:
                logger.debug("service order %d was dispatched by another process", order_id)
            except Exception:
                logger.exception("service order %d could not be dispatched", order_id)
            if count % DISPATCH_BATCH == 0:
                await asyncio.sleep(BATCH_PAUSE_SECONDS)
        return dispatched

    async def _dispatch(self, session: AsyncSession, *, order_id: int) -> None:
        order = await orders.get(session=session, order_id=order_id)
        await orders.dispatch(
            session=session,
            clock=self._clock,
            actor=orders.SYSTEM,
            order_id=order_id,
            match=orders.matcher_for(session, self._matcher),
            policy=offers.policy_for(self._settings, order.service_type),
            options=options_for(self._settings),
        )

    async def schedule_care_calls(self) -> int:
        """This week's and this month's missing care calls: planned from one read, stored a batch per
        transaction."""
        await self._in_transaction(
            lambda s: care_calls.cancel_for_inactive_elders(session=s, clock=self._clock)
        )
        planned = await self._in_transaction(lambda s: care_calls.plan_schedule(session=s, clock=self._clock))
        for start in range(0, len(planned), CARE_CALL_BATCH):
            await self._in_transaction(_adding(planned[start : start + CARE_CALL_BATCH]))
            await asyncio.sleep(BATCH_PAUSE_SECONDS)
        return len(planned)

    def _due(self, name: str) -> bool:
        """Every step on the first tick; a slow step again once its interval has passed."""
        interval = SLOW_STEP_INTERVALS.get(name, 0.0)
        last = self._last_run.get(name)
        return last is None or self._clock.monotonic() - last >= interval

    async def run_once(self) -> dict[str, int]:
        """Run every step that is due; returns what each did (-1: it failed, logged; the rest still ran)."""
        done: dict[str, int] = {}
        for name, step in self._steps().items():
            if not self._due(name):
                continue
            self._last_run[name] = self._clock.monotonic()
            try:
                done[name] = await step()
            except Exception:
                logger.exception("service desk step %s failed", name)
                done[name] = -1
        if any(done.values()):
            logger.info("service desk: %s", {k: v for k, v in done.items() if v})
        return done

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="service-desk")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.desk_tick_seconds)
            await self.run_once()


def _adding(calls: list[CareCall]) -> Callable[[AsyncSession], Awaitable[int]]:
    """The transaction's work of storing one batch of planned care calls."""

    async def add(session: AsyncSession) -> int:
        return await care_calls.add_calls(session=session, calls=calls)

    return add
