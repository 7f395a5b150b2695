"""Eight simulated weeks of care calls in the demo city: the scheduler runs every morning, the agents make
every call due, one elder living alone never answers the phone and is visited by the community worker
each week instead. Every elder at risk is reached every week, every elder every month."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts.models import Alert
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.carecalls import service as care
from dispatch.carecalls.models import CareAssignee, CareCall, CareCallState, CareChannel
from dispatch.carecalls.schemas import AttemptIn
from dispatch.clock import FakeClock
from dispatch.demo.seed import seed_demo_city
from dispatch.elders.models import Elder, HealthRecord
from dispatch.ingest.secrets import box_for
from dispatch.localtime import local_date, month_period, week_period
from dispatch.notify.models import SmsMessage, SmsPurpose
from dispatch.settings import Settings

START = datetime(2026, 4, 6, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai; eight weeks end on Sunday 31 May
DAYS = 56
HARDSHIP = {"extreme_poverty", "minimum_living", "registered_poor"}


@dataclass(frozen=True)
class Person:
    """What the test needs to know about a demo elder, read straight from the tables."""

    elder_id: int
    birth_date: date
    living_alone: bool
    empty_nest: bool
    ability: int
    subsidies: frozenset[str]

    def at_risk_on(self, day: date) -> bool:
        age = (
            day.year
            - self.birth_date.year
            - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))
        )
        return (
            self.living_alone
            or self.empty_nest
            or self.ability >= 3
            or "severe_disability" in self.subsidies
            or "family_planning_special" in self.subsidies
            or (age >= 80 and bool(self.subsidies & HARDSHIP))
        )


async def demo_people(session: AsyncSession) -> list[Person]:
    rows = await session.execute(
        select(Elder, HealthRecord.self_care_ability).join(HealthRecord).order_by(Elder.id)
    )
    return [
        Person(e.id, e.birth_date, e.living_alone, e.empty_nest, ability, frozenset(e.subsidy_categories))
        for e, ability in rows
    ]


async def agents(session: AsyncSession) -> dict[int, Actor]:
    operators = await session.scalars(select(Operator).where(Operator.role == Role.agent))
    return {o.id: Actor(operator_id=o.id, username=o.username, role=o.role) for o in operators}


async def due_calls(session: AsyncSession, today: date) -> list[CareCall]:
    items, _ = await care.list_care_calls(
        session=session, limit=1000, offset=0, state=CareCallState.scheduled, due_on_or_before=today
    )
    return items


async def work_the_day(
    session: AsyncSession,
    clock: FakeClock,
    settings: Settings,
    desk: dict[int, Actor],
    silent_elder: int,
) -> None:
    """Agents make every call due (twice, unanswered, for the silent elder); community workers visit."""
    today = local_date(clock.now())
    while calls := await due_calls(session, today):
        for call in calls:
            actor = desk[call.operator_id] if call.operator_id is not None else next(iter(desk.values()))
            never_answers = call.elder_id == silent_elder and call.assignee == CareAssignee.agent
            tries = settings.care_max_attempts if never_answers else 1
            channel = (
                CareChannel.visit if call.assignee == CareAssignee.community_worker else CareChannel.phone
            )
            for _ in range(tries):
                await care.record_attempt(
                    session=session,
                    clock=clock,
                    settings=settings,
                    actor=actor,
                    care_call_id=call.id,
                    data=AttemptIn(reached=not never_answers, channel=channel),
                )


def expected_tasks(people: list[Person], days: list[date]) -> Counter[str]:
    """Weekly calls: elders at risk on some day of the week; monthly: the others on some day of the month."""
    weekly: set[tuple[int, str]] = set()
    monthly: set[tuple[int, str]] = set()
    for day in days:
        for person in people:
            if person.at_risk_on(day):
                weekly.add((person.elder_id, week_period(day)))
            else:
                monthly.add((person.elder_id, month_period(day)))
    return Counter(weekly=len(weekly), monthly=len(monthly))


async def test_eight_weeks_of_care_calls(session: AsyncSession, db_settings: Settings) -> None:
    clock = FakeClock(START)
    assert (
        await seed_demo_city(session=session, clock=clock, seed=12349, elder_count=60, now=None)
        if False
        else True
    )
    assert await seed_demo_city(
        session=session, clock=clock, seed=12349, elder_count=60, device_secrets=box_for(db_settings)
    )
    await session.commit()
    people = await demo_people(session)
    desk = await agents(session)
    silent = next(p for p in people if p.living_alone)
    days = [local_date(START) + timedelta(days=n) for n in range(DAYS)]

    created = overdue = 0
    for _ in days:
        created += await care.schedule(session=session, clock=clock)
        overdue += await care.escalate_due(session=session, clock=clock, settings=db_settings)
        await work_the_day(session, clock, db_settings, desk, silent.elder_id)
        await session.commit()
        clock.advance(timedelta(days=1).total_seconds())

    calls = list(await session.scalars(select(CareCall)))
    done: dict[int, set[date]] = defaultdict(set)
    for call in calls:
        if call.state == CareCallState.done and call.completed_at is not None:
            done[call.elder_id].add(local_date(call.completed_at))

    weeks = sorted({week_period(day) for day in days})
    assert len(weeks) == 8
    for week in weeks:
        week_days = [day for day in days if week_period(day) == week]
        for person in people:
            if any(person.at_risk_on(day) for day in week_days):
                assert any(week_period(day) == week for day in done[person.elder_id]), (person, week)
    assert sum(p.at_risk_on(days[0]) for p in people) >= 20  # the demo city has plenty of them
    for month in ("2026-04", "2026-05"):
        for person in people:
            assert any(month_period(day) == month for day in done[person.elder_id]), (person, month)

    silent_calls = [c for c in calls if c.elder_id == silent.elder_id]
    escalated = [c for c in silent_calls if c.state == CareCallState.escalated]
    visits = [c for c in silent_calls if c.assignee == CareAssignee.community_worker]
    assert len(escalated) == 8
    assert {c.escalation_reason for c in escalated} == {"unreached"}
    assert {c.attempts for c in escalated} == {db_settings.care_max_attempts}
    assert sorted(v.escalated_from_id or 0 for v in visits) == sorted(c.id for c in escalated)
    assert {(v.state, v.channel) for v in visits} == {(CareCallState.done, CareChannel.visit)}
    assert overdue == 0
    assert [c for c in calls if c.elder_id != silent.elder_id and c.state != CareCallState.done] == []

    expected = expected_tasks(people, days)
    assert created == expected["weekly"] + expected["monthly"]
    by_kind = Counter(f"{c.cadence.value}/{c.assignee.value}" for c in calls)
    assert by_kind == {
        "weekly/agent": expected["weekly"],
        "monthly/agent": expected["monthly"],
        "weekly/community_worker": 8,
    }
    texts = await session.scalar(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.purpose == SmsPurpose.care_visit)
    )
    heartbeat_alerts = await session.scalars(select(Alert.key).where(Alert.kind == "care_no_heartbeat"))
    assert texts == 8
    assert sorted(heartbeat_alerts) == sorted(f"care-heartbeat:{silent.elder_id}:{week}" for week in weeks)
