"""Two people moving one assessment at the same moment, on PostgreSQL (where two writers can cross; SQLite
lets one writer in at a time): two assessors signing at once both count, two objections at once give one
re-assessment and a 409, and two applications for one elder at once give one and a 409 naming it, never a
500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.api.app import create_app
from dispatch.api.state import AppServices
from dispatch.assessments import service
from dispatch.assessments.instrument import load
from dispatch.assessments.models import Applicant, Assessment
from dispatch.assessments.workflow import Procedure, Step
from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory
from dispatch.elders import service as elders_service
from dispatch.elders.schemas import ElderCreate
from dispatch.errors import Conflict
from dispatch.settings import Settings
from tests.dispatch.notify.test_webhooks import waiting_for_a_lock
from tests.factories import elder_payload, operator_headers

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
BEST = {code: max(item.options, key=lambda o: o.score).code for code, item in load().items.items()}
Sessions = async_sessionmaker[AsyncSession]


async def setting(sessions: Sessions, clock: FakeClock, step: Step) -> tuple[int, list[Actor]]:
    """An assessment at `step` with every item answered, and two assessors."""
    system = Actor.system("test")
    async with sessions() as session:
        elder = await elders_service.create(
            session=session, clock=clock, actor=system, data=ElderCreate.model_validate(elder_payload())
        )
        assessors = [
            await auth_service.create_operator(
                session=session,
                clock=clock,
                actor=system,
                username=name,
                display_name=name,
                role=Role.assessor,
                password="a long enough password",
            )
            for name in ("a1", "a2")
        ]
        assessment = Assessment(
            elder_id=elder.id,
            elder_name=elder.name,
            procedure=Procedure.standard,
            step=step,
            instrument="gbt-42195-2022",
            applicant=Applicant.elder,
            step_entered_at=clock.now(),
            answers=BEST,
            level=0,
            created_by=assessors[0].id,
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(assessment)
        await session.commit()
        actors = [Actor(operator_id=o.id, username=o.username, role=o.role, ip=None) for o in assessors]
        return assessment.id, actors


@pytest.fixture
async def sessions(pg_db_settings: Settings) -> AsyncIterator[Sessions]:
    engine = create_engine(pg_db_settings)
    yield create_session_factory(engine)
    await engine.dispose()


async def test_two_assessors_signing_at_once_both_count(sessions: Sessions, pg_db_settings: Settings) -> None:
    clock = FakeClock(NOW)
    assessment_id, (first, second) = await setting(sessions, clock, Step.organised)
    engine = create_engine(pg_db_settings)
    try:
        async with sessions() as one, sessions() as two:
            await service.move(
                session=one, clock=clock, actor=first, assessment_id=assessment_id, to=Step.assessed
            )
            late = asyncio.create_task(
                service.move(
                    session=two, clock=clock, actor=second, assessment_id=assessment_id, to=Step.assessed
                )
            )
            await waiting_for_a_lock(engine)  # the second signature waits for the first one's row lock
            await one.commit()
            assert (await late).step == Step.assessed
            await two.commit()
    finally:
        await engine.dispose()
    async with sessions() as session:
        signed = await session.get(Assessment, assessment_id)
    assert signed is not None
    assert (signed.step, signed.assessor1_id, signed.assessor2_id, signed.total) == (
        Step.assessed,
        first.operator_id,
        second.operator_id,
        90,
    )


async def test_two_objections_at_once_give_one_reassessment_and_a_conflict(
    sessions: Sessions, pg_db_settings: Settings
) -> None:
    clock = FakeClock(NOW)
    original, (agent, _) = await setting(sessions, clock, Step.final)
    async with sessions() as session:
        elder_id = (await service.get(session=session, assessment_id=original)).elder_id

    async def object_to_it(session: AsyncSession) -> Assessment:
        return await service.apply(
            session=session,
            clock=clock,
            actor=agent,
            elder_id=elder_id,
            procedure=Procedure.reassessment,
            applicant=Applicant.family,
            reassessment_of=original,
        )

    engine = create_engine(pg_db_settings)
    try:
        async with sessions() as one, sessions() as two:
            await object_to_it(one)
            late = asyncio.create_task(object_to_it(two))
            await waiting_for_a_lock(engine)  # the second insert waits on the first one's unique entry
            await one.commit()
            with pytest.raises(Conflict) as refused:
                await late
            assert refused.value.reason == "no_objection_possible"
    finally:
        await engine.dispose()


async def test_two_applications_for_one_elder_at_once_give_one_and_a_conflict_naming_it(
    sessions: Sessions, pg_db_settings: Settings
) -> None:
    clock = FakeClock(NOW)
    final, (agent, _) = await setting(sessions, clock, Step.final)
    async with sessions() as session:
        elder_id = (await service.get(session=session, assessment_id=final)).elder_id

    async def apply(session: AsyncSession) -> Assessment:
        return await service.apply(
            session=session,
            clock=clock,
            actor=agent,
            elder_id=elder_id,
            procedure=Procedure.standard,
            applicant=Applicant.family,
            materials=["application_form", "identity_documents"],
        )

    engine = create_engine(pg_db_settings)
    try:
        async with sessions() as one, sessions() as two:
            first = await apply(one)
            late = asyncio.create_task(apply(two))  # it checked before the first committed: none open
            await waiting_for_a_lock(engine)  # its insert waits on the first one's unique entry
            await one.commit()
            with pytest.raises(Conflict) as refused:
                await late
            assert (refused.value.reason, refused.value.params) == (
                "assessment_open",
                {"assessment_id": first.id, "open_step": "accepted"},
            )
    finally:
        await engine.dispose()


async def test_two_agents_applying_through_the_api_at_the_same_instant_get_201_and_409(
    pg_db_settings: Settings,
) -> None:
    clock = FakeClock(NOW)
    application = create_app(pg_db_settings, clock=clock)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client,
    ):
        services: AppServices = application.state.services
        agents = [await operator_headers(services, client, Role.agent) for _ in range(2)]
        for _ in range(5):
            elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agents[0])).json()
            body = {"elder_id": elder["id"], "materials": ["application_form"]}
            answers = await asyncio.gather(
                *(client.post("/api/v1/assessments", json=body, headers=agent) for agent in agents)
            )
            assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
            [made] = [a.json() for a in answers if a.status_code == 201]
            [refused] = [a.json() for a in answers if a.status_code == 409]
            assert (refused["reason"], refused["params"]["assessment_id"]) == ("assessment_open", made["id"])
