"""Two server processes (two apps, each with its own connections) racing on PostgreSQL: their service
desks dispatching the same new orders, and two dispatches of the same call, many times over: every order
and every call ends with exactly one live job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.calls.models import CallSource
from dispatch.calls.rules import CallCategory
from dispatch.calls.states import CallState
from dispatch.catalog import ServiceType
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.elders import service as elders_service
from dispatch.elders.schemas import ElderCreate
from dispatch.errors import Conflict
from dispatch.matching import MatchResult
from dispatch.notify.service import options_for
from dispatch.offers import service as offers
from dispatch.offers.models import LIVE_JOB_STATES, Job
from dispatch.orders import service as orders
from dispatch.orders.models import OrderSource
from dispatch.orders.schemas import OrderCreate
from dispatch.settings import Settings
from tests.conftest import START
from tests.dispatch.offers.test_offers import acknowledged_fall, rescue_provider
from tests.dispatch.orders.test_orders import cleaner, tomorrow
from tests.factories import elder_payload, operator_headers

ROUNDS = 5
PER_ROUND = 8
AGENT = Actor(operator_id=None, username="race", role=Role.agent, ip=None)


@pytest.fixture
def settings(pg_db_settings: Settings) -> Settings:
    return pg_db_settings


@asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[FastAPI, AppServices]]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app, app.state.services


async def live_jobs_per(services: AppServices, column: str) -> dict[int, int]:
    key = getattr(Job, column)
    async with services.sessions() as session:
        rows = await session.execute(
            select(key, func.count()).where(Job.state.in_(LIVE_JOB_STATES), key.is_not(None)).group_by(key)
        )
        return {int(k): int(n) for k, n in rows.all()}


async def new_elders(services: AppServices, count: int) -> list[int]:
    async with unit_of_work(services.sessions) as session:
        created = [
            await elders_service.create(
                session=session,
                clock=services.clock,
                actor=AGENT,
                data=ElderCreate.model_validate(elder_payload(name=f"老人{n}")),
            )
            for n in range(count)
        ]
        return [elder.id for elder in created]


async def test_two_desks_dispatching_the_same_new_orders_make_one_live_job_each(settings: Settings) -> None:
    clock = FakeClock(START)
    async with running(settings, clock) as (app, one), running(settings, clock) as (_, other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            supervisor = await operator_headers(one, client, Role.supervisor, "supervisor")
            await cleaner(client, supervisor, "保洁一", "+8613900000031")
            await cleaner(client, supervisor, "保洁二", "+8613900000032", lat=26.085)
        made: list[int] = []
        for _ in range(ROUNDS):
            async with unit_of_work(one.sessions) as session:
                for elder_id in await new_elders(one, PER_ROUND):
                    data = OrderCreate(
                        elder_id=elder_id,
                        service_type=ServiceType.cleaning,
                        source=OrderSource.app,
                        **tomorrow(clock),
                    )
                    made.append(
                        (await orders.create(session=session, clock=clock, actor=AGENT, data=data)).id
                    )
            await asyncio.gather(one.desk.dispatch_new_orders(), other.desk.dispatch_new_orders())
        assert await live_jobs_per(one, "order_id") == dict.fromkeys(made, 1)
        async with one.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Job)) == len(made)


async def test_two_dispatches_of_the_same_dispatched_call_make_one_live_job(settings: Settings) -> None:
    """The call was dispatched before and its job ended (e.g. nobody accepted); two agents send help again."""
    clock = FakeClock(START)
    async with running(settings, clock) as (app, one), running(settings, clock) as (_, other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            supervisor = await operator_headers(one, client, Role.supervisor, "supervisor")
            await rescue_provider(client, supervisor, "急救站", "+8613900000001", 26.085)
        options = options_for(settings)
        policy = offers.policy_for(settings, ServiceType.emergency_rescue)
        refused = 0
        call_ids: list[int] = []
        for elder_id in await new_elders(one, ROUNDS * 2):
            call_id = await acknowledged_call(one, elder_id)
            call_ids.append(call_id)

            async def dispatch(services: AppServices, call_id: int = call_id) -> None:
                async with unit_of_work(services.sessions) as session:

                    async def match(lon: float, lat: float) -> MatchResult:
                        return await services.matcher.match(
                            session=session,
                            service_type=ServiceType.emergency_rescue,
                            lon=lon,
                            lat=lat,
                            at=clock.now(),
                        )

                    await offers.dispatch_call(
                        session=session,
                        clock=clock,
                        actor=AGENT,
                        call_id=call_id,
                        service_type=ServiceType.emergency_rescue,
                        match=match,
                        policy=policy,
                        options=options,
                    )

            await dispatch(one)
            async with unit_of_work(one.sessions) as session:
                [job_id] = await session.scalars(select(Job.id).where(Job.call_id == call_id))
                await offers.cancel_job(session=session, clock=clock, job_id=job_id, options=options)
            results = await asyncio.gather(dispatch(one), dispatch(other), return_exceptions=True)
            refused += sum(isinstance(r, Conflict) for r in results)
            assert [r for r in results if r is not None and not isinstance(r, Conflict)] == []
        assert await live_jobs_per(one, "call_id") == dict.fromkeys(call_ids, 1)
        assert refused == len(call_ids)


async def acknowledged_call(services: AppServices, elder_id: int) -> int:
    from dispatch.calls import service as calls

    async with unit_of_work(services.sessions) as session:
        call = await calls.open_call(
            session=session,
            clock=services.clock,
            actor=AGENT,
            elder_id=elder_id,
            priority=1,
            category=CallCategory.fall,
            source=CallSource.agent,
            reason="fall",
        )
        await calls.transition(
            session=session, clock=services.clock, actor=AGENT, call_id=call.id, target=CallState.acknowledged
        )
        return call.id


async def test_a_call_cancelled_while_its_provider_accepts_ends_its_job_without_a_deadlock(
    settings: Settings,
) -> None:
    """The reply locks the job, then writes to the call; the cancel must take the job before the call too."""
    clock = FakeClock(START)
    async with running(settings, clock) as (app_one, one), running(settings, clock) as (app_other, _):
        t1, t2 = httpx.ASGITransport(app=app_one), httpx.ASGITransport(app=app_other)
        async with (
            httpx.AsyncClient(transport=t1, base_url="http://t") as a,
            httpx.AsyncClient(transport=t2, base_url="http://t") as b,
        ):
            supervisor = await operator_headers(one, a, Role.supervisor, "supervisor")
            agent = await operator_headers(one, a, Role.agent, "agent1")
            provider = await rescue_provider(a, supervisor, "急救站", "+8613900000001", 26.085)
            for _ in range(ROUNDS * 2):
                _, url = await acknowledged_fall(a, agent, name="王秀英")
                job = (
                    await a.post(f"{url}/dispatch", json={"service_type": "emergency_rescue"}, headers=agent)
                ).json()
                accept = {"from": provider["phone"], "body": f"接 {job['offers'][0]['code']}"}
                replied, cancelled = await asyncio.gather(
                    a.post("/api/v1/sms/replies", json=accept, headers=agent),
                    b.post(f"{url}/transition", json={"state": "cancelled"}, headers=agent),
                )
                assert (replied.status_code, cancelled.status_code) == (201, 200), (
                    replied.text,
                    cancelled.text,
                )
                [ended] = (await a.get(f"{url}/jobs", headers=agent)).json()
                assert ended["state"] == "cancelled"
