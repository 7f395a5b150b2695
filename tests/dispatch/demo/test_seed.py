"""The demo city: deterministic, big enough, every service covered, valid geometry, empty databases only."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime

import httpx
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.api.state import AppServices
from dispatch.assessments.instrument import load
from dispatch.assessments.models import Assessment
from dispatch.assessments.scoring import score
from dispatch.assessments.workflow import Step
from dispatch.auth.models import Operator
from dispatch.catalog import REQUIRED_MINIMUM_TWO, ServiceType
from dispatch.clock import FakeClock
from dispatch.demo.assessments import answers_for
from dispatch.demo.seed import generate_city, next_working_day, seed_demo_city
from dispatch.elders.idcard import parse_id_number
from dispatch.elders.models import Contact, Device, Elder, HealthRecord
from dispatch.elders.service import age_on
from dispatch.ingest.secrets import box_for
from dispatch.localtime import LOCAL_TZ
from dispatch.orders.models import RecurringPlan
from dispatch.providers.models import Provider, ProviderStatus
from dispatch.schemas import normalise_phone
from dispatch.settings import Settings

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
BOX = box_for(Settings(_env_file=None))
# Gulou district, Fuzhou, with a margin.
BOUNDS = (119.25, 26.05, 119.35, 26.13)


def _fingerprint(seed: int) -> list[tuple[object, ...]]:
    elders, providers = generate_city(seed=seed, elder_count=50, now=NOW)
    return [(e.name, e.id_number, e.home_lon, e.home_lat, e.phone) for e in elders] + [
        (p.name, p.registration_number, p.base_lon) for p in providers
    ]


def test_same_seed_same_city_other_seed_other_city() -> None:
    assert _fingerprint(7) == _fingerprint(7)
    assert _fingerprint(7) != _fingerprint(8)


def test_elders_are_valid_and_live_in_the_district() -> None:
    elders, _ = generate_city(seed=12349, elder_count=2000, now=NOW)
    assert len({e.id_number for e in elders}) == 2000
    for elder in elders:
        _, born, male = parse_id_number(elder.id_number)
        assert born == elder.birth_date
        assert male == (elder.sex == "male")
        assert BOUNDS[0] < elder.home_lon < BOUNDS[2]
        assert BOUNDS[1] < elder.home_lat < BOUNDS[3]
        assert elder.safe_area is not None
        assert shape(elder.safe_area).is_valid
        assert shape(elder.safe_area).contains(Point(elder.home_lon, elder.home_lat))
        assert [c.priority for c in elder.contacts] == [1, 2, 3]
        assert [normalise_phone(c.phone) for c in elder.contacts] == [c.phone for c in elder.contacts]
        assert len(elder.devices) == 1
    ages = [age_on(e.birth_date, NOW.date()) for e in elders]
    assert min(ages) >= 60
    assert sum(a >= 80 for a in ages) > 200
    assert sum(e.living_alone for e in elders) > 300
    assert len({e.community for e in elders}) == 20


def test_providers_cover_every_service_with_valid_areas() -> None:
    _, providers = generate_city(seed=12349, elder_count=10, now=NOW)
    assert len(providers) >= 30
    active = Counter(t for p in providers if p.status is ProviderStatus.active for t in p.service_types)
    assert set(active) == set(ServiceType)
    for required in REQUIRED_MINIMUM_TWO:
        assert active[required] >= 2, required
    assert {p.status for p in providers} == {
        ProviderStatus.active,
        ProviderStatus.pending,
        ProviderStatus.suspended,
    }
    for provider in providers:
        area = shape(provider.service_area)
        assert area.is_valid
        assert area.contains(Point(provider.base_lon, provider.base_lat))
        assert {item["service_type"] for item in provider.price_list} == set(provider.service_types)
        assert len(provider.staff) >= 2
    assert len({p.registration_number for p in providers}) == len(providers)


async def test_seeds_an_empty_database_once(session: AsyncSession) -> None:
    clock = FakeClock(NOW)
    assert (
        await seed_demo_city(session=session, clock=clock, seed=1, elder_count=2000, device_secrets=BOX)
        is True
    )
    await session.commit()
    counts = {
        model.__name__: await session.scalar(select(func.count()).select_from(model))
        for model in (Elder, HealthRecord, Contact, Device, Provider, Operator, RecurringPlan)
    }
    assert counts["Elder"] == counts["HealthRecord"] == counts["Device"] == 2000
    assert counts["Contact"] == 6000
    assert (counts["Provider"] or 0) >= 30
    assert counts["Operator"] == 6
    assert counts["RecurringPlan"] == 16  # weekday lunches and Saturday baths for elders living alone
    desk_phones = {
        name: phone for name, phone in await session.execute(select(Operator.username, Operator.phone))
    }
    assert desk_phones == {  # where the hotline rings them (the demo's fake Twilio answers for them)
        "admin": None,
        "supervisor": "+8659100000003",
        "agent1": "+8659100000001",
        "agent2": "+8659100000002",
        "assessor1": None,
        "assessor2": None,
    }
    grouped = await session.execute(select(Assessment.step, func.count()).group_by(Assessment.step))
    steps = {step: count for step, count in grouped.all()}
    assert set(steps) == set(Step) - {Step.withdrawn}  # an application at every step, and final results
    assert steps[Step.final] > 1200  # most of the 2,000 elders were assessed once
    today = NOW.astimezone(LOCAL_TZ).date()
    late = await session.scalar(
        select(func.count()).where(Assessment.step != Step.final, Assessment.due_on < today)
    )
    assert late == 2  # the late verification and the late agency
    sealed = list(await session.scalars(select(Device.secret).limit(20)))
    assert all(len(BOX.open(secret)) == 32 and BOX.open(secret) not in secret for secret in sealed)
    assert (
        await seed_demo_city(session=session, clock=clock, seed=2, elder_count=5, device_secrets=BOX) is False
    )
    assert await session.scalar(select(func.count()).select_from(Elder)) == 2000


async def test_demo_accounts_log_in_with_the_demo_password(
    client: httpx.AsyncClient, app_services: AppServices
) -> None:
    async with app_services.sessions() as session:
        await seed_demo_city(
            session=session,
            clock=app_services.clock,
            seed=3,
            elder_count=60,
            device_secrets=app_services.device_secrets,
        )
        await session.commit()
    roles = {}
    for username in ("admin", "supervisor", "agent1", "agent2"):
        response = await client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
        assert response.status_code == 200
        roles[username] = response.json()["operator"]["role"]
    assert roles == {"admin": "admin", "supervisor": "supervisor", "agent1": "agent", "agent2": "agent"}
    token = (await client.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})).json()
    page = await client.get(
        "/api/v1/elders?limit=50", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert len(page.json()["items"]) == 50
    assert page.json()["total"] == 60


def test_the_next_working_day_of_the_demo_providers_skips_sunday() -> None:
    friday, saturday, sunday = date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)
    assert next_working_day(friday) == saturday
    assert next_working_day(saturday) == date(2026, 12, 7)  # Monday: nobody cleans on Sundays
    assert next_working_day(sunday) == date(2026, 12, 7)


def test_demo_answers_add_up_to_the_total_asked_for() -> None:
    instrument = load()
    for total in (90, 78, 55, 38, 20, 0):
        answers = answers_for(instrument, total, random.Random(total))
        assert score(instrument, answers).total == total
