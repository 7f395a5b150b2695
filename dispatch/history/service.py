"""An elder's timeline: calls, phone calls, orders, follow-ups, care calls, complaints and assessments as one
list, newest first, paged in the database (one UNION ALL, each part on its elder_id index). An assessment
shows its procedure, its step since when, and, once final, the level as its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.assessments.models import Assessment
from dispatch.assessments.workflow import Step
from dispatch.calls.models import Call
from dispatch.carecalls.models import CareCall
from dispatch.complaints.models import Complaint
from dispatch.followups.models import FollowUp
from dispatch.orders.models import ServiceOrder
from dispatch.voice.models import PhoneCall

KINDS = ("call", "phone_call", "order", "follow_up", "care_call", "complaint", "assessment")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to an elder; `code` is its category, service type or kind, as a code."""

    kind: str
    id: int
    at: datetime
    state: str
    code: str | None
    priority: int | None
    outcome: str | None


def _text(column: Any) -> ColumnElement[Any]:
    return cast(null() if column is None else column, String)


def _entry(
    kind: str, id_: Any, at: Any, state: Any, code: Any = None, priority: Any = None, outcome: Any = None
) -> tuple[ColumnElement[Any], ...]:
    """One part's columns, named and typed alike so that the parts can be one UNION ALL."""
    return (
        literal(kind).label("kind"),
        id_.label("id"),
        at.label("at"),
        _text(state).label("state"),
        _text(code).label("code"),
        cast(null() if priority is None else priority, Integer).label("priority"),
        _text(outcome).label("outcome"),
    )


def _parts(elder_id: int, kinds: frozenset[str]) -> list[Select[Any]]:
    parts = {
        "call": select(
            *_entry("call", Call.id, Call.opened_at, Call.state, Call.category, Call.priority, Call.outcome)
        ).where(Call.elder_id == elder_id),
        "phone_call": select(
            *_entry(
                "phone_call",
                PhoneCall.id,
                PhoneCall.created_at,
                PhoneCall.state,
                PhoneCall.category,
                outcome=PhoneCall.outcome,
            )
        ).where(PhoneCall.elder_id == elder_id),
        "order": select(
            *_entry(
                "order",
                ServiceOrder.id,
                ServiceOrder.window_start,
                ServiceOrder.state,
                ServiceOrder.service_type,
            )
        ).where(ServiceOrder.elder_id == elder_id),
        "follow_up": select(
            *_entry("follow_up", FollowUp.id, FollowUp.due_at, FollowUp.state, FollowUp.kind)
        ).where(FollowUp.elder_id == elder_id),
        "care_call": select(
            *_entry("care_call", CareCall.id, CareCall.created_at, CareCall.state, CareCall.channel)
        ).where(CareCall.elder_id == elder_id),
        "complaint": select(
            *_entry("complaint", Complaint.id, Complaint.created_at, Complaint.state, Complaint.kind)
        ).where(Complaint.elder_id == elder_id),
        "assessment": select(
            *_entry(
                "assessment",
                Assessment.id,
                Assessment.step_entered_at,
                Assessment.step,
                Assessment.procedure,
                outcome=case((Assessment.step == Step.final, cast(Assessment.level, String))),
            )
        ).where(Assessment.elder_id == elder_id),
    }
    return [part for kind, part in parts.items() if kind in kinds]


async def timeline(
    *, session: AsyncSession, elder_id: int, limit: int, offset: int, kinds: frozenset[str] = frozenset(KINDS)
) -> tuple[list[TimelineEntry], int]:
    """A page of the elder's timeline, newest first, and how many entries it has in all."""
    parts = _parts(elder_id, kinds)
    if not parts:
        return [], 0
    everything = union_all(*parts).subquery()
    total = await session.scalar(select(func.count()).select_from(everything))
    rows = await session.execute(
        select(everything)
        .order_by(everything.c.at.desc(), everything.c.kind, everything.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [TimelineEntry(**row._asdict()) for row in rows], int(total or 0)
