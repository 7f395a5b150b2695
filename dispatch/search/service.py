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
    """Elders by their keys, then (for Chinese text) by name or address containing it; whether more match."""
    matched = await _by_keys(session, query, limit + 1)
    if query.contains and len(matched) <= limit:
        matched |= await _by_text(session, query.contains, limit + 1 - len(matched), exclude=set(matched))
    ids = list(matched)[:limit]
    loaded = {e.id: e for e in await session.scalars(select(Elder).where(Elder.id.in_(ids)))}
    return [ElderHit(loaded[i], matched[i]) for i in ids if i in loaded], len(matched) > limit


async def _by_keys(session: AsyncSession, query: SearchQuery, limit: int) -> dict[int, str]:
    """{elder id: what matched} for the elders with a key starting with one of the prefixes, the shortest
    matching key first (an exact match before a longer name)."""
    if not query.key_prefixes:
        return {}
    kind_of = {prefix[:2]: kind for prefix, kind in query.key_prefixes}  # "n:" -> "initials"
    rows = await session.execute(
        select(ElderSearchKey.elder_id, func.min(ElderSearchKey.key))
        .where(or_(*(_in_range(prefix) for prefix, _ in query.key_prefixes)))
        .group_by(ElderSearchKey.elder_id)
        .order_by(func.min(func.length(ElderSearchKey.key)), ElderSearchKey.elder_id)
        .limit(limit)
    )
    return {elder_id: kind_of[key[:2]] for elder_id, key in rows}


async def _by_text(session: AsyncSession, text: str, limit: int, exclude: set[int]) -> dict[int, str]:
    """{elder id: "name" or "address"} for elders whose name or address contains `text` (a scan)."""
    pattern = f"%{text}%"
    rows = await session.execute(
        select(Elder.id, Elder.name.like(pattern))
        .where(or_(Elder.name.like(pattern), Elder.address.like(pattern)), Elder.id.not_in(exclude or {0}))
        .order_by(Elder.id)
        .limit(limit)
    )
    return {elder_id: "name" if by_name else "address" for elder_id, by_name in rows}


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
