"""The job page's steps across the domains: answering the offer (the SMS replies' own moves), checking in
and out (the order moves as with "到" and "完成"), the items, the photo and the elder's code (the evidence),
and evidencing the order once all is there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.catalog import ServiceType
from dispatch.clock import Clock
from dispatch.elders import service as elders
from dispatch.elders.models import Elder
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.evidence import flows as evidence_flows
from dispatch.evidence import rules
from dispatch.evidence import service as evidence
from dispatch.evidence.models import ServiceEvidence
from dispatch.jobpage.service import Opened, status_of
from dispatch.notify import service as sms
from dispatch.notify.models import SmsPurpose
from dispatch.notify.service import SmsOptions
from dispatch.notify.templates import render
from dispatch.offers import service as offers
from dispatch.offers.models import OfferState
from dispatch.offers.replies import ReplyAction
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider

VIA = "job page"


@dataclass(frozen=True, slots=True)
class EvidenceRules:
    """The settings the evidence steps follow."""

    secret_key: str
    far_meters: int
    photo_max_bytes: int
    code_max_attempts: int
    data_dir: Path


async def answer(
    *, session: AsyncSession, clock: Clock, opened: Opened, action: ReplyAction, options: SmsOptions
) -> str:
    """Accept or decline through the dispatcher's reply handling; a late accept gets "no longer needed". A job
    already this provider's: accepting again changes nothing, declining is refused (it is not an SMS: no help
    text comes back)."""
    if status_of(opened.offer, opened.job) == "held":
        if action == ReplyAction.accept:
            return "accepted"
        raise Conflict("this job is already accepted: call 12349 to hand it back", reason="already_accepted")
    _, detail = await offers.answer(
        session=session, clock=clock, offer_id=opened.offer.id, action=action, options=options, entered_by=VIA
    )
    return detail


async def _held_order(session: AsyncSession, opened: Opened) -> ServiceOrder:
    """The service order of a job this provider holds (an emergency's job has no evidence steps), its job
    locked first: the page's steps, the SMS replies and the deadlines all take the job, then the evidence."""
    if opened.order is None:
        raise Conflict("an emergency job has no check-in or evidence", reason="not_a_service_order")
    await offers.lock_job(session=session, job_id=opened.job.id)
    await session.refresh(opened.offer)
    if status_of(opened.offer, opened.job) != "held":
        raise Conflict("this job is no longer yours", reason="no_longer_needed")
    return opened.order


async def _move(
    session: AsyncSession, clock: Clock, opened: Opened, action: ReplyAction, options: SmsOptions
) -> None:
    """Move the offer (and so the order and the call) as the SMS reply would, unless it is already there."""
    await session.refresh(opened.offer)
    already = {
        ReplyAction.arrived: (OfferState.arrived, OfferState.done),
        ReplyAction.done: (OfferState.done,),
    }
    if opened.offer.state in already[action]:
        return
    await offers.answer(
        session=session, clock=clock, offer_id=opened.offer.id, action=action, options=options, entered_by=VIA
    )


async def check_in(
    *,
    session: AsyncSession,
    clock: Clock,
    opened: Opened,
    position: tuple[float, float] | None,
    accuracy_m: float | None,
    rules_: EvidenceRules,
    options: SmsOptions,
) -> ServiceEvidence:
    """The provider is at the door: distance to the home stored (far or unknown: flagged, not refused), the
    order in progress, and the elder texted a one-time confirmation code."""
    order = await _held_order(session, opened)
    await _move(session, clock, opened, ReplyAction.arrived, options)
    row = await evidence.locked(session=session, clock=clock, order=order, offer_id=opened.offer.id)
    judged = rules.judge_checkin(home=(order.lon, order.lat), position=position, far_meters=rules_.far_meters)
    evidence.record_checkin(row, clock, position=position, accuracy_m=accuracy_m, judged=judged)
    if row.code_sent_at is None:
        await _text_code(session, clock, row, order, rules_.secret_key, options)
    await session.flush()
    return row


async def _code_recipient(session: AsyncSession, elder_id: int) -> str | None:
    """The elder's own phone, else the first contact's."""
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found")
    if elder.phone:
        return elder.phone
    contacts = await elders.list_contacts(session=session, elder_id=elder_id)
    return contacts[0].phone if contacts else None


async def _text_code(
    session: AsyncSession,
    clock: Clock,
    row: ServiceEvidence,
    order: ServiceOrder,
    secret_key: str,
    options: SmsOptions,
) -> None:
    to = await _code_recipient(session, order.elder_id)
    if to is None:  # nobody to text: the follow-up call is left to confirm
        return
    code = rules.new_code()
    evidence.record_code(row, clock, secret_key=secret_key, code=code)
    body = render(
        "service_code",
        options.language,
        service=offers.service_label(order.service_type, options.language),
        code=code,
    )
    await sms.send(
        session=session, clock=clock, options=options, to=to, body=body, purpose=SmsPurpose.service_code
    )


async def _evidence_of(
    session: AsyncSession, clock: Clock, opened: Opened
) -> tuple[ServiceOrder, ServiceEvidence]:
    order = await _held_order(session, opened)
    row = await evidence.locked(session=session, clock=clock, order=order, offer_id=opened.offer.id)
    if row.checkin_at is None:
        raise Conflict("check in first", reason="check_in_first")
    return order, row


async def set_items(
    *, session: AsyncSession, clock: Clock, opened: Opened, chosen: list[tuple[str, int]]
) -> ServiceEvidence:
    """The service items done, from the provider's price list for the order's service type."""
    order, row = await _evidence_of(session, clock, opened)
    provider = await session.get(Provider, opened.offer.provider_id)
    try:
        items = rules.priced_items(
            price_list=provider.price_list if provider else [],
            service_type=ServiceType(order.service_type),
            chosen=chosen,
        )
    except rules.ItemRefused as refused:
        raise ValidationFailed(str(refused), reason="item_not_listed") from None
    evidence.record_items(row, clock, items)
    await session.flush()
    return row


async def upload_photo(
    *, session: AsyncSession, clock: Clock, opened: Opened, data: bytes, rules_: EvidenceRules
) -> ServiceEvidence:
    _, row = await _evidence_of(session, clock, opened)
    await evidence.store_photo(
        row, clock, data_dir=rules_.data_dir, data=data, max_bytes=rules_.photo_max_bytes
    )
    await session.flush()
    return row


async def enter_code(
    *, session: AsyncSession, clock: Clock, opened: Opened, code: str, rules_: EvidenceRules
) -> evidence.CodeCheck:
    """One try at the elder's code; right: confirmed (and evidenced if checked out already)."""
    _, row = await _evidence_of(session, clock, opened)
    check = evidence.check_code(
        row, clock, secret_key=rules_.secret_key, code=code, max_attempts=rules_.code_max_attempts
    )
    if check.confirmed:
        await evidence_flows.settle_if_complete(
            session=session, clock=clock, evidence=row, actor=opened.actor
        )
    await session.flush()
    return check


async def check_out(
    *, session: AsyncSession, clock: Clock, opened: Opened, options: SmsOptions
) -> ServiceEvidence:
    """The provider leaves: the order completed (as "完成" does) and evidenced if confirmed already."""
    _, row = await _evidence_of(session, clock, opened)
    await _move(session, clock, opened, ReplyAction.done, options)
    evidence.record_checkout(row, clock)
    await evidence_flows.settle_if_complete(session=session, clock=clock, evidence=row, actor=opened.actor)
    await session.flush()
    return row
