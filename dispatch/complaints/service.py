"""Complaints and suggestions: intake, assignment to a supervisor, investigation, resolution, escalation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts.models import AlertAudience
from dispatch.alerts.service import raise_alert
from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.calls.models import Call
from dispatch.clock import Clock
from dispatch.complaints.models import Complaint, ComplaintState, ComplaintTarget
from dispatch.complaints.schemas import ComplaintCreate
from dispatch.db.pagination import fetch_page
from dispatch.elders.models import Elder
from dispatch.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from dispatch.followups.models import FollowUp
from dispatch.notify import service as sms
from dispatch.notify.models import SmsPurpose
from dispatch.notify.templates import render
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider
from dispatch.settings import Settings

MANAGER_ROLES = frozenset({Role.supervisor, Role.admin})
ESCALATION_STEP = timedelta(hours=24)  # each further day past the due date raises the level again
SMS_RESOLUTION_CHARS = 200  # the outcome as quoted in the reply text


async def create(
    *, session: AsyncSession, clock: Clock, actor: Actor, data: ComplaintCreate, due_hours: int
) -> Complaint:
    """Take a complaint, due in `due_hours`, assigned to the least busy supervisor if there is one."""
    values = data.model_dump()
    values["complainant_phone"] = values["complainant_phone"] or ""
    await _fill_from_links(session, values)
    await _check_references(session, values)
    now = clock.now()
    complaint = Complaint(
        **values,
        state=ComplaintState.open,
        due_at=now + timedelta(hours=due_hours),
        notes=[],
        resolution="",
        informed_how="",
        escalation_level=0,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    supervisor = await _least_busy_supervisor(session)
    if supervisor is not None:
        _hand_to(complaint, supervisor)
    session.add(complaint)
    await session.flush()
    await _audit(session, clock, actor, "complaint.create", complaint, target=complaint.target.value)
    return complaint


async def _fill_from_links(session: AsyncSession, values: dict[str, Any]) -> None:
    """Take the elder, provider, order and call from the follow-up or order the complaint arose from."""
    if values["follow_up_id"] is not None:
        follow_up = await session.get(FollowUp, values["follow_up_id"])
        if follow_up is None:
            raise NotFound(f"follow-up {values['follow_up_id']} not found")
        _default(values, elder_id=follow_up.elder_id, provider_id=follow_up.provider_id)
        _default(values, order_id=follow_up.order_id, call_id=follow_up.call_id)
    if values["order_id"] is not None:
        order = await session.get(ServiceOrder, values["order_id"])
        if order is None:
            raise NotFound(f"order {values['order_id']} not found")
        _default(values, elder_id=order.elder_id, provider_id=order.provider_id)
    if values["call_id"] is not None:
        call = await session.get(Call, values["call_id"])
        if call is None:
            raise NotFound(f"call {values['call_id']} not found")
        _default(values, elder_id=call.elder_id)


def _default(values: dict[str, Any], **defaults: int | None) -> None:
    for key, value in defaults.items():
        if values[key] is None:
            values[key] = value


async def _check_references(session: AsyncSession, values: dict[str, Any]) -> None:
    """The elder, provider and agent named exist, and whoever the complaint is against is named."""
    if values["target"] == ComplaintTarget.provider and values["provider_id"] is None:
        raise ValidationFailed("the order or follow-up names no provider; give provider_id")
    if values["elder_id"] is not None and await session.get(Elder, values["elder_id"]) is None:
        raise NotFound(f"elder {values['elder_id']} not found")
    if values["provider_id"] is not None and await session.get(Provider, values["provider_id"]) is None:
        raise NotFound(f"provider {values['provider_id']} not found")
    if values["operator_id"] is not None and await session.get(Operator, values["operator_id"]) is None:
        raise NotFound(f"operator {values['operator_id']} not found")


async def _least_busy_supervisor(session: AsyncSession) -> Operator | None:
    """The active supervisor with the fewest unresolved complaints (the lowest id on a tie)."""
    unresolved = func.count(Complaint.id)
    query = (
        select(Operator)
        .outerjoin(
            Complaint,
            and_(Complaint.assigned_to == Operator.id, Complaint.state != ComplaintState.resolved),
        )
        .where(Operator.role == Role.supervisor, Operator.active.is_(True))
        .group_by(Operator.id)
        .order_by(unresolved, Operator.id)
        .limit(1)
    )
    return await session.scalar(query)


def _hand_to(complaint: Complaint, operator: Operator) -> None:
    complaint.state = ComplaintState.assigned
    complaint.assigned_to, complaint.assigned_name = operator.id, operator.username


async def get(*, session: AsyncSession, complaint_id: int) -> Complaint:
    """A complaint, or NotFound."""
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"complaint {complaint_id} not found")
    return complaint


def may_read(actor: Actor, complaint: Complaint) -> bool:
    """Supervisors and admins read every complaint; an agent never one about themselves."""
    return actor.is_manager or complaint.operator_id is None or complaint.operator_id != actor.operator_id


async def read(*, session: AsyncSession, clock: Clock, actor: Actor, complaint_id: int) -> Complaint:
    """A whole complaint, the complainant's phone included; the read is audited."""
    complaint = await get(session=session, complaint_id=complaint_id)
    if not may_read(actor, complaint):
        raise PermissionDenied("agents may not read complaints about themselves")
    await _audit(session, clock, actor, "complaint.read", complaint)
    return complaint


async def _unresolved(session: AsyncSession, complaint_id: int) -> Complaint:
    complaint = await get(session=session, complaint_id=complaint_id)
    if complaint.state == ComplaintState.resolved:
        raise InvalidTransition(f"complaint {complaint_id} is already resolved")
    return complaint


async def assign(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    complaint_id: int,
    operator_id: int,
    due_at: datetime | None = None,
) -> Complaint:
    """Hand an unresolved complaint to a supervisor or admin; a new due date starts escalation afresh."""
    complaint = await _unresolved(session, complaint_id)
    operator = await session.get(Operator, operator_id)
    if operator is None or not operator.active or operator.role not in MANAGER_ROLES:
        raise ValidationFailed(f"operator {operator_id} is not an active supervisor or admin")
    _hand_to(complaint, operator)
    if due_at is not None:
        complaint.due_at, complaint.escalation_level = due_at, 0
    complaint.updated_at = clock.now()
    await session.flush()
    await _audit(
        session, clock, actor, "complaint.assign", complaint, to=operator.username, due_at=_iso(due_at)
    )
    return complaint


async def add_note(
    *, session: AsyncSession, clock: Clock, actor: Actor, complaint_id: int, text: str
) -> Complaint:
    """Add an investigation note (supervisors, admins and the assignee only)."""
    complaint = await _unresolved(session, complaint_id)
    if actor.role not in MANAGER_ROLES and actor.operator_id != complaint.assigned_to:
        raise PermissionDenied("only supervisors and the assignee may add notes")
    now = clock.now()
    complaint.notes = [*complaint.notes, {"at": now.isoformat(), "by": actor.username, "text": text}]
    complaint.updated_at = now
    await session.flush()
    return complaint


async def resolve(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    settings: Settings,
    complaint_id: int,
    resolution: str,
    upheld: bool,
    informed_how: str,
) -> Complaint:
    """Record the outcome and that the complainant was told; "sms" texts them the outcome."""
    complaint = await _unresolved(session, complaint_id)
    texted = informed_how == "sms"
    if texted and not complaint.complainant_phone:
        raise ValidationFailed("the complainant left no phone number to text")
    now = clock.now()
    complaint.state, complaint.resolution, complaint.upheld = ComplaintState.resolved, resolution, upheld
    complaint.informed_at, complaint.informed_how = now, informed_how
    complaint.resolved_at = complaint.updated_at = now
    await session.flush()
    if texted:
        await _text_outcome(session, clock, settings, complaint)
    await _audit(
        session, clock, actor, "complaint.resolve", complaint, upheld=upheld, informed_how=informed_how
    )
    return complaint


async def _text_outcome(
    session: AsyncSession, clock: Clock, settings: Settings, complaint: Complaint
) -> None:
    options = sms.options_for(settings)
    body = render(
        "complaint_reply",
        options.language,
        complainant=complaint.complainant_name,
        number=complaint.id,
        resolution=_shortened(complaint.resolution, SMS_RESOLUTION_CHARS),
    )
    await sms.send(
        session=session,
        clock=clock,
        options=options,
        to=complaint.complainant_phone,
        body=body,
        purpose=SmsPurpose.complaint_reply,
        call_id=complaint.call_id,
    )


def _shortened(text: str, limit: int) -> str:
    """The text without its closing full stop (the template adds one), cut to `limit` characters."""
    text = text.strip().rstrip("。.!！")
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def escalate_overdue(*, session: AsyncSession, clock: Clock) -> int:
    """Raise the level of unresolved complaints each further day past due, alerting supervisors; how many."""
    now = clock.now()
    candidates = await session.scalars(
        select(Complaint)
        .where(Complaint.state != ComplaintState.resolved, Complaint.due_at < now)
        .order_by(Complaint.id)
    )
    escalated = 0
    for complaint in list(candidates):
        level = overdue_level(complaint.due_at, now)
        if level > complaint.escalation_level:
            await _escalate(session, clock, complaint, level)
            escalated += 1
    return escalated


def overdue_level(due_at: datetime, now: datetime) -> int:
    """0 until due, 1 in the first day past due, 2 in the second, ... (a day boundary still counts as the day before)."""
    if now <= due_at:
        return 0
    return -(-(now - due_at) // ESCALATION_STEP)


async def _escalate(session: AsyncSession, clock: Clock, complaint: Complaint, level: int) -> None:
    """Raise the complaint to `level` (straight there after a pause, with one alert) and tell supervisors."""
    now = clock.now()
    complaint.escalation_level = level
    complaint.escalated_at = complaint.updated_at = now
    await session.flush()
    await raise_alert(
        session=session,
        clock=clock,
        kind="complaint_overdue",
        key=f"complaint:{complaint.id}:{level}",
        text=f"投诉 {complaint.id} 已逾期（第 {level} 级），处理人：{complaint.assigned_name or '未分派'}",
        audience=AlertAudience.supervisors,
        detail={
            "complaint_id": complaint.id,
            "level": level,
            "assigned_name": complaint.assigned_name,
            "due_at": complaint.due_at.isoformat(),
            "assigned_to": complaint.assigned_to,
        },
    )


async def upheld_count(*, session: AsyncSession, provider_id: int) -> int:
    """How many complaints against this provider were upheld."""
    count = await session.scalar(
        select(func.count(Complaint.id)).where(
            Complaint.provider_id == provider_id,
            Complaint.target == ComplaintTarget.provider,
            Complaint.upheld.is_(True),
        )
    )
    return int(count or 0)


def is_overdue(complaint: Complaint, now: datetime) -> bool:
    """Unresolved past its due date."""
    return complaint.state != ComplaintState.resolved and complaint.due_at < now


async def list_complaints(
    *,
    session: AsyncSession,
    clock: Clock,
    limit: int,
    offset: int,
    state: ComplaintState | None = None,
    provider_id: int | None = None,
    target: ComplaintTarget | None = None,
    overdue: bool | None = None,
    assigned_to: int | None = None,
    hide_about: int | None = None,
) -> tuple[list[Complaint], int]:
    """Complaints, soonest due first, filtered; `hide_about` leaves out those about that operator."""
    query = select(Complaint)
    if hide_about is not None:
        query = query.where(or_(Complaint.operator_id.is_(None), Complaint.operator_id != hide_about))
    if state is not None:
        query = query.where(Complaint.state == state)
    if provider_id is not None:
        query = query.where(Complaint.provider_id == provider_id)
    if target is not None:
        query = query.where(Complaint.target == target)
    if assigned_to is not None:
        query = query.where(Complaint.assigned_to == assigned_to)
    if overdue is not None:
        query = query.where(_overdue_condition(clock.now(), overdue))
    return await fetch_page(session, query, Complaint.due_at, Complaint.id, limit=limit, offset=offset)


def _overdue_condition(now: datetime, overdue: bool) -> ColumnElement[bool]:
    """Unresolved past due (or, with overdue False, the opposite)."""
    if overdue:
        return and_(Complaint.state != ComplaintState.resolved, Complaint.due_at < now)
    return or_(Complaint.state == ComplaintState.resolved, Complaint.due_at >= now)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def _audit(
    session: AsyncSession, clock: Clock, actor: Actor, action: str, complaint: Complaint, **detail: Any
) -> None:
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        entity_type="complaint",
        entity_id=complaint.id,
        detail=detail,
    )
