"""Service orders: taken by an agent, raised by an elder's app, or generated from recurring plans;
dispatched through the offers of the dispatcher (one provider at a time, in the order's window);
cancelled or failed with a reason; escalated to the agents when nobody has accepted well before the
window starts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import reasons
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.catalog import ServiceType
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Elder, HealthRecord, SubsidyCategory
from dispatch.errors import Conflict, DomainError, InvalidTransition, NotFound, ValidationFailed
from dispatch.localtime import at_local, local_date
from dispatch.matching import MatchResult
from dispatch.matching.qualifications import required_for
from dispatch.notify.service import SmsOptions
from dispatch.offers import service as offers
from dispatch.offers.matcher import ProviderMatcher
from dispatch.offers.models import Job
from dispatch.orders import progress
from dispatch.orders.models import (
    OPEN_ORDER_STATES,
    OrderSource,
    OrderState,
    PaymentMethod,
    RecurringPlan,
    ServiceOrder,
)
from dispatch.orders.recurrence import Recurrence, occurrences
from dispatch.orders.schemas import OrderCreate, PlanCreate

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("service-desk")
# An order taken shortly before its window first gives its offers this long before it is escalated.
FRESH_ORDER_GRACE = timedelta(minutes=10)
ELDER_APP = Actor.system("elder-app")

# Matches providers for a service type at a place, for a moment (the window's start), among those holding
# the qualifications the elder's care needs.
Matcher = Callable[[ServiceType, float, float, datetime, frozenset[str]], Awaitable[MatchResult]]


def matcher_for(session: AsyncSession, matcher: ProviderMatcher) -> Matcher:
    """The process's provider matcher, reading through this session."""

    async def match(
        service_type: ServiceType, lon: float, lat: float, at: datetime, requires: frozenset[str]
    ) -> MatchResult:
        return await matcher.match(
            session=session, service_type=service_type, lon=lon, lat=lat, at=at, requires=requires
        )

    return match


def payment_method_for(elder: Elder) -> PaymentMethod:
    """Subsidised groups are paid by the subsidy; the exact split is the payment module's business."""
    subsidised = [c for c in elder.subsidy_categories if c != SubsidyCategory.self_paying.value]
    return PaymentMethod.subsidy if subsidised else PaymentMethod.self_pay


async def _elder(session: AsyncSession, elder_id: int) -> Elder:
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found")
    return elder


async def create(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    data: OrderCreate,
    plan_id: int | None = None,
) -> ServiceOrder:
    """Record a requested order (not yet dispatched)."""
    elder = await _elder(session, data.elder_id)
    if data.window_end <= clock.now():
        raise ValidationFailed("the requested window is already over", reason="window_over")
    now = clock.now()
    order = ServiceOrder(
        elder_id=elder.id,
        elder_name=elder.name,
        service_type=data.service_type,
        source=data.source,
        plan_id=plan_id,
        state=OrderState.requested,
        window_start=data.window_start,
        window_end=data.window_end,
        address=data.address or elder.address,
        lon=elder.home_lon,
        lat=elder.home_lat,
        notes=data.notes,
        payment_method=payment_method_for(elder),
        escalation_reason="",
        escalation_code="",
        escalation_params={},
        reason="",
        history=[],
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    progress.note(order, clock, actor, "requested", source=data.source.value)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="order.create",
        entity_type="service_order",
        entity_id=order.id,
        detail={"elder_id": elder.id, "service_type": data.service_type.value},
    )
    progress.announce_order(session, order, clock)
    return order


async def take_app_request(
    *, session: AsyncSession, clock: Clock, elder_id: int, request: dict[str, Any]
) -> ServiceOrder | None:
    """An order the elder raised in the phone app (the service desk's timer dispatches it). A request that
    cannot be taken (its window is over, the elder is gone) is logged; the device event stays stored."""
    try:
        data = OrderCreate.model_validate(
            {**request.get("service_request", {}), "elder_id": elder_id, "source": "app"}
        )
        return await create(session=session, clock=clock, actor=ELDER_APP, data=data)
    except (PydanticValidationError, DomainError) as exc:
        logger.warning("service request from elder %d's app not taken: %s", elder_id, exc)
        return None


async def undispatched(*, session: AsyncSession) -> list[int]:
    """Requested orders never offered to anyone (from plans and apps): the timer dispatches them."""
    rows = await session.scalars(
        select(ServiceOrder.id)
        .where(
            ServiceOrder.state == OrderState.requested,
            ServiceOrder.job_id.is_(None),
            ServiceOrder.escalated_at.is_(None),
        )
        .order_by(ServiceOrder.window_start)
    )
    return list(rows)


async def get(*, session: AsyncSession, order_id: int) -> ServiceOrder:
    order = await session.get(ServiceOrder, order_id)
    if order is None:
        raise NotFound(f"service order {order_id} not found")
    return order


async def dispatch(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    order_id: int,
    match: Matcher,
    policy: offers.DispatchPolicy,
    options: SmsOptions,
) -> Job:
    """Offer a requested order to the nearest eligible providers open at its window, one at a time.
    The order is claimed first (Conflict if another process or agent dispatched it meanwhile)."""
    order = await get(session=session, order_id=order_id)
    if order.state != OrderState.requested:
        raise InvalidTransition(
            f"an order that is {order.state.value} cannot be dispatched",
            reason="order_not_dispatchable",
            params={"state": order.state.value},
        )
    await _claim_for_dispatch(session, order)
    elder = await _elder(session, order.elder_id)
    health = await session.get(HealthRecord, order.elder_id)
    requires = required_for(order.service_type, health.self_care_ability if health else 0)
    result = await match(order.service_type, order.lon, order.lat, order.window_start, requires)
    request = offers.JobRequest(
        call_id=None,
        order_id=order.id,
        elder=elder,
        service_type=order.service_type,
        lon=order.lon,
        lat=order.lat,
        address=order.address,
        window=progress.window_text(order),
        parallel=policy.parallel,
        timeout_seconds=policy.timeout_seconds,
        ranking=[offers.plain(asdict(r)) for r in result.ranked],
        exclusions=[offers.plain(asdict(e)) for e in result.excluded],
    )
    order.escalated_at, order.escalation_reason = None, ""
    order.escalation_code, order.escalation_params = "", {}
    return await offers.start(session=session, clock=clock, actor=actor, request=request, options=options)


async def _claim_for_dispatch(session: AsyncSession, order: ServiceOrder) -> None:
    """Lock the order for this transaction if it is still requested with the job we read (none, or the
    one that failed): whoever dispatches second finds it changed."""
    claimed = await session.execute(
        update(ServiceOrder)
        .where(
            ServiceOrder.id == order.id,
            ServiceOrder.state == OrderState.requested,
            ServiceOrder.job_id.is_not_distinct_from(order.job_id),
        )
        .values(updated_at=ServiceOrder.updated_at)
        .returning(ServiceOrder.id)
    )
    if claimed.scalar() is None:
        raise Conflict(f"service order {order.id} was dispatched by someone else meanwhile")
    await session.refresh(order)


async def cancel(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    order_id: int,
    reason: str,
    options: SmsOptions,
    failed: bool = False,
) -> ServiceOrder:
    """Cancel an open order (or record it failed); its offers are withdrawn and the providers told."""
    order = await get(session=session, order_id=order_id)
    if order.state not in OPEN_ORDER_STATES:
        raise InvalidTransition(
            f"an order that is {order.state.value} cannot be cancelled",
            reason="order_not_cancellable",
            params={"state": order.state.value},
        )
    if order.job_id is not None:
        await offers.cancel_job(session=session, clock=clock, job_id=order.job_id, options=options)
    order.state = OrderState.failed if failed else OrderState.cancelled
    order.reason = reason
    progress.note(order, clock, actor, order.state.value, reason)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action=f"order.{order.state.value}",
        entity_type="service_order",
        entity_id=order.id,
        detail={"reason": reason},
    )
    await session.flush()
    progress.announce_order(session, order, clock)
    return order


# ---------------------------------------------------------------- the board


def _view(query: Select[ServiceOrder], view: str, now: datetime) -> Select[ServiceOrder]:
    if view == "today":
        today = local_date(now)
        return query.where(
            ServiceOrder.window_start >= at_local(today, "00:00"),
            ServiceOrder.window_start < at_local(today + timedelta(days=1), "00:00"),
        )
    if view == "closed":
        return query.where(ServiceOrder.state.not_in(tuple(OPEN_ORDER_STATES)))
    open_orders = query.where(ServiceOrder.state.in_(tuple(OPEN_ORDER_STATES)))
    if view == "open":
        return open_orders
    if view == "overdue":
        return open_orders.where(
            or_(
                ServiceOrder.window_end <= now,
                (ServiceOrder.accepted_at.is_(None)) & (ServiceOrder.window_start <= now),
            )
        )
    return query


async def list_orders(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    offset: int,
    view: str = "all",
    state: OrderState | None = None,
    provider_id: int | None = None,
    elder_id: int | None = None,
    q: str | None = None,
) -> tuple[list[ServiceOrder], int]:
    """Orders for the board, by window start: today's, overdue, open or all, with filters; the closed
    ones (the history) latest first."""
    query: Select[ServiceOrder] = _view(select(ServiceOrder), view, now)
    if state:
        query = query.where(ServiceOrder.state == state)
    if provider_id:
        query = query.where(ServiceOrder.provider_id == provider_id)
    if elder_id:
        query = query.where(ServiceOrder.elder_id == elder_id)
    if q:
        query = query.where(ServiceOrder.elder_name.ilike(f"%{q.strip()}%"))
    latest_first = view == "closed"
    order = [
        column.desc() if latest_first else column for column in (ServiceOrder.window_start, ServiceOrder.id)
    ]
    return await fetch_page(session, query, *order, limit=limit, offset=offset)


# ---------------------------------------------------------------- timers


async def escalate_unaccepted(*, session: AsyncSession, clock: Clock, before_minutes: int) -> int:
    """Orders nobody has accepted this close to their window: back to the agents, once each."""
    now = clock.now()
    due = await session.scalars(
        select(ServiceOrder).where(
            ServiceOrder.state.in_((OrderState.requested, OrderState.scheduled)),
            ServiceOrder.accepted_at.is_(None),
            ServiceOrder.escalated_at.is_(None),
            ServiceOrder.window_start <= now + timedelta(minutes=before_minutes),
            ServiceOrder.created_at <= now - FRESH_ORDER_GRACE,
        )
    )
    escalated = 0
    for order in list(due):
        minutes = max(0, round((order.window_start - now).total_seconds() / 60))
        await progress.escalate(
            session=session, clock=clock, order=order, reason=reasons.not_accepted_before_window(minutes)
        )
        progress.note(
            order,
            clock,
            SYSTEM,
            "escalated",
            order.escalation_reason,
            reason_code=order.escalation_code,
            reason_params=order.escalation_params,
        )
        progress.announce_order(session, order, clock)
        escalated += 1
    return escalated


def recurrence_of(plan: RecurringPlan) -> Recurrence:
    return Recurrence(
        frequency=plan.frequency,
        weekdays=frozenset(plan.weekdays),
        month_days=frozenset(plan.month_days),
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
    )


@dataclass(frozen=True, slots=True)
class PlanRun:
    plans: int  # plans brought up to the horizon
    orders: list[ServiceOrder]  # the orders they made


async def generate_from_plans(
    *, session: AsyncSession, clock: Clock, horizon_days: int, max_plans: int | None = None
) -> PlanRun:
    """Create the orders of the active plans (at most `max_plans` of them) up to `horizon_days` ahead
    (local days), each order exactly once."""
    today = local_date(clock.now())
    last = today + timedelta(days=horizon_days)
    plans = await session.scalars(
        select(RecurringPlan)
        .where(
            RecurringPlan.active.is_(True),
            or_(RecurringPlan.generated_until.is_(None), RecurringPlan.generated_until < last),
        )
        .order_by(RecurringPlan.id)
        .limit(max_plans)
    )
    due = list(plans)
    created: list[ServiceOrder] = []
    for plan in due:
        first = max(today, (plan.generated_until or date.min) + timedelta(days=1), plan.starts_on)
        for day in occurrences(recurrence_of(plan), first, last):
            order = await _plan_order(session, clock, plan, day)
            if order is not None:
                created.append(order)
        plan.generated_until = last
        plan.updated_at = clock.now()
    await session.flush()
    return PlanRun(plans=len(due), orders=created)


async def _plan_order(
    session: AsyncSession, clock: Clock, plan: RecurringPlan, day: date
) -> ServiceOrder | None:
    window_start, window_end = at_local(day, plan.start_time), at_local(day, plan.end_time)
    if window_end <= clock.now():
        return None
    exists = await session.scalar(
        select(ServiceOrder.id).where(
            ServiceOrder.plan_id == plan.id, ServiceOrder.window_start == window_start
        )
    )
    if exists is not None:
        return None
    data = OrderCreate(
        elder_id=plan.elder_id,
        service_type=plan.service_type,
        window_start=window_start,
        window_end=window_end,
        notes=plan.notes,
        source=OrderSource.plan,
    )
    return await create(session=session, clock=clock, actor=SYSTEM, data=data, plan_id=plan.id)


async def create_plan(
    *, session: AsyncSession, clock: Clock, actor: Actor, data: PlanCreate
) -> RecurringPlan:
    """A standing request; its orders are generated by the service-desk timer."""
    await _elder(session, data.elder_id)
    now = clock.now()
    plan = RecurringPlan(
        **data.model_dump(),
        active=True,
        generated_until=None,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="plan.create",
        entity_type="recurring_plan",
        entity_id=plan.id,
        detail={"elder_id": data.elder_id, "service_type": data.service_type.value},
    )
    return plan


async def stop_plan(*, session: AsyncSession, clock: Clock, actor: Actor, plan_id: int) -> RecurringPlan:
    """No more orders from this plan (orders already made stay)."""
    plan = await session.get(RecurringPlan, plan_id)
    if plan is None:
        raise NotFound(f"recurring plan {plan_id} not found")
    plan.active, plan.updated_at = False, clock.now()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="plan.stop",
        entity_type="recurring_plan",
        entity_id=plan_id,
    )
    await session.flush()
    return plan


async def list_plans(
    *, session: AsyncSession, limit: int, offset: int, elder_id: int | None = None
) -> tuple[list[RecurringPlan], int]:
    query = select(RecurringPlan)
    if elder_id:
        query = query.where(RecurringPlan.elder_id == elder_id)
    return await fetch_page(session, query, RecurringPlan.id, limit=limit, offset=offset)
