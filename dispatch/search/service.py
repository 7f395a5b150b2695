"""The search: elders through their search keys (one index range scan per key prefix), records by number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.actor import Actor
from dispatch.calls.models import Call
from dispatch.complaints import service as complaints
from dispatch.complaints.models import Complaint
from dispatch.elders.models import Elder, ElderSearchKey
from dispatch.elders.search_keys import prefix_range
from dispatch.orders.models import ServiceOrder
from dispatch.search.query import SearchQuery, parse


@dataclass(frozen=True, slots=True)
class ElderHit:
    elder: Elder
    matched: str


@dataclass(frozen=True, slots=True)
class RecordHit:
    """A call, service order or complaint found by its number."""

    kind: str
    id: int
    elder_id: int | None
    elder_name: str
    state: str
    at: datetime
    priority: int | None = None
    service_type: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    elders: list[ElderHit]
    records: list[RecordHit]
    more_elders: bool


async def search(*, session: AsyncSession, actor: Actor, text: str, limit: int) -> Found:
    """Elders and records matching `text`, elders best match first (the shortest matching key)."""
    query = parse(text)
    elders, more = await _elders(session, query, limit)
    records = await _records(session, actor, query.record_number)
    return Found(elders, records, more)


def _in_range(prefix: str) -> ColumnElement[bool]:
    low, high = prefix_range(prefix)
    return and_(ElderSearchKey.key >= low, ElderSearchKey.key < high)


async def _elders(session: AsyncSession, query: SearchQuery, limit: int) -> tuple[list[ElderHit], bool]:
    matched: dict[int, str] = {}
    if query.key_prefixes:
        best = func.min(func.length(ElderSearchKey.key))
        rows = await session.execute(
            select(ElderSearchKey.elder_id, func.min(ElderSearchKey.key))
            .where(or_(*(_in_range(prefix) for prefix, _ in query.key_prefixes)))
            .group_by(ElderSearchKey.elder_id)
            .order_by(best, ElderSearchKey.elder_id)
            .limit(limit + 1)
        )
        kinds = dict(query.key_prefixes)
        for elder_id, key in rows:
            matched[elder_id] = next(kind for prefix, kind in kinds.items() if key.startswith(prefix[:2]))
    if query.contains and len(matched) <= limit:
        pattern = f"%{query.contains}%"
        rows = await session.execute(
            select(Elder.id, Elder.name.like(pattern))
            .where(
                or_(Elder.name.like(pattern), Elder.address.like(pattern)), Elder.id.not_in(matched or [0])
            )
            .order_by(Elder.id)
            .limit(limit + 1 - len(matched))
        )
        for elder_id, by_name in rows:
            matched[elder_id] = "name" if by_name else "address"
    more = len(matched) > limit
    ids = list(matched)[:limit]
    loaded = {e.id: e for e in await session.scalars(select(Elder).where(Elder.id.in_(ids)))}
    return [ElderHit(loaded[i], matched[i]) for i in ids if i in loaded], more


async def _records(session: AsyncSession, actor: Actor, number: int | None) -> list[RecordHit]:
    if number is None:
        return []
    found: list[RecordHit] = []
    call = await session.get(Call, number)
    if call is not None:
        found.append(
            RecordHit(
                "call", call.id, call.elder_id, call.elder_name, call.state, call.opened_at, call.priority
            )
        )
    order = await session.get(ServiceOrder, number)
    if order is not None:
        found.append(
            RecordHit(
                "order",
                order.id,
                order.elder_id,
                order.elder_name,
                order.state,
                order.window_start,
                service_type=order.service_type,
            )
        )
    complaint = await session.get(Complaint, number)
    if complaint is not None and complaints.may_read(actor, complaint):
        elder = await session.get(Elder, complaint.elder_id) if complaint.elder_id else None
        found.append(
            RecordHit(
                "complaint",
                complaint.id,
                complaint.elder_id,
                elder.name if elder else complaint.complainant_name,
                complaint.state,
                complaint.created_at,
            )
        )
    return found
