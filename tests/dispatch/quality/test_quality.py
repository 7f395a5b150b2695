"""Quality figures from rows in the database: per provider and per agent through the API, and flagging
providers for review (set, kept, cleared, one alert)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts.models import Alert
from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.calls.models import Call, CallEntry, CallSource
from dispatch.calls.rules import CallCategory
from dispatch.calls.states import CallState
from dispatch.carecalls.models import CareAssignee, CareCadence, CareCall, CareCallState, CareChannel
from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.complaints.models import (
    Complaint,
    ComplaintKind,
    ComplaintSource,
    ComplaintState,
    ComplaintTarget,
)
from dispatch.elders import service as elders_service
from dispatch.elders.models import Elder
from dispatch.elders.schemas import ElderCreate
from dispatch.followups.models import FollowUp, FollowUpKind, FollowUpState
from dispatch.offers.models import Job, JobState, Offer, OfferState
from dispatch.orders.models import OrderSource, OrderState, PaymentMethod, ServiceOrder
from dispatch.providers import service as providers_service
from dispatch.providers.models import Provider, ProviderStatus
from dispatch.providers.schemas import ProviderCreate
from dispatch.quality import service as quality
from dispatch.settings import Settings
from tests.conftest import START
from tests.factories import elder_payload, make_operator, operator_headers, provider_payload

TEST = Actor.system("test")
T0 = START - timedelta(days=1)  # the history happened yesterday


class Rows:
    """Builds the rows the figures are taken from."""

    def __init__(self, session: AsyncSession, clock: FakeClock) -> None:
        self.session, self.clock = session, clock

    async def elder(self) -> Elder:
        data = ElderCreate.model_validate(elder_payload())
        return await elders_service.create(session=self.session, clock=self.clock, actor=TEST, data=data)

    async def provider(self, name: str, status: ProviderStatus = ProviderStatus.active) -> Provider:
        data = ProviderCreate.model_validate(provider_payload(name=name))
        provider = await providers_service.create(
            session=self.session, clock=self.clock, actor=TEST, data=data
        )
        provider.status = status  # admission is not what these tests are about
        await self.session.flush()
        return provider

    async def offers(
        self, elder: Elder, provider: Provider, *answers: tuple[OfferState, float | None]
    ) -> None:
        """One job and offer each: (state, seconds the provider took to answer)."""
        for state, seconds in answers:
            job = Job(
                elder_id=elder.id,
                service_type=ServiceType.meal_assistance,
                lon=119.29,
                lat=26.08,
                address=elder.address,
                window="今天",
                parallel=1,
                timeout_seconds=300,
                state=JobState.completed,
                created_by="test",
                created_at=T0,
                updated_at=T0,
            )
            self.session.add(job)
            await self.session.flush()
            answered = None if seconds is None else T0 + timedelta(seconds=seconds)
            self.session.add(
                Offer(
                    job_id=job.id,
                    provider_id=provider.id,
                    provider_name=provider.name,
                    provider_phone=provider.phone,
                    rank=1,
                    distance_m=500,
                    code="4821",
                    state=state,
                    offered_at=T0,
                    answered_at=answered,
                    updated_at=T0,
                )
            )
        await self.session.flush()

    async def order(self, elder: Elder, provider: Provider, state: OrderState, late_s: float | None) -> None:
        """An order with a two-hour window; the provider arrived `late_s` after its end (None: not yet)."""
        end = T0 + timedelta(hours=2)
        self.session.add(
            ServiceOrder(
                elder_id=elder.id,
                elder_name=elder.name,
                service_type=ServiceType.meal_assistance,
                source=OrderSource.phone,
                state=state,
                window_start=T0,
                window_end=end,
                address=elder.address,
                lon=119.29,
                lat=26.08,
                provider_id=provider.id,
                provider_name=provider.name,
                payment_method=PaymentMethod.self_pay,
                arrived_at=None if late_s is None else end + timedelta(seconds=late_s),
                history=[],
                created_by="test",
                created_at=T0,
                updated_at=T0,
            )
        )
        await self.session.flush()

    async def follow_up(
        self,
        elder: Elder,
        satisfaction: int | None,
        *,
        provider: Provider | None = None,
        call: Call | None = None,
        completed_by: str | None = None,
    ) -> None:
        done = satisfaction is not None
        self.session.add(
            FollowUp(
                kind=FollowUpKind.call if call else FollowUpKind.order,
                call_id=call.id if call else None,
                elder_id=elder.id,
                elder_name=elder.name,
                provider_id=provider.id if provider else None,
                provider_name=provider.name if provider else None,
                subject="回访",
                state=FollowUpState.done if done else FollowUpState.pending,
                due_at=T0,
                next_attempt_at=T0,
                attempts=1 if done else 0,
                attempt_log=[],
                reached=done or None,
                satisfaction=satisfaction,
                completed_by=completed_by,
                completed_at=T0 if done else None,
                created_at=T0,
                updated_at=T0,
            )
        )
        await self.session.flush()

    async def complaint(
        self,
        target: ComplaintTarget,
        upheld: bool | None,
        *,
        provider: Provider | None = None,
        operator: Operator | None = None,
    ) -> None:
        self.session.add(
            Complaint(
                kind=ComplaintKind.complaint,
                source=ComplaintSource.phone,
                target=target,
                provider_id=provider.id if provider else None,
                operator_id=operator.id if operator else None,
                text="投诉",
                state=ComplaintState.open if upheld is None else ComplaintState.resolved,
                upheld=upheld,
                due_at=T0,
                notes=[],
                created_by="test",
                created_at=T0,
                updated_at=T0,
            )
        )
        await self.session.flush()

    async def acknowledged_call(self, elder: Elder, agent: Operator, opened_s: float, after_s: float) -> Call:
        """A call opened at T0 + opened_s, acknowledged (and handled) by `agent` after_s later."""
        opened = T0 + timedelta(seconds=opened_s)
        call = Call(
            elder_id=elder.id,
            elder_name=elder.name,
            source=CallSource.device_alarm,
            priority=1,
            category=CallCategory.fall,
            state=CallState.resolved,
            opened_at=opened,
            state_since=opened,
            claimed_by=agent.id,
            claimed_by_name=agent.username,
            updated_at=opened,
        )
        self.session.add(call)
        await self.session.flush()
        acknowledged = opened + timedelta(seconds=after_s)
        for at, before, after in (
            (acknowledged, CallState.new, CallState.acknowledged),
            (acknowledged + timedelta(minutes=5), CallState.acknowledged, CallState.resolved),
        ):
            self.session.add(
                CallEntry(
                    call_id=call.id,
                    at=at,
                    kind="state",
                    operator_id=agent.id,
                    username=agent.username,
                    detail={"from": before.value, "to": after.value, "outcome": None},
                )
            )
        await self.session.flush()
        return call

    async def care_call(self, elder: Elder, agent: Operator, week: int, state: CareCallState) -> None:
        self.session.add(
            CareCall(
                elder_id=elder.id,
                elder_name=elder.name,
                cadence=CareCadence.weekly,
                period=f"2026-W{week:02d}",
                due_on=date(2026, 3, 2),
                channel=CareChannel.phone,
                assignee=CareAssignee.agent,
                operator_id=agent.id,
                operator_name=agent.username,
                state=state,
                attempts=1,
                attempt_log=[],
                completed_by=agent.username if state == CareCallState.done else None,
                completed_at=T0 if state == CareCallState.done else None,
                created_at=T0,
                updated_at=T0,
            )
        )
        await self.session.flush()


D = OfferState


async def seed_providers(session: AsyncSession, clock: FakeClock) -> tuple[Provider, Provider, Provider]:
    """A slow active provider (accepts 1 of 6), a good one, and a pending one that declines everything."""
    rows = Rows(session, clock)
    elder = await rows.elder()
    slow, good = await rows.provider("慢接单助餐"), await rows.provider("好服务助餐")
    pending = await rows.provider("待审助餐", ProviderStatus.pending)
    await rows.offers(
        elder, slow, (D.done, 30), *[(D.declined, 20)] * 4, (D.expired, 300), (D.withdrawn, None)
    )
    await rows.order(elder, slow, OrderState.completed, 3600)
    await rows.order(elder, slow, OrderState.scheduled, None)
    await rows.follow_up(elder, 2, provider=slow)
    await rows.follow_up(elder, 3, provider=slow)
    await rows.follow_up(elder, None, provider=slow)  # not reached yet: no score
    await rows.complaint(ComplaintTarget.provider, True, provider=slow)
    await rows.complaint(ComplaintTarget.provider, False, provider=slow)
    await rows.complaint(ComplaintTarget.service, True, provider=slow)  # about the platform: not counted
    await rows.offers(elder, good, *[(D.done, 60.0 * n) for n in range(1, 6)])
    await rows.order(elder, good, OrderState.followed_up, -600)
    await rows.offers(elder, pending, *[(D.declined, 10)] * 6)
    await session.commit()
    return slow, good, pending


def figures(**values: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "offers": 0,
        "answered": 0,
        "accepted": 0,
        "acceptance_rate": None,
        "mean_seconds_to_accept": None,
        "done": 0,
        "completion_rate": None,
        "orders": 0,
        "orders_done": 0,
        "orders_failed": 0,
        "arrivals": 0,
        "late": 0,
        "late_rate": None,
        "satisfaction": None,
        "scores": 0,
        "upheld_complaints": 0,
    }
    return {**empty, **values}


async def test_provider_quality_shows_each_providers_figures_and_flags(
    client: httpx.AsyncClient, app_services: AppServices, session: AsyncSession, clock: FakeClock
) -> None:
    slow, good, pending = await seed_providers(session, clock)
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    agent = await operator_headers(app_services, client, Role.agent, "agent1")

    response = await client.get("/api/v1/quality/providers", headers=supervisor)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    by_id = {item["provider_id"]: item for item in body["items"]}
    assert by_id[slow.id]["figures"] == figures(
        offers=7,
        answered=6,
        accepted=1,
        acceptance_rate=pytest.approx(1 / 6),
        mean_seconds_to_accept=30.0,
        done=1,
        completion_rate=1.0,
        orders=2,
        orders_done=1,
        arrivals=1,
        late=1,
        late_rate=1.0,
        satisfaction=2.5,
        scores=2,
        upheld_complaints=1,
    )
    assert by_id[slow.id]["flags"] == ["low_acceptance_rate"]
    assert (by_id[slow.id]["name"], by_id[slow.id]["status"]) == ("慢接单助餐", "active")
    assert by_id[good.id]["figures"] == figures(
        offers=5,
        answered=5,
        accepted=5,
        acceptance_rate=1.0,
        mean_seconds_to_accept=180.0,
        done=5,
        completion_rate=1.0,
        orders=1,
        orders_done=1,
        arrivals=1,
        late_rate=0.0,
    )
    assert by_id[good.id]["flags"] == []
    assert (by_id[pending.id]["status"], by_id[pending.id]["flags"]) == ("pending", ["low_acceptance_rate"])
    assert (await client.get("/api/v1/quality/providers", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/quality/agents", headers=agent)).status_code == 403


def flag_of(provider: Provider) -> tuple[str, datetime | None]:
    return provider.review_flag, provider.flagged_at


async def alerts(session: AsyncSession) -> list[tuple[str, str]]:
    return [(a.kind, a.key) for a in await session.scalars(select(Alert).order_by(Alert.id))]


async def test_flagging_sets_keeps_and_clears_the_review_flag_with_one_alert(
    session: AsyncSession, clock: FakeClock, db_settings: Settings
) -> None:
    slow, good, pending = await seed_providers(session, clock)

    assert await quality.flag_providers(session=session, clock=clock, settings=db_settings) == 1
    assert flag_of(slow) == ("low_acceptance_rate", START)
    assert (good.review_flag, pending.review_flag) == ("", "")  # a pending provider is not flagged
    assert await alerts(session) == [("provider_quality", f"quality:{slow.id}")]

    clock.advance(3600)
    assert await quality.flag_providers(session=session, clock=clock, settings=db_settings) == 0
    assert slow.flagged_at == START  # still flagged since then, not again
    assert len(await alerts(session)) == 1

    # Four more accepted jobs: 5 of 10 answered is the minimum, no longer below it.
    elder = await session.scalar(select(Elder).limit(1))
    assert elder is not None
    await Rows(session, clock).offers(elder, slow, *[(D.done, 40)] * 4)
    assert await quality.flag_providers(session=session, clock=clock, settings=db_settings) == 0
    assert flag_of(slow) == ("", None)
    assert len(await alerts(session)) == 1


async def test_a_stricter_setting_adds_reasons_to_a_flag_without_a_second_alert(
    session: AsyncSession, clock: FakeClock, db_settings: Settings
) -> None:
    slow, _, _ = await seed_providers(session, clock)
    assert await quality.flag_providers(session=session, clock=clock, settings=db_settings) == 1

    strict = db_settings.model_copy(update={"quality_min_sample": 2, "quality_max_upheld_complaints": 0})
    assert await quality.flag_providers(session=session, clock=clock, settings=strict) == 0

    assert slow.review_flag == "low_acceptance_rate, low_satisfaction, upheld_complaints"
    assert len(await alerts(session)) == 1


async def test_agent_quality_counts_acknowledgements_follow_ups_care_calls_and_complaints(
    client: httpx.AsyncClient, app_services: AppServices, session: AsyncSession, clock: FakeClock
) -> None:
    supervisor = await operator_headers(app_services, client, Role.supervisor, "sup1")
    first = await make_operator(app_services, "agent1", Role.agent)
    second = await make_operator(app_services, "agent2", Role.agent)
    rows = Rows(session, clock)
    elder = await rows.elder()
    call_a = await rows.acknowledged_call(elder, first, 0, 30)
    call_b = await rows.acknowledged_call(elder, first, 100, 90)
    call_c = await rows.acknowledged_call(elder, second, 200, 10)
    # agent2 made the follow-up calls; the scores count for whoever handled the emergency call.
    await rows.follow_up(elder, 4, call=call_a, completed_by="agent2")
    await rows.follow_up(elder, 2, call=call_b, completed_by="agent2")
    await rows.follow_up(elder, None, call=call_c)
    await rows.care_call(elder, first, 10, CareCallState.done)
    await rows.care_call(elder, first, 11, CareCallState.escalated)
    await rows.complaint(ComplaintTarget.agent, True, operator=second)
    await rows.complaint(ComplaintTarget.agent, False, operator=first)
    await session.commit()

    response = await client.get("/api/v1/quality/agents", headers=supervisor)

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "operator_id": first.id,
                "username": "agent1",
                "display_name": "agent1",
                "active": True,
                "figures": {
                    "calls_acknowledged": 2,
                    "mean_seconds_to_acknowledge": 60.0,
                    "follow_ups_completed": 0,
                    "satisfaction": 3.0,
                    "scores": 2,
                    "care_calls_completed": 1,
                    "upheld_complaints": 0,
                },
            },
            {
                "operator_id": second.id,
                "username": "agent2",
                "display_name": "agent2",
                "active": True,
                "figures": {
                    "calls_acknowledged": 1,
                    "mean_seconds_to_acknowledge": 10.0,
                    "follow_ups_completed": 2,
                    "satisfaction": None,
                    "scores": 0,
                    "care_calls_completed": 0,
                    "upheld_complaints": 1,
                },
            },
        ],
        "total": 2,
    }


def test_thresholds_come_from_the_settings(db_settings: Settings) -> None:
    custom = db_settings.model_copy(update={"quality_min_sample": 9, "quality_max_late_rate": 0.1})

    thresholds = quality.thresholds_from(custom)

    assert (thresholds.min_sample, thresholds.max_late_rate) == (9, 0.1)
    assert (thresholds.min_acceptance_rate, thresholds.min_completion_rate) == (0.5, 0.8)
    assert (thresholds.min_satisfaction, thresholds.max_upheld_complaints) == (3.0, 1)
