"""Phone calls on record: lists, audited reads, calls logged by hand and the caller card (screen-pop)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator
from dispatch.bus.outbox import announce
from dispatch.calls.models import Call
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.calls.states import OPEN_STATES
from dispatch.carecalls.models import CareCall
from dispatch.clock import Clock
from dispatch.complaints.models import Complaint
from dispatch.db.base import Base
from dispatch.elders.models import Contact, Elder, HealthRecord
from dispatch.errors import NotFound, ValidationFailed
from dispatch.followups.models import FollowUp
from dispatch.localtime import local_date
from dispatch.orders.models import OPEN_ORDER_STATES, ServiceOrder
from dispatch.providers.models import Provider
from dispatch.schemas import mask_phone
from dispatch.voice.identify import UNKNOWN, identify
from dispatch.voice.models import (
    Direction,
    PhoneCall,
    PhoneCallState,
    PhoneOutcome,
    Recording,
)
from dispatch.voice.schemas import PhoneCallLog
from dispatch.voice.service import phone_call_json

RECENT_CONTACTS = 5
CARD_OPEN_ITEMS = 10


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


async def get(*, session: AsyncSession, phone_call_id: int) -> PhoneCall:
    """A phone call, or NotFound."""
    phone_call = await session.get(PhoneCall, phone_call_id)
    if phone_call is None:
        raise NotFound(f"phone call {phone_call_id} not found")
    return phone_call


async def latest_recordings(session: AsyncSession, phone_call_ids: list[int]) -> dict[int, Recording]:
    """Each phone call's newest recording (a call may be recorded in parts; the console plays the last)."""
    if not phone_call_ids:
        return {}
    rows = await session.scalars(
        select(Recording).where(Recording.phone_call_id.in_(phone_call_ids)).order_by(Recording.id)
    )
    return {recording.phone_call_id: recording for recording in rows}


def _matching(
    query: Select[Any],
    *,
    direction: Direction | None,
    elder_id: int | None,
    agent_id: int | None,
    state: PhoneCallState | None,
) -> Select[Any]:
    if direction is not None:
        query = query.where(PhoneCall.direction == direction)
    if elder_id is not None:
        query = query.where(PhoneCall.elder_id == elder_id)
    if agent_id is not None:
        query = query.where(PhoneCall.agent_id == agent_id)
    if state is not None:
        query = query.where(PhoneCall.state == state)
    return query


async def list_phone_calls(
    *,
    session: AsyncSession,
    limit: int,
    before: int | None = None,
    direction: Direction | None = None,
    elder_id: int | None = None,
    agent_id: int | None = None,
    state: PhoneCallState | None = None,
) -> tuple[list[PhoneCall], int]:
    """Phone calls newest first (by id), those older than `before` when given (keyset paging), and how
    many match in all."""

    def matching(query: Select[Any]) -> Select[Any]:
        return _matching(query, direction=direction, elder_id=elder_id, agent_id=agent_id, state=state)

    query = matching(select(PhoneCall))
    if before is not None:
        query = query.where(PhoneCall.id < before)
    rows = list(await session.scalars(query.order_by(PhoneCall.id.desc()).limit(limit)))
    total = await session.scalar(matching(select(func.count(PhoneCall.id))))
    return rows, int(total or 0)


async def read(*, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int) -> PhoneCall:
    """A whole phone call, numbers included; the read is audited."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="phone_call.read",
        entity_type="phone_call",
        entity_id=phone_call.id,
    )
    return phone_call


# --- logged by hand -------------------------------------------------------------------------------------

_LINKS: dict[str, type[Base]] = {
    "elder_id": Elder,
    "call_id": Call,
    "order_id": ServiceOrder,
    "follow_up_id": FollowUp,
    "care_call_id": CareCall,
    "complaint_id": Complaint,
}


async def _check_links(session: AsyncSession, data: PhoneCallLog) -> None:
    """Every record the call is linked to exists (NotFound names the first that does not)."""
    for field, model in _LINKS.items():
        row_id = getattr(data, field)
        if row_id is not None and await session.get(model, row_id) is None:
            raise NotFound(f"{field.removesuffix('_id').replace('_', ' ')} {row_id} not found")


async def log_by_hand(*, session: AsyncSession, clock: Clock, actor: Actor, data: PhoneCallLog) -> PhoneCall:
    """Record a call the agent made or took outside the telephony; the caller looked up by number."""
    await _check_links(session, data)
    now = clock.now()
    talk = data.talk_seconds if data.outcome == PhoneOutcome.answered else 0
    started = data.started_at or now - timedelta(seconds=talk or 0)
    if started > now:
        raise ValidationFailed("started_at is in the future")
    caller = await identify(session=session, number=data.number)
    if data.elder_id is not None and caller.elder_id not in (None, data.elder_id):
        caller = UNKNOWN  # someone else's phone, about the elder the agent named
    elder_id = data.elder_id if data.elder_id is not None else caller.elder_id
    agent = await session.get(Operator, actor.operator_id) if actor.operator_id else None
    inbound = data.direction == Direction.inbound
    phone_call = PhoneCall(
        direction=data.direction,
        state=PhoneCallState.ended,
        outcome=data.outcome,
        category=data.category,
        from_number=data.number if inbound else "",
        to_number="" if inbound else data.number,
        caller_kind=caller.kind,
        elder_id=elder_id,
        contact_id=caller.contact_id,
        provider_id=caller.provider_id,
        device_id=caller.device_id,
        agent_id=actor.operator_id,
        agent_name=agent.display_name if agent else actor.username,
        call_id=data.call_id,
        order_id=data.order_id,
        follow_up_id=data.follow_up_id,
        care_call_id=data.care_call_id,
        complaint_id=data.complaint_id,
        tried_agent_ids=[],
        answered_at=started if data.outcome == PhoneOutcome.answered else None,
        ended_at=started + timedelta(seconds=talk or 0),
        talk_seconds=talk,
        by_hand=True,
        note=data.note,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(phone_call)
    await session.flush()
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="phone_call.log",
        entity_type="phone_call",
        entity_id=phone_call.id,
        detail={"direction": data.direction.value, "outcome": data.outcome.value},
    )
    announce(
        session,
        CONSOLE_CHANNEL,
        {"type": "phone", "change": "ended", "phone_call": masked_json(phone_call_json(phone_call))},
    )
    return phone_call


def masked_json(data: dict[str, Any]) -> dict[str, Any]:
    """A phone call's JSON as lists and broadcasts show it: numbers with their middle hidden."""
    return {**data, "from": mask_phone(data["from"]) or "", "to": mask_phone(data["to"]) or ""}


# --- the caller card ------------------------------------------------------------------------------------


def age_on(birth: date, today: date) -> int:
    """Whole years between a birth date and today."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def _elder_card(session: AsyncSession, elder: Elder, today: date) -> dict[str, Any]:
    health = await session.get(HealthRecord, elder.id)
    return {
        "id": elder.id,
        "name": elder.name,
        "age": age_on(elder.birth_date, today),
        "gender": elder.sex.value,
        "dialect": elder.dialect,
        "address": elder.address,
        "living_alone": elder.living_alone,
        "conditions": list(health.conditions) if health else [],
        "allergies": list(health.allergies) if health else [],
        "phone": elder.phone,
    }


async def _open_calls(session: AsyncSession, elder_id: int) -> list[dict[str, Any]]:
    calls = await session.scalars(
        select(Call)
        .where(Call.elder_id == elder_id, Call.state.in_(sorted(OPEN_STATES)))
        .order_by(Call.opened_at.desc())
        .limit(CARD_OPEN_ITEMS)
    )
    return [
        {
            "id": call.id,
            "priority": f"P{call.priority}",
            "category": call.category.value,
            "state": call.state.value,
            "opened_at": call.opened_at.isoformat(),
        }
        for call in calls
    ]


async def _open_orders(session: AsyncSession, elder_id: int) -> list[dict[str, Any]]:
    orders = await session.scalars(
        select(ServiceOrder)
        .where(ServiceOrder.elder_id == elder_id, ServiceOrder.state.in_(sorted(OPEN_ORDER_STATES)))
        .order_by(ServiceOrder.window_start)
        .limit(CARD_OPEN_ITEMS)
    )
    return [
        {
            "id": order.id,
            "service_type": order.service_type.value,
            "state": order.state.value,
            "window_start": order.window_start.isoformat(),
        }
        for order in orders
    ]


async def _recent(session: AsyncSession, elder_id: int, leave_out: int) -> list[dict[str, Any]]:
    """The elder's last contacts with the centre: phone calls and alarm calls, newest first."""
    phone_calls = await session.scalars(
        select(PhoneCall)
        .where(PhoneCall.elder_id == elder_id, PhoneCall.id != leave_out)
        .order_by(PhoneCall.created_at.desc())
        .limit(RECENT_CONTACTS)
    )
    alarm_calls = await session.scalars(
        select(Call).where(Call.elder_id == elder_id).order_by(Call.opened_at.desc()).limit(RECENT_CONTACTS)
    )
    entries = [
        {
            "at": (pc.answered_at or pc.queued_at or pc.created_at).isoformat(),
            "kind": "phone_call",
            "id": pc.id,
            "summary": " ".join(
                part
                for part in (
                    pc.direction.value,
                    pc.category.value if pc.category else "",
                    pc.outcome.value if pc.outcome else pc.state.value,
                )
                if part
            ),
        }
        for pc in phone_calls
    ] + [
        {
            "at": call.opened_at.isoformat(),
            "kind": "call",
            "id": call.id,
            "summary": f"P{call.priority} {call.category.value} {call.state.value}",
        }
        for call in alarm_calls
    ]
    entries.sort(key=lambda entry: str(entry["at"]), reverse=True)
    return entries[:RECENT_CONTACTS]


async def caller_card(
    *, session: AsyncSession, clock: Clock, actor: Actor, phone_call_id: int
) -> dict[str, Any]:
    """The screen-pop for a phone call: the caller, the elder's card and open matters; audited (health)."""
    phone_call = await get(session=session, phone_call_id=phone_call_id)
    number = phone_call.from_number if phone_call.direction == Direction.inbound else phone_call.to_number
    elder = await session.get(Elder, phone_call.elder_id) if phone_call.elder_id else None
    contact = await session.get(Contact, phone_call.contact_id) if phone_call.contact_id else None
    provider = await session.get(Provider, phone_call.provider_id) if phone_call.provider_id else None
    card: dict[str, Any] = {
        "caller_kind": phone_call.caller_kind.value,
        "number": number,
        "elder": await _elder_card(session, elder, local_date(clock.now())) if elder else None,
        "contact": (
            {"id": contact.id, "name": contact.name, "relation": contact.relation, "phone": contact.phone}
            if contact
            else None
        ),
        "provider": {"id": provider.id, "name": provider.name, "phone": provider.phone} if provider else None,
        "open_calls": await _open_calls(session, elder.id) if elder else [],
        "open_orders": await _open_orders(session, elder.id) if elder else [],
        "recent": await _recent(session, elder.id, phone_call.id) if elder else [],
    }
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="phone_call.caller_card",
        entity_type="phone_call",
        entity_id=phone_call.id,
        detail={"elder_id": phone_call.elder_id},
    )
    return card
