"""Payment endpoints: pay an order's self-pay, top up, list, refund; the days reconciled (supervisors).
Thin: the rules are in `service` and `reconcile`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.api.deps import (
    ClockDep,
    CurrentActor,
    ManagerActor,
    PagingDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
)
from dispatch.api.state import AppServices
from dispatch.payments import online, reconcile, service
from dispatch.payments.models import Channel, Payment, PaymentState, Refund
from dispatch.payments.platform import PaymentPlatform
from dispatch.payments.schemas import (
    LinkSent,
    PaymentCreate,
    PaymentRead,
    ReconciliationRead,
    RefundCreate,
    RefundRead,
    TopUpCreate,
)
from dispatch.schemas import Page, RowId, mask_phone

router = APIRouter(prefix="/api/v1", tags=["payments"])


@router.post("/service-orders/{order_id}/payments", response_model=PaymentRead, status_code=201)
async def pay_order(
    order_id: RowId,
    body: PaymentCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> Payment:
    """Take what is still due of the order's self-pay: at once in cash or by transfer, or online (a QR code)."""
    platform = _platform_for(body.method, services)
    payment = await service.for_order(
        session, clock, actor, order_id=order_id, channel=body.method, settings=settings
    )
    if platform is not None:
        await online.open_trade(session, payment, platform, settings)
    return payment


@router.post("/elders/{elder_id}/payments", response_model=PaymentRead, status_code=201)
async def top_up(
    elder_id: RowId,
    body: TopUpCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> Payment:
    """Money paid in advance, capped at months of the elder's plans (预付费监管)."""
    platform = _platform_for(body.method, services)
    payment = await service.top_up(
        session,
        clock,
        actor,
        elder_id=elder_id,
        channel=body.method,
        amount_fen=body.amount_fen,
        settings=settings,
    )
    if platform is not None:
        await online.open_trade(session, payment, platform, settings)
    return payment


@router.get("/payments", response_model=Page[PaymentRead])
async def list_payments(
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    elder_id: Annotated[RowId | None, Query()] = None,
    order_id: Annotated[RowId | None, Query()] = None,
    state: PaymentState | None = None,
) -> Page[PaymentRead]:
    rows, total = await service.list_payments(
        session, elder_id=elder_id, order_id=order_id, state=state, limit=paging.limit, offset=paging.offset
    )
    return Page(items=[PaymentRead.model_validate(r) for r in rows], total=total)


@router.post("/payments/{payment_id}/refunds", response_model=RefundRead, status_code=201)
async def refund(
    payment_id: RowId,
    body: RefundCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> Refund:
    """Give back part or all of a payment; above the approval limit only a supervisor may."""
    refund = await service.request_refund(
        session,
        clock,
        actor,
        payment_id=payment_id,
        amount_fen=body.amount_fen,
        reason=body.reason,
        settings=settings,
    )
    if services.payment_platform is not None:
        await online.send_refund(session, refund, services.payment_platform, settings)
    return refund


@router.get("/reconciliations", response_model=Page[ReconciliationRead])
async def list_reconciliations(
    session: SessionDep, actor: ManagerActor, paging: PagingDep
) -> Page[ReconciliationRead]:
    """The days matched against the platform's trade bill, newest first, each with its mismatches."""
    rows, total = await reconcile.list_days(session, limit=paging.limit, offset=paging.offset)
    return Page(items=[ReconciliationRead.model_validate(r) for r in rows], total=total)


@router.post("/payments/{payment_id}/send-link", response_model=LinkSent, status_code=201)
async def send_link(
    payment_id: RowId, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> LinkSent:
    """Text a waiting online payment's link to the family (the first relative, else the elder)."""
    message = await online.text_link(session, clock, actor, payment_id=payment_id, settings=settings)
    return LinkSent(sms_id=message.id, to=mask_phone(message.to_number) or "")


def _platform_for(method: Channel, services: AppServices) -> PaymentPlatform | None:
    """The platform an online method needs (409 when there is none); None for the desk's methods."""
    if method in service.DESK_CHANNELS:
        return None
    return online.require(services.payment_platform)
