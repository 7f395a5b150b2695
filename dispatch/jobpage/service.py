"""What a job page link opens: the offer it names, its job and order, and the page's view of them. Before
acceptance only the job (service, window, district and street); the elder's details only to the provider
who holds the job, each read audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import Clock
from dispatch.elders.models import Elder
from dispatch.errors import NotFound
from dispatch.evidence import rules as evidence_rules
from dispatch.evidence import service as evidence_service
from dispatch.evidence.models import ServiceEvidence
from dispatch.jobpage import tokens
from dispatch.offers.models import LIVE_JOB_STATES, Job, JobState, Offer, OfferState
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider

# The offer's states in which the page shows the job as the provider's own.
HELD_STATES = frozenset({OfferState.accepted, OfferState.arrived, OfferState.done})


@dataclass(frozen=True, slots=True)
class Opened:
    """A link's offer with its job, its order (None for an emergency call's job) and who acts through it."""

    link: tokens.JobLink
    offer: Offer
    job: Job
    order: ServiceOrder | None
    actor: Actor


def provider_actor(offer: Offer, ip: str | None) -> Actor:
    """The provider acting through its link, for the timelines and the audit log (no operator: the least
    role, which no operator route admits without a login anyway)."""
    return Actor(operator_id=None, username=f"provider:{offer.provider_id}", role=Role.agent, ip=ip)


async def open_link(
    *, session: AsyncSession, clock: Clock, secret_key: str, token: str, ip: str | None
) -> Opened:
    """The offer a genuine, unexpired token names (403 tampered, 410 expired, 404 gone from the database)."""
    link = tokens.read_token(secret_key, token, clock.now())
    offer = await session.get(Offer, link.offer_id)
    job = None if offer is None else await session.get(Job, offer.job_id)
    if offer is None or job is None:
        raise NotFound("this job no longer exists")
    order = None if job.order_id is None else await session.get(ServiceOrder, job.order_id)
    return Opened(link=link, offer=offer, job=job, order=order, actor=provider_actor(offer, ip))


def status_of(offer: Offer, job: Job) -> str:
    """`offered` (to answer), `held` (the provider's job) or `gone` (no longer needed from this provider)."""
    if offer.state in HELD_STATES and (job.state in LIVE_JOB_STATES or job.state == JobState.completed):
        return "held"
    if offer.state == OfferState.offered and job.state in LIVE_JOB_STATES:
        return "offered"
    return "gone"


def navigation(lon: float, lat: float, name: str) -> dict[str, str]:
    """Amap and Baidu links to the place (our positions are WGS84, which both are told)."""
    label = quote(name)
    return {
        "amap": f"https://uri.amap.com/marker?position={lon:.6f},{lat:.6f}&name={label}&coordinate=wgs84",
        "baidu": (
            f"https://api.map.baidu.com/marker?location={lat:.6f},{lon:.6f}&title={label}&content={label}"
            "&coord_type=wgs84&output=html&src=12349"
        ),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def evidence_view(evidence: ServiceEvidence | None) -> dict[str, Any]:
    """The evidence as the provider sees it (never the code)."""
    if evidence is None:
        return {"checked_in": False, "items": [], "photo": False, "code_sent": False, "confirmed": False}
    return {
        "checked_in": evidence.checkin_at is not None,
        "checkin_at": _iso(evidence.checkin_at),
        "distance_m": evidence.checkin_distance_m,
        "flag": evidence.checkin_flag,
        "items": evidence.items,
        "photo": evidence.photo_path is not None,
        "code_sent": evidence.code_sent_at is not None,
        "code_attempts": evidence.code_attempts,
        "confirmed": evidence.confirmed_at is not None,
        "confirmed_by": evidence.confirmed_by,
        "checked_out": evidence.checkout_at is not None,
        "evidenced": evidence.evidenced_at is not None,
    }


async def view(*, session: AsyncSession, clock: Clock, opened: Opened) -> dict[str, Any]:
    """The page's data: the job for everyone the link names; the elder and the evidence for the holder."""
    offer, job, order = opened.offer, opened.job, opened.order
    elder = await session.get(Elder, job.elder_id)
    if elder is None:
        raise NotFound("this job's elder no longer exists")
    status = status_of(offer, job)
    page: dict[str, Any] = {
        "status": status,
        "offer_state": offer.state,
        "code": offer.code,
        "service_type": job.service_type,
        "window": job.window,
        "window_start": _iso(order.window_start) if order else None,
        "window_end": _iso(order.window_end) if order else None,
        "service_order": order is not None,
        "district": elder.district,
        "street": elder.street,
        "distance_m": offer.distance_m,
        "deadline_at": _iso(offer.deadline_at),
        "expires_at": opened.link.expires_at.isoformat(),
        "details": None,
        "evidence": None,
        "price_items": [],
    }
    if status != "held":
        return page
    page["details"] = {
        "elder_name": elder.name,
        "phone": elder.phone,
        "address": job.address,
        "navigation": navigation(job.lon, job.lat, job.address),
    }
    await audit.record(
        session=session,
        clock=clock,
        actor=opened.actor,
        action="elder.read_via_job_page",
        entity_type="elder",
        entity_id=elder.id,
        detail={"offer_id": offer.id, "job_id": job.id, "order_id": order.id if order else None},
    )
    if order is not None:
        evidence = await evidence_service.get_for_order(session=session, order_id=order.id)
        page["evidence"] = evidence_view(evidence)
        provider = await session.get(Provider, offer.provider_id)
        page["price_items"] = evidence_rules.offered_items(
            provider.price_list if provider else [], order.service_type
        )
    return page
