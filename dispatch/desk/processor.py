"""The service desk's timer: every `DISPATCH_DESK_TICK_SECONDS` it makes the orders of recurring plans and
dispatches them, escalates orders nobody accepted in time, opens the follow-ups owed, schedules and
escalates care calls, escalates overdue complaints and flags providers below the quality thresholds.
Each step is its own transaction and is idempotent, so every server process may run one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.bus.base import EventBus
from dispatch.bus.outbox import commit_and_publish, discard_announced
from dispatch.carecalls import service as care_calls
from dispatch.clock import Clock
from dispatch.complaints import service as complaints
from dispatch.followups import service as follow_ups
from dispatch.notify.service import options_for
from dispatch.offers import service as offers
from dispatch.offers.matcher import ProviderMatcher
from dispatch.orders import service as orders
from dispatch.quality import service as quality
from dispatch.settings import Settings

logger = logging.getLogger(__name__)

Step = Callable[[AsyncSession], Awaitable[int]]


class ServiceDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        clock: Clock,
        settings: Settings,
        matcher: ProviderMatcher,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._matcher = matcher
        self._task: asyncio.Task[None] | None = None

    def _steps(self) -> dict[str, Step]:
        clock, settings = self._clock, self._settings
        return {
            "plan_orders": self._plan_orders,
            "orders_dispatched": self._dispatch_new_orders,
            "orders_escalated": lambda s: orders.escalate_unaccepted(
                session=s, clock=clock, before_minutes=settings.order_escalate_before_minutes
            ),
            "follow_ups_created": lambda s: follow_ups.create_due(
                session=s, clock=clock, rules=follow_ups.rules_for(settings)
            ),
            "care_calls_scheduled": lambda s: care_calls.schedule(session=s, clock=clock),
            "care_calls_escalated": lambda s: care_calls.escalate_due(
                session=s, clock=clock, settings=settings
            ),
            "complaints_escalated": lambda s: complaints.escalate_overdue(session=s, clock=clock),
            "providers_flagged": lambda s: quality.flag_providers(session=s, clock=clock, settings=settings),
        }

    async def _plan_orders(self, session: AsyncSession) -> int:
        created = await orders.generate_from_plans(
            session=session, clock=self._clock, horizon_days=self._settings.plan_horizon_days
        )
        return len(created)

    async def _dispatch_new_orders(self, session: AsyncSession) -> int:
        """Offer the orders nobody has offered yet (from plans and elders' apps) to a provider."""
        order_ids = await orders.undispatched(session=session)
        for order_id in order_ids:
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
        return len(order_ids)

    async def run_once(self) -> dict[str, int]:
        """Run every step once; returns what each did. A failing step is logged and does not stop the rest."""
        done: dict[str, int] = {}
        for name, step in self._steps().items():
            async with self._sessions() as session:
                try:
                    done[name] = await step(session)
                    await commit_and_publish(session, self._bus)
                except Exception:
                    discard_announced(session)
                    await session.rollback()
                    logger.exception("service desk step %s failed", name)
                    done[name] = -1
        if any(done.values()):
            logger.info("service desk: %s", {k: v for k, v in done.items() if v})
        return done

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="service-desk")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.desk_tick_seconds)
            await self.run_once()
