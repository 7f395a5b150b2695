"""What evidence means elsewhere: an order becomes evidenced (once) and its charge is made in the same
transaction; the agent's follow-up call that reached the elder confirms the service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.evidence import rules, service
from dispatch.evidence.models import ConfirmedBy, ServiceEvidence
from dispatch.followups.models import FollowUp, FollowUpState
from dispatch.orders import progress
from dispatch.orders.models import ServiceOrder
from dispatch.payments import charges


async def settle_if_complete(
    *, session: AsyncSession, clock: Clock, evidence: ServiceEvidence, actor: Actor
) -> bool:
    """Evidence the order if check-in, check-out and a confirmation are all there (once, whoever comes
    last), note it on the order and make its charge; True if this call evidenced it."""
    if not await service.mark_evidenced(session=session, clock=clock, evidence=evidence):
        return False
    order = await session.get(ServiceOrder, evidence.order_id)
    if order is not None:
        progress.note(order, clock, actor, "evidenced", confirmed_by=str(evidence.confirmed_by))
        progress.announce_order(session, order, clock)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="service_evidence.evidenced",
        entity_type="service_order",
        entity_id=evidence.order_id,
        detail={"confirmed_by": str(evidence.confirmed_by), "flag": evidence.checkin_flag},
    )
    await charges.on_evidenced(
        session=session,
        clock=clock,
        order_id=evidence.order_id,
        actor=actor,
        price_fen=rules.items_total(evidence.items),
    )
    return True


async def follow_up_recorded(
    *, session: AsyncSession, clock: Clock, actor: Actor, follow_up: FollowUp
) -> None:
    """A follow-up that reached the elder and recorded their satisfaction confirms the order's service."""
    if (
        follow_up.order_id is None
        or follow_up.state != FollowUpState.done
        or not follow_up.reached
        or follow_up.satisfaction is None
    ):
        return
    order = await session.get(ServiceOrder, follow_up.order_id)
    if order is None:
        return
    evidence = await service.locked(session=session, clock=clock, order=order, offer_id=None)
    if service.confirm(evidence, clock, ConfirmedBy.follow_up):
        await settle_if_complete(session=session, clock=clock, evidence=evidence, actor=actor)
