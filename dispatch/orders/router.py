"""Service orders (the board, the order form, cancel, re-dispatch) and recurring plans."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dispatch.api.deps import ClockDep, CurrentActor, PagingDep, ServicesDep, SessionDep, SettingsDep
from dispatch.notify.service import options_for
from dispatch.offers import service as offers
from dispatch.offers.schemas import job_read
from dispatch.orders import service
from dispatch.orders.models import OrderState, ServiceOrder
from dispatch.orders.progress import is_overdue
from dispatch.orders.schemas import OrderCreate, OrderDetail, OrderRead, OrderReason, PlanCreate, PlanRead
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1", tags=["service orders"])


def _read(order: ServiceOrder, clock: ClockDep) -> OrderRead:
    return OrderRead.model_validate(order).model_copy(update={"overdue": is_overdue(order, clock.now())})


async def _detail(order: ServiceOrder, session: SessionDep, clock: ClockDep) -> OrderDetail:
    job = None
    if order.job_id is not None:
        the_job = await offers.get_job(session=session, job_id=order.job_id)
        job = job_read(the_job, await offers.offers_of(session=session, job_id=the_job.id))
    base = _read(order, clock).model_dump()
    return OrderDetail.model_validate({**base, "history": order.history, "job": job})


async def _dispatch(
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> None:
    order = await service.get(session=session, order_id=order_id)
    await service.dispatch(
        session=session,
        clock=clock,
        actor=actor,
        order_id=order_id,
        match=service.matcher_for(session, services.matcher),
        policy=offers.policy_for(settings, order.service_type),
        options=options_for(settings),
    )


@router.post("/service-orders", response_model=OrderDetail, status_code=201)
async def create_order(
    body: OrderCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> OrderDetail:
    """Take a home-service request; it is offered to the nearest eligible provider at once."""
    order = await service.create(session=session, clock=clock, actor=actor, data=body)
    await _dispatch(order.id, session, clock, settings, services, actor)
    return await _detail(order, session, clock)


@router.get("/service-orders", response_model=Page[OrderRead])
async def list_orders(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    view: Literal["today", "overdue", "open", "closed", "all"] = "all",
    state: OrderState | None = None,
    provider_id: RowId | None = None,
    elder_id: RowId | None = None,
    q: Annotated[str | None, Query(max_length=64, description="elder name")] = None,
) -> Page[OrderRead]:
    """The orders board: today's, overdue, open or all orders by window start; closed ones latest first."""
    items, total = await service.list_orders(
        session=session,
        now=clock.now(),
        limit=paging.limit,
        offset=paging.offset,
        view=view,
        state=state,
        provider_id=provider_id,
        elder_id=elder_id,
        q=q,
    )
    return Page(items=[_read(o, clock) for o in items], total=total)


@router.get("/service-orders/{order_id}", response_model=OrderDetail)
async def read_order(
    order_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> OrderDetail:
    """One order with its history and the offers of its current dispatch."""
    return await _detail(await service.get(session=session, order_id=order_id), session, clock)


@router.post("/service-orders/{order_id}/dispatch", response_model=OrderDetail)
async def redispatch_order(
    order_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> OrderDetail:
    """Offer a requested order again (after nobody accepted, or once providers changed)."""
    await _dispatch(order_id, session, clock, settings, services, actor)
    return await _detail(await service.get(session=session, order_id=order_id), session, clock)


async def _end(
    order_id: RowId,
    reason: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
    *,
    failed: bool,
) -> OrderDetail:
    order = await service.cancel(
        session=session,
        clock=clock,
        actor=actor,
        order_id=order_id,
        reason=reason,
        options=options_for(settings),
        failed=failed,
    )
    return await _detail(order, session, clock)


@router.post("/service-orders/{order_id}/cancel", response_model=OrderDetail)
async def cancel_order(
    order_id: RowId,
    body: OrderReason,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> OrderDetail:
    """Cancel an open order; providers holding its offer are told."""
    return await _end(order_id, body.reason, session, clock, settings, actor, failed=False)


@router.post("/service-orders/{order_id}/fail", response_model=OrderDetail)
async def fail_order(
    order_id: RowId,
    body: OrderReason,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> OrderDetail:
    """Record that an open order could not be served, and why (it counts against the provider's completion)."""
    return await _end(order_id, body.reason, session, clock, settings, actor, failed=True)


@router.post("/recurring-plans", response_model=PlanRead, status_code=201)
async def create_plan(
    body: PlanCreate, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> PlanRead:
    """A standing request (e.g. lunch every weekday); its orders are made a few days ahead."""
    return PlanRead.model_validate(
        await service.create_plan(session=session, clock=clock, actor=actor, data=body)
    )


@router.get("/recurring-plans", response_model=Page[PlanRead])
async def list_plans(
    session: SessionDep, actor: CurrentActor, paging: PagingDep, elder_id: RowId | None = None
) -> Page[PlanRead]:
    items, total = await service.list_plans(
        session=session, limit=paging.limit, offset=paging.offset, elder_id=elder_id
    )
    return Page(items=[PlanRead.model_validate(p) for p in items], total=total)


@router.post("/recurring-plans/{plan_id}/stop", response_model=PlanRead)
async def stop_plan(plan_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor) -> PlanRead:
    """No further orders from this plan."""
    return PlanRead.model_validate(
        await service.stop_plan(session=session, clock=clock, actor=actor, plan_id=plan_id)
    )
