"""Care calls (探访关爱): scheduling them over agents and days, recording each try, and handing an elder
nobody reached (or whose call is overdue) to their community worker, with an alert if the elder's
devices are silent too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts.models import AlertAudience
from dispatch.alerts.service import raise_alert
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.calls.models import Call
from dispatch.carecalls.models import CareAssignee, CareCadence, CareCall, CareCallState, CareChannel
from dispatch.carecalls.planning import (
    AgentLoad,
    ElderFacts,
    PlannedCall,
    cadence_of,
    month_days,
    plan_calls,
    week_days,
)
from dispatch.carecalls.schemas import AttemptIn
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Contact, ContactKind, Device, Elder, ElderStatus, HealthRecord
from dispatch.errors import InvalidTransition, NotFound
from dispatch.localtime import local_date, month_period, week_period
from dispatch.notify import service as sms
from dispatch.notify.models import SmsPurpose
from dispatch.notify.templates import render
from dispatch.orders.models import ServiceOrder
from dispatch.settings import Settings

REASON_UNREACHED = "unreached"  # not reached after settings.care_max_attempts tries
REASON_OVERDUE = "overdue"  # its day passed more than OVERDUE_GRACE ago without a contact
OVERDUE_GRACE = timedelta(days=1)
SYSTEM = Actor.system("care-calls")
REASON_TEXT = {
    "zh": {REASON_UNREACHED: "坐席多次电话未能联系上老人", REASON_OVERDUE: "探访电话逾期未完成"},
    "en": {
        REASON_UNREACHED: "the call centre could not reach the elder",
        REASON_OVERDUE: "care call overdue",
    },
}


def reason_text(reason: str, language: str) -> str:
    """An escalation reason in words for the community worker's SMS."""
    return REASON_TEXT.get(language, REASON_TEXT["en"]).get(reason, reason)


# --- reading -------------------------------------------------------------------------------------


async def get(*, session: AsyncSession, care_call_id: int) -> CareCall:
    """One care call, or NotFound."""
    care_call = await session.get(CareCall, care_call_id)
    if care_call is None:
        raise NotFound(f"care call {care_call_id} not found")
    return care_call


async def list_care_calls(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    state: CareCallState | None = None,
    assignee: CareAssignee | None = None,
    operator_id: int | None = None,
    due_on_or_before: date | None = None,
    elder_id: int | None = None,
) -> tuple[list[CareCall], int]:
    """Care calls by due day (then id), filtered, with the total count."""
    query = select(CareCall)
    if state is not None:
        query = query.where(CareCall.state == state)
    if assignee is not None:
        query = query.where(CareCall.assignee == assignee)
    if operator_id is not None:
        query = query.where(CareCall.operator_id == operator_id)
    if due_on_or_before is not None:
        query = query.where(CareCall.due_on <= due_on_or_before)
    if elder_id is not None:
        query = query.where(CareCall.elder_id == elder_id)
    return await fetch_page(session, query, CareCall.due_on, CareCall.id, limit=limit, offset=offset)


# --- scheduling ----------------------------------------------------------------------------------


async def schedule(*, session: AsyncSession, clock: Clock) -> int:
    """Create this week's calls for elders at risk and this month's for the others, where missing; safe to
    repeat. Returns how many were created."""
    await cancel_for_inactive_elders(session=session, clock=clock)
    return await add_calls(session=session, calls=await plan_schedule(session=session, clock=clock))


async def add_calls(*, session: AsyncSession, calls: Sequence[CareCall]) -> int:
    """Store planned calls (a caller may store a big plan in several transactions)."""
    session.add_all(calls)
    await session.flush()
    return len(calls)


async def plan_schedule(*, session: AsyncSession, clock: Clock) -> list[CareCall]:
    """The calls missing for this week (elders at risk) and this month (the others), not yet stored."""
    today = local_date(clock.now())
    week, month = week_period(today), month_period(today)
    elders, names = await _active_elders(session)
    planned = await _planned_elder_periods(session, (week, month))
    missing: dict[CareCadence, list[int]] = {CareCadence.weekly: [], CareCadence.monthly: []}
    for elder in elders:
        cadence = cadence_of(elder, today)
        if (elder.elder_id, week if cadence == CareCadence.weekly else month) not in planned:
            missing[cadence].append(elder.elder_id)
    if not missing[CareCadence.weekly] and not missing[CareCadence.monthly]:
        return []
    agents, agent_names = await _agent_loads(session)
    weekly = plan_calls(missing[CareCadence.weekly], week_days(today), agents)
    monthly = plan_calls(missing[CareCadence.monthly], month_days(today), _loaded(agents, weekly))
    now = clock.now()
    return [_agent_call(p, CareCadence.weekly, week, names, agent_names, now) for p in weekly] + [
        _agent_call(p, CareCadence.monthly, month, names, agent_names, now) for p in monthly
    ]


async def cancel_for_inactive_elders(*, session: AsyncSession, clock: Clock) -> None:
    """Calls still planned for elders who moved out or died are cancelled."""
    inactive = select(Elder.id).where(Elder.status != ElderStatus.active)
    await session.execute(
        update(CareCall)
        .where(CareCall.state == CareCallState.scheduled, CareCall.elder_id.in_(inactive))
        .values(state=CareCallState.cancelled, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )


async def _active_elders(session: AsyncSession) -> tuple[list[ElderFacts], dict[int, str]]:
    """The facts the cadence depends on for every active elder, and their names."""
    rows = await session.execute(
        select(
            Elder.id,
            Elder.name,
            Elder.birth_date,
            Elder.living_alone,
            Elder.empty_nest,
            HealthRecord.self_care_ability,
            Elder.subsidy_categories,
        )
        .outerjoin(HealthRecord, HealthRecord.elder_id == Elder.id)
        .where(Elder.status == ElderStatus.active)
        .order_by(Elder.id)
    )
    facts: list[ElderFacts] = []
    names: dict[int, str] = {}
    for elder_id, name, born, alone, empty_nest, ability, subsidies in rows:
        names[elder_id] = name
        facts.append(
            ElderFacts(
                elder_id=elder_id,
                birth_date=born,
                living_alone=alone,
                empty_nest=empty_nest,
                self_care_ability=ability or 0,
                subsidy_categories=tuple(subsidies or ()),
            )
        )
    return facts, names


async def _planned_elder_periods(session: AsyncSession, periods: Sequence[str]) -> set[tuple[int, str]]:
    rows = await session.execute(
        select(CareCall.elder_id, CareCall.period).where(
            CareCall.period.in_(periods), CareCall.assignee == CareAssignee.agent
        )
    )
    return {(elder_id, period) for elder_id, period in rows}


async def _agent_loads(session: AsyncSession) -> tuple[list[AgentLoad], dict[int, str]]:
    """The active agents with the open care calls each holds, and their display names."""
    agents = (
        await session.execute(
            select(Operator.id, Operator.display_name).where(Operator.role == Role.agent, Operator.active)
        )
    ).all()
    held_rows = await session.execute(
        select(CareCall.operator_id, func.count())
        .where(CareCall.state == CareCallState.scheduled, CareCall.operator_id.is_not(None))
        .group_by(CareCall.operator_id)
    )
    held = {operator_id: count for operator_id, count in held_rows}
    loads = [AgentLoad(operator_id=agent_id, open_calls=held.get(agent_id, 0)) for agent_id, _ in agents]
    return loads, {agent_id: name for agent_id, name in agents}


def _loaded(agents: Sequence[AgentLoad], plan: Sequence[PlannedCall]) -> list[AgentLoad]:
    """The agents' loads once this plan is added."""
    added = [p.operator_id for p in plan]
    return [AgentLoad(a.operator_id, a.open_calls + added.count(a.operator_id)) for a in agents]


def _agent_call(
    plan: PlannedCall,
    cadence: CareCadence,
    period: str,
    elder_names: dict[int, str],
    agent_names: dict[int, str],
    now: datetime,
) -> CareCall:
    return CareCall(
        elder_id=plan.elder_id,
        elder_name=elder_names[plan.elder_id],
        cadence=cadence,
        period=period,
        due_on=plan.due_on,
        channel=CareChannel.phone,
        assignee=CareAssignee.agent,
        operator_id=plan.operator_id,
        operator_name=agent_names.get(plan.operator_id) if plan.operator_id is not None else None,
        contact_id=None,
        contact_name=None,
        state=CareCallState.scheduled,
        attempts=0,
        attempt_log=[],
        notes="",
        escalated_from_id=None,
        escalation_reason="",
        created_at=now,
        updated_at=now,
    )


# --- recording attempts --------------------------------------------------------------------------


async def record_attempt(
    *,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    actor: Actor,
    care_call_id: int,
    data: AttemptIn,
) -> CareCall:
    """Record one try at reaching the elder: reached closes the call; unreached too often hands an agent's
    call to the community worker, and an unreached community-worker visit alerts the supervisors."""
    care_call = await session.get(CareCall, care_call_id, with_for_update=True)
    if care_call is None:
        raise NotFound(f"care call {care_call_id} not found")
    if care_call.state != CareCallState.scheduled:
        raise InvalidTransition(f"care call {care_call_id} is {care_call.state.value}, not scheduled")
    await _check_links(session, data)
    _note_attempt(care_call, clock.now(), actor, data)
    if data.elder_notes:
        await _append_elder_notes(session, clock, actor, care_call, data.elder_notes)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="care_call.attempt",
        entity_type="care_call",
        entity_id=care_call.id,
        detail={"reached": data.reached, "channel": data.channel.value, "attempts": care_call.attempts},
    )
    if data.reached:
        care_call.state, care_call.channel = CareCallState.done, data.channel
        care_call.completed_at, care_call.completed_by = clock.now(), actor.username
        if data.declining:
            care_call.decline_reported_at = clock.now()
    elif care_call.assignee == CareAssignee.community_worker:
        await _alert_unreached_visit(session, clock, care_call)
    elif care_call.attempts >= settings.care_max_attempts:
        await escalate(
            session=session,
            clock=clock,
            settings=settings,
            actor=actor,
            care_call=care_call,
            reason=REASON_UNREACHED,
        )
    await session.flush()
    return care_call


async def _check_links(session: AsyncSession, data: AttemptIn) -> None:
    """The service order and call named by the attempt exist."""
    if data.order_id is not None and await session.get(ServiceOrder, data.order_id) is None:
        raise NotFound(f"service order {data.order_id} not found")
    if data.call_id is not None and await session.get(Call, data.call_id) is None:
        raise NotFound(f"call {data.call_id} not found")


def _note_attempt(care_call: CareCall, now: datetime, actor: Actor, data: AttemptIn) -> None:
    entry = {
        "at": now.isoformat(),
        "by": actor.username,
        "reached": data.reached,
        "channel": data.channel.value,
        "notes": data.notes,
    }
    care_call.attempts += 1
    care_call.attempt_log = [*care_call.attempt_log, entry]  # a new list, so the JSON column is saved
    if data.notes:
        care_call.notes = f"{care_call.notes}\n{data.notes}" if care_call.notes else data.notes
    if data.order_id is not None:
        care_call.order_id = data.order_id
    if data.call_id is not None:
        care_call.call_id = data.call_id
    care_call.updated_at = now


async def _append_elder_notes(
    session: AsyncSession, clock: Clock, actor: Actor, care_call: CareCall, text: str
) -> None:
    """What the care call learned goes into the elder's record, dated."""
    elder = await session.get(Elder, care_call.elder_id)
    if elder is None:
        raise NotFound(f"elder {care_call.elder_id} not found")
    line = f"{local_date(clock.now()).isoformat()} 探访: {text}"
    elder.notes = f"{elder.notes}\n{line}" if elder.notes else line
    elder.updated_at = clock.now()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="elder.notes_appended",
        entity_type="elder",
        entity_id=elder.id,
        detail={"care_call_id": care_call.id},
    )


def _care_detail(care_call: CareCall) -> dict[str, Any]:
    return {
        "elder_id": care_call.elder_id,
        "elder_name": care_call.elder_name,
        "care_call_id": care_call.id,
        "period": care_call.period,
    }


async def _alert_unreached_visit(session: AsyncSession, clock: Clock, care_call: CareCall) -> None:
    await raise_alert(
        session=session,
        clock=clock,
        kind="care_unreached",
        key=f"care-unreached:{care_call.elder_id}:{care_call.period}",
        text=f"{care_call.elder_name}：社区助老员上门探访仍未见到老人，请主管跟进",
        audience=AlertAudience.supervisors,
        detail=_care_detail(care_call),
    )


# --- escalation ----------------------------------------------------------------------------------


async def escalate_due(*, session: AsyncSession, clock: Clock, settings: Settings) -> int:
    """Hand agents' calls whose day passed more than a day ago to the community worker; returns how many."""
    cutoff = local_date(clock.now()) - OVERDUE_GRACE
    overdue = (
        await session.scalars(
            select(CareCall)
            .where(
                CareCall.state == CareCallState.scheduled,
                CareCall.assignee == CareAssignee.agent,
                CareCall.due_on < cutoff,
            )
            .order_by(CareCall.due_on, CareCall.id)
        )
    ).all()
    for care_call in overdue:
        await escalate(
            session=session,
            clock=clock,
            settings=settings,
            actor=SYSTEM,
            care_call=care_call,
            reason=REASON_OVERDUE,
        )
    return len(overdue)


async def escalate(
    *, session: AsyncSession, clock: Clock, settings: Settings, actor: Actor, care_call: CareCall, reason: str
) -> CareCall | None:
    """Mark the call escalated and give the community worker a visit for today (texted to them; the agents
    are alerted if the elder has none); supervisors are alerted if the elder's devices are silent too.
    Returns the visit (None if one exists for this period already)."""
    care_call.state, care_call.escalation_reason, care_call.updated_at = (
        CareCallState.escalated,
        reason,
        clock.now(),
    )
    elder = await session.get(Elder, care_call.elder_id)
    if elder is None:
        raise NotFound(f"elder {care_call.elder_id} not found")
    visit = await _visit_for(session, clock, care_call, elder, reason, settings)
    if not await _heard_recently(session, clock, elder.id, hours=settings.care_heartbeat_hours):
        await _alert_no_heartbeat(session, clock, care_call, settings.care_heartbeat_hours)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="care_call.escalate",
        entity_type="care_call",
        entity_id=care_call.id,
        detail={"reason": reason, "visit_id": visit.id if visit else None},
    )
    await session.flush()
    return visit


async def _visit_for(
    session: AsyncSession, clock: Clock, care_call: CareCall, elder: Elder, reason: str, settings: Settings
) -> CareCall | None:
    """The community worker's visit for an escalated call, created and announced once per period."""
    existing = await session.scalar(
        select(CareCall.id).where(
            CareCall.elder_id == elder.id,
            CareCall.period == care_call.period,
            CareCall.assignee == CareAssignee.community_worker,
        )
    )
    if existing is not None:
        return None
    worker = await session.scalar(
        select(Contact)
        .where(Contact.elder_id == elder.id, Contact.kind == ContactKind.community_worker)
        .order_by(Contact.priority, Contact.id)
        .limit(1)
    )
    visit = _worker_visit(care_call, worker, local_date(clock.now()), clock.now())
    session.add(visit)
    await session.flush()
    if worker is not None:
        await _text_worker(session, clock, settings, elder, worker, reason)
    else:
        await _alert_no_worker(session, clock, care_call)
    return visit


def _worker_visit(care_call: CareCall, worker: Contact | None, today: date, now: datetime) -> CareCall:
    return CareCall(
        elder_id=care_call.elder_id,
        elder_name=care_call.elder_name,
        cadence=care_call.cadence,
        period=care_call.period,
        due_on=today,
        channel=CareChannel.visit,
        assignee=CareAssignee.community_worker,
        operator_id=None,
        operator_name=None,
        contact_id=worker.id if worker else None,
        contact_name=worker.name if worker else None,
        state=CareCallState.scheduled,
        attempts=0,
        attempt_log=[],
        notes="",
        escalated_from_id=care_call.id,
        escalation_reason="",
        created_at=now,
        updated_at=now,
    )


async def _text_worker(
    session: AsyncSession, clock: Clock, settings: Settings, elder: Elder, worker: Contact, reason: str
) -> None:
    options = sms.options_for(settings)
    body = render(
        "care_visit",
        options.language,
        elder_name=elder.name,
        address=elder.address,
        reason=reason_text(reason, options.language),
    )
    await sms.send(
        session=session,
        clock=clock,
        options=options,
        to=worker.phone,
        body=body,
        purpose=SmsPurpose.care_visit,
        contact_id=worker.id,
    )


async def _alert_no_worker(session: AsyncSession, clock: Clock, care_call: CareCall) -> None:
    await raise_alert(
        session=session,
        clock=clock,
        kind="care_no_worker",
        key=f"care-no-worker:{care_call.elder_id}:{care_call.period}",
        text=f"{care_call.elder_name}：探访未能联系上老人，且没有登记社区助老员，请安排上门",
        audience=AlertAudience.agents,
        detail=_care_detail(care_call),
    )


async def _heard_recently(session: AsyncSession, clock: Clock, elder_id: int, *, hours: int) -> bool:
    """Whether any of the elder's devices was heard from within the last `hours`."""
    last_heard = await session.scalar(
        select(func.max(Device.last_seen_at)).where(Device.elder_id == elder_id)
    )
    return last_heard is not None and last_heard >= clock.now() - timedelta(hours=hours)


async def _alert_no_heartbeat(session: AsyncSession, clock: Clock, care_call: CareCall, hours: int) -> None:
    await raise_alert(
        session=session,
        clock=clock,
        kind="care_no_heartbeat",
        key=f"care-heartbeat:{care_call.elder_id}:{care_call.period}",
        text=f"{care_call.elder_name}：探访未能联系上老人，且其设备{hours}小时内没有信号",
        audience=AlertAudience.supervisors,
        detail={**_care_detail(care_call), "hours": hours},
    )
