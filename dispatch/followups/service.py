"""Follow-ups (回访): one per completed order and per closed P1/P2 call, due within a set time; the agent
records whether anyone was reached (retrying a few times) and the satisfaction score, which feeds the
provider's Bayesian rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.calls.models import Call
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.calls.states import CallState
from dispatch.catalog import SERVICE_TYPE_LABELS_ZH
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Elder
from dispatch.errors import InvalidTransition, NotFound
from dispatch.followups.models import FollowUp, FollowUpKind, FollowUpState
from dispatch.followups.rating import bayesian_rating
from dispatch.localtime import LOCAL_TZ
from dispatch.offers.models import Job, Offer, OfferState
from dispatch.orders import progress
from dispatch.orders.models import OrderState, ServiceOrder
from dispatch.providers.models import Provider
from dispatch.settings import Settings

EMERGENCY_PRIORITIES = (1, 2)


@dataclass(frozen=True, slots=True)
class FollowUpRules:
    """Due times, retries and the rating prior (from the settings)."""

    due_hours_emergency: int
    due_hours_service: int
    max_attempts: int
    retry_minutes: int
    rating_prior: float
    rating_prior_weight: int


def rules_for(settings: Settings) -> FollowUpRules:
    return FollowUpRules(
        due_hours_emergency=settings.followup_due_hours_emergency,
        due_hours_service=settings.followup_due_hours_service,
        max_attempts=settings.followup_max_attempts,
        retry_minutes=settings.followup_retry_minutes,
        rating_prior=settings.rating_prior,
        rating_prior_weight=settings.rating_prior_weight,
    )


async def elder_phones(*, session: AsyncSession, elder_ids: set[int]) -> dict[int, str | None]:
    rows = await session.execute(select(Elder.id, Elder.phone).where(Elder.id.in_(elder_ids)))
    return {elder_id: phone for elder_id, phone in rows}


def is_overdue(follow_up: FollowUp, now: datetime) -> bool:
    return follow_up.state == FollowUpState.pending and now > follow_up.due_at


def _new(clock: Clock, due_hours: int, **fields: object) -> FollowUp:
    now = clock.now()
    due = now + timedelta(hours=due_hours)
    return FollowUp(
        **fields,
        state=FollowUpState.pending,
        due_at=due,
        next_attempt_at=now,
        attempts=0,
        attempt_log=[],
        comment="",
        created_at=now,
        updated_at=now,
    )


async def create_due(*, session: AsyncSession, clock: Clock, rules: FollowUpRules) -> int:
    """Create the follow-ups owed: completed orders and closed P1/P2 calls that have none yet."""
    orders = await session.scalars(
        select(ServiceOrder).where(
            ServiceOrder.state == OrderState.completed,
            ~select(FollowUp.id).where(FollowUp.order_id == ServiceOrder.id).exists(),
        )
    )
    created: list[FollowUp] = []
    for order in list(orders):
        local = order.window_start.astimezone(LOCAL_TZ)
        created.append(
            _new(
                clock,
                rules.due_hours_service,
                kind=FollowUpKind.order,
                order_id=order.id,
                elder_id=order.elder_id,
                elder_name=order.elder_name,
                provider_id=order.provider_id,
                provider_name=order.provider_name,
                subject=f"{SERVICE_TYPE_LABELS_ZH[order.service_type]} {local:%m-%d %H:%M}",
                subject_params={
                    "service_type": order.service_type.value,
                    "at": order.window_start.isoformat(),
                },
            )
        )
    calls = await session.scalars(
        select(Call).where(
            Call.state == CallState.closed,
            Call.priority.in_(EMERGENCY_PRIORITIES),
            ~select(FollowUp.id).where(FollowUp.call_id == Call.id).exists(),
        )
    )
    for call in list(calls):
        provider = await _call_provider(session, call.id)
        created.append(
            _new(
                clock,
                rules.due_hours_emergency,
                kind=FollowUpKind.call,
                call_id=call.id,
                elder_id=call.elder_id,
                elder_name=call.elder_name,
                provider_id=provider.id if provider else None,
                provider_name=provider.name if provider else None,
                subject=f"P{call.priority} {call.category.value} {call.opened_at.astimezone(LOCAL_TZ):%m-%d %H:%M}",
                subject_params={
                    "priority": f"P{call.priority}",
                    "category": call.category.value,
                    "at": call.opened_at.isoformat(),
                },
            )
        )
    session.add_all(created)
    await session.flush()
    for follow_up in created:
        announce(session, CONSOLE_CHANNEL, {"type": "follow_up", "follow_up": follow_up_json(follow_up)})
    return len(created)


def follow_up_json(follow_up: FollowUp) -> dict[str, object]:
    """What the consoles are told of a new follow-up (no phone: the detail is the audited read)."""
    return {
        "id": follow_up.id,
        "kind": follow_up.kind.value,
        "elder_name": follow_up.elder_name,
        "subject": follow_up.subject,
        "subject_params": follow_up.subject_params,
        "due_at": follow_up.due_at.isoformat(),
    }


async def _call_provider(session: AsyncSession, call_id: int) -> Provider | None:
    """The provider who finished (or at least accepted) the call's last job."""
    provider_id = await session.scalar(
        select(Offer.provider_id)
        .join(Job, Job.id == Offer.job_id)
        .where(
            Job.call_id == call_id,
            Offer.state.in_((OfferState.accepted, OfferState.arrived, OfferState.done)),
        )
        .order_by(Offer.id.desc())
        .limit(1)
    )
    return None if provider_id is None else await session.get(Provider, provider_id)


async def get(*, session: AsyncSession, follow_up_id: int) -> FollowUp:
    follow_up = await session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound(f"follow-up {follow_up_id} not found")
    return follow_up


async def record(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    follow_up_id: int,
    reached: bool,
    satisfaction: int | None,
    comment: str,
    rules: FollowUpRules,
) -> FollowUp:
    """One attempt: reached → done with the score (and the provider re-rated); not reached → retry later,
    or unreachable after the last attempt."""
    follow_up = await get(session=session, follow_up_id=follow_up_id)
    if follow_up.state != FollowUpState.pending:
        raise InvalidTransition(f"follow-up {follow_up_id} is already {follow_up.state.value}")
    now = clock.now()
    follow_up.attempts += 1
    follow_up.attempt_log = [
        *follow_up.attempt_log,
        {"at": now.isoformat(), "by": actor.username, "reached": reached, "comment": comment},
    ]
    follow_up.updated_at = now
    if reached:
        follow_up.state, follow_up.reached = FollowUpState.done, True
        follow_up.satisfaction, follow_up.comment = satisfaction, comment
        follow_up.completed_by, follow_up.completed_at = actor.username, now
        await _order_followed_up(session, clock, actor, follow_up)
    elif follow_up.attempts >= rules.max_attempts:
        follow_up.state, follow_up.reached = FollowUpState.unreachable, False
        follow_up.completed_by, follow_up.completed_at = actor.username, now
    else:
        follow_up.next_attempt_at = now + timedelta(minutes=rules.retry_minutes)
    await session.flush()
    if reached and follow_up.provider_id is not None:
        await rerate(session=session, provider_id=follow_up.provider_id, rules=rules)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="follow_up.record",
        entity_type="follow_up",
        entity_id=follow_up.id,
        detail={"reached": reached, "satisfaction": satisfaction, "state": follow_up.state.value},
    )
    return follow_up


async def _order_followed_up(session: AsyncSession, clock: Clock, actor: Actor, follow_up: FollowUp) -> None:
    if follow_up.order_id is None:
        return
    order = await session.get(ServiceOrder, follow_up.order_id)
    if order is not None and order.state == OrderState.completed:
        order.state = OrderState.followed_up
        progress.note(order, clock, actor, "followed_up", satisfaction=follow_up.satisfaction)
        progress.announce_order(session, order, clock)


async def rerate(*, session: AsyncSession, provider_id: int, rules: FollowUpRules) -> Provider | None:
    """Recompute a provider's rating from every satisfaction score it has received."""
    provider = await session.get(Provider, provider_id)
    if provider is None:
        return None
    total, count = (
        await session.execute(
            select(
                func.coalesce(func.sum(FollowUp.satisfaction), 0), func.count(FollowUp.satisfaction)
            ).where(FollowUp.provider_id == provider_id, FollowUp.state == FollowUpState.done)
        )
    ).one()
    provider.rating = bayesian_rating(
        total=float(total or 0), count=int(count), prior=rules.rating_prior, weight=rules.rating_prior_weight
    )
    provider.rating_count = int(count)
    await session.flush()
    return provider


async def list_follow_ups(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    offset: int,
    state: FollowUpState | None = None,
    due_now: bool = False,
    provider_id: int | None = None,
    elder_id: int | None = None,
) -> tuple[list[FollowUp], int]:
    """The worklist, soonest due first; `due_now`: only those that may be attempted now."""
    query = select(FollowUp)
    if state:
        query = query.where(FollowUp.state == state)
    if due_now:
        query = query.where(FollowUp.next_attempt_at <= now)
    if provider_id:
        query = query.where(FollowUp.provider_id == provider_id)
    if elder_id:
        query = query.where(FollowUp.elder_id == elder_id)
    return await fetch_page(session, query, FollowUp.due_at, FollowUp.id, limit=limit, offset=offset)
