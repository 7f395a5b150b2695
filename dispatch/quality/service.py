"""Service-quality figures per provider and per agent, and flagging providers for review."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dispatch.alerts.models import AlertAudience
from dispatch.alerts.service import raise_alert
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.calls.models import Call, CallEntry
from dispatch.calls.states import CallState
from dispatch.carecalls.models import CareCall, CareCallState
from dispatch.clock import Clock
from dispatch.complaints.models import Complaint, ComplaintTarget
from dispatch.followups.models import FollowUp, FollowUpState
from dispatch.offers.models import Offer
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider, ProviderStatus
from dispatch.quality.metrics import (
    AgentFigures,
    OfferFacts,
    OrderFacts,
    ProviderFigures,
    Thresholds,
    agent_figures,
    flags,
    provider_figures,
)
from dispatch.settings import Settings

QUALITY = Actor.system("quality")


@dataclass(frozen=True, slots=True)
class ProviderQuality:
    """A provider, its figures and what in them calls for a review."""

    provider_id: int
    name: str
    status: ProviderStatus
    rating: float
    rating_count: int
    review_flag: str
    flagged_at: datetime | None
    figures: ProviderFigures
    flags: list[str]


@dataclass(frozen=True, slots=True)
class AgentQuality:
    """An agent and their figures."""

    operator_id: int
    username: str
    display_name: str
    active: bool
    figures: AgentFigures


def thresholds_from(settings: Settings) -> Thresholds:
    """The review thresholds this deployment is configured with."""
    return Thresholds(
        min_sample=settings.quality_min_sample,
        min_acceptance_rate=settings.quality_min_acceptance_rate,
        min_completion_rate=settings.quality_min_completion_rate,
        max_late_rate=settings.quality_max_late_rate,
        min_satisfaction=settings.quality_min_satisfaction,
        max_upheld_complaints=settings.quality_max_upheld_complaints,
    )


async def provider_quality(*, session: AsyncSession, settings: Settings) -> list[ProviderQuality]:
    """Every provider's figures and flags, by id."""
    return [
        _quality(provider, figures, found)
        for provider, figures, found in await _assess(session, thresholds_from(settings))
    ]


def _quality(provider: Provider, figures: ProviderFigures, found: list[str]) -> ProviderQuality:
    return ProviderQuality(
        provider_id=provider.id,
        name=provider.name,
        status=provider.status,
        rating=provider.rating,
        rating_count=provider.rating_count,
        review_flag=provider.review_flag,
        flagged_at=provider.flagged_at,
        figures=figures,
        flags=found,
    )


async def _assess(
    session: AsyncSession, thresholds: Thresholds
) -> list[tuple[Provider, ProviderFigures, list[str]]]:
    providers = list(await session.scalars(select(Provider).order_by(Provider.id)))
    offers = await _offer_facts(session)
    orders = await _order_facts(session)
    scores = await _provider_scores(session)
    upheld = await _upheld_against(session, ComplaintTarget.provider)
    assessed = []
    for provider in providers:
        figures = provider_figures(
            offers=offers[provider.id],
            orders=orders[provider.id],
            scores=scores[provider.id],
            upheld_complaints=upheld.get(provider.id, 0),
        )
        assessed.append((provider, figures, flags(figures, thresholds)))
    return assessed


async def _offer_facts(session: AsyncSession) -> defaultdict[int, list[OfferFacts]]:
    rows = await session.execute(select(Offer.provider_id, Offer.state, Offer.offered_at, Offer.answered_at))
    facts: defaultdict[int, list[OfferFacts]] = defaultdict(list)
    for provider_id, state, offered_at, answered_at in rows:
        facts[provider_id].append(OfferFacts(state=state, offered_at=offered_at, answered_at=answered_at))
    return facts


async def _order_facts(session: AsyncSession) -> defaultdict[int, list[OrderFacts]]:
    rows = await session.execute(
        select(
            ServiceOrder.provider_id, ServiceOrder.state, ServiceOrder.window_end, ServiceOrder.arrived_at
        ).where(ServiceOrder.provider_id.is_not(None))
    )
    facts: defaultdict[int, list[OrderFacts]] = defaultdict(list)
    for provider_id, state, window_end, arrived_at in rows:
        if provider_id is not None:
            facts[provider_id].append(OrderFacts(state=state, window_end=window_end, arrived_at=arrived_at))
    return facts


async def _provider_scores(session: AsyncSession) -> defaultdict[int, list[int]]:
    rows = await session.execute(
        select(FollowUp.provider_id, FollowUp.satisfaction).where(
            FollowUp.provider_id.is_not(None),
            FollowUp.state == FollowUpState.done,
            FollowUp.satisfaction.is_not(None),
        )
    )
    scores: defaultdict[int, list[int]] = defaultdict(list)
    for provider_id, satisfaction in rows:
        if provider_id is not None and satisfaction is not None:
            scores[provider_id].append(satisfaction)
    return scores


async def _upheld_against(session: AsyncSession, target: ComplaintTarget) -> dict[int, int]:
    """Upheld complaints per provider (target provider) or per operator (target agent)."""
    whom = Complaint.provider_id if target == ComplaintTarget.provider else Complaint.operator_id
    rows = await session.execute(
        select(whom, func.count(Complaint.id))
        .where(Complaint.target == target, Complaint.upheld.is_(True), whom.is_not(None))
        .group_by(whom)
    )
    return {key: int(count) for key, count in rows if key is not None}


async def agent_quality(*, session: AsyncSession) -> list[AgentQuality]:
    """Every agent's figures, by id."""
    agents = await session.scalars(select(Operator).where(Operator.role == Role.agent).order_by(Operator.id))
    acknowledge_seconds = await _acknowledge_seconds(session)
    follow_ups = await _count_by(session, FollowUp.completed_by, FollowUp.state == FollowUpState.done)
    care_calls = await _count_by(session, CareCall.completed_by, CareCall.state == CareCallState.done)
    scores = await _scores_by_call_handler(session)
    upheld = await _upheld_against(session, ComplaintTarget.agent)
    return [
        AgentQuality(
            operator_id=agent.id,
            username=agent.username,
            display_name=agent.display_name,
            active=agent.active,
            figures=agent_figures(
                seconds_to_acknowledge=acknowledge_seconds[agent.id],
                follow_ups_completed=follow_ups.get(agent.username, 0),
                scores=scores[agent.id],
                care_calls_completed=care_calls.get(agent.username, 0),
                upheld_complaints=upheld.get(agent.id, 0),
            ),
        )
        for agent in agents
    ]


async def _acknowledge_seconds(session: AsyncSession) -> defaultdict[int, list[float]]:
    """Per operator, the seconds from each call's opening to their acknowledging it."""
    rows = await session.execute(
        select(CallEntry.operator_id, CallEntry.at, Call.opened_at)
        .join(Call, Call.id == CallEntry.call_id)
        .where(
            CallEntry.kind == "state",
            CallEntry.operator_id.is_not(None),
            CallEntry.detail["to"].as_string() == CallState.acknowledged.value,
        )
    )
    seconds: defaultdict[int, list[float]] = defaultdict(list)
    for operator_id, at, opened_at in rows:
        if operator_id is not None:
            seconds[operator_id].append((at - opened_at).total_seconds())
    return seconds


async def _count_by(
    session: AsyncSession, who: InstrumentedAttribute[str | None], done: ColumnElement[bool]
) -> dict[str, int]:
    """How many finished rows each username (`completed_by`) completed."""
    rows = await session.execute(select(who, func.count()).where(who.is_not(None), done).group_by(who))
    return {name: int(count) for name, count in rows if name is not None}


async def _scores_by_call_handler(session: AsyncSession) -> defaultdict[int, list[int]]:
    """Per operator, the satisfaction scores on follow-ups of the calls they handled."""
    rows = await session.execute(
        select(Call.claimed_by, FollowUp.satisfaction)
        .join(Call, Call.id == FollowUp.call_id)
        .where(
            Call.claimed_by.is_not(None),
            FollowUp.state == FollowUpState.done,
            FollowUp.satisfaction.is_not(None),
        )
    )
    scores: defaultdict[int, list[int]] = defaultdict(list)
    for operator_id, satisfaction in rows:
        if operator_id is not None and satisfaction is not None:
            scores[operator_id].append(satisfaction)
    return scores


async def flag_providers(*, session: AsyncSession, clock: Clock, settings: Settings) -> int:
    """Flag active providers below the thresholds (alerting supervisors), clear those now back above them;
    returns how many were newly flagged."""
    newly_flagged = 0
    for provider, _figures, found in await _assess(session, thresholds_from(settings)):
        if found and provider.status == ProviderStatus.active:
            newly_flagged += await _flag(session, clock, provider, found)
        elif not found and provider.review_flag:
            await _clear(session, clock, provider)
    return newly_flagged


async def _flag(session: AsyncSession, clock: Clock, provider: Provider, found: list[str]) -> int:
    """Set (or update) the provider's review flag; 1 if it was not flagged before, alerting supervisors."""
    reasons = ", ".join(found)
    if provider.review_flag == reasons:
        return 0
    was_flagged = bool(provider.review_flag)
    now = clock.now()
    provider.review_flag, provider.updated_at = reasons, now
    if not was_flagged:
        provider.flagged_at = now
    await session.flush()
    await _audit(session, clock, provider, "provider.quality_flag", reasons=found)
    if was_flagged:
        return 0
    await raise_alert(
        session=session,
        clock=clock,
        kind="provider_quality",
        key=f"quality:{provider.id}",
        text=f"服务商 {provider.name} 质量指标低于要求，需复核：{reasons}",
        audience=AlertAudience.supervisors,
        detail={"provider_id": provider.id, "provider_name": provider.name, "flags": found},
    )
    return 1


async def _clear(session: AsyncSession, clock: Clock, provider: Provider) -> None:
    previous = provider.review_flag
    provider.review_flag, provider.flagged_at, provider.updated_at = "", None, clock.now()
    await session.flush()
    await _audit(session, clock, provider, "provider.quality_clear", previous=previous)


async def _audit(
    session: AsyncSession, clock: Clock, provider: Provider, action: str, **detail: object
) -> None:
    await audit.record(
        session=session,
        clock=clock,
        actor=QUALITY,
        action=action,
        entity_type="provider",
        entity_id=provider.id,
        detail=dict(detail),
    )
