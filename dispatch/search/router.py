"""`GET /api/v1/search?q=`: what the console's search box asks; elders masked as in every list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dispatch.api.deps import ClockDep, CurrentActor, SessionDep
from dispatch.elders.service import age_on, local_today
from dispatch.schemas import mask_id_number, mask_phone
from dispatch.search import service

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchHitRead(BaseModel):
    """An elder (phone and ID number masked, no whereabouts) or a call, order or complaint by number."""

    kind: Literal["elder", "call", "order", "complaint"]
    id: int
    label: str
    matched: str  # initials, pinyin, name, phone, id_number, address or number
    elder_id: int | None
    phone: str | None = None
    id_number: str | None = None
    age: int | None = None
    community: str | None = None
    state: str | None = None
    priority: int | None = None
    service_type: str | None = None
    at: datetime | None = None


class SearchRead(BaseModel):
    items: list[SearchHitRead]
    more: bool  # more elders match than were returned: type more


@router.get("/search", response_model=SearchRead)
async def search(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    q: Annotated[
        str, Query(max_length=64, description="name, pinyin initials, phone, ID number, address, #number")
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> SearchRead:
    """Records by number first, then elders, the best match first."""
    found = await service.search(session=session, actor=actor, text=q, limit=limit)
    today = local_today(clock)
    records = [
        SearchHitRead(
            kind=r.kind,
            id=r.id,
            label=r.elder_name,
            matched="number",
            elder_id=r.elder_id,
            state=r.state,
            priority=r.priority,
            service_type=r.service_type,
            at=r.at,
        )
        for r in found.records
    ]
    elders = [
        SearchHitRead(
            kind="elder",
            id=h.elder.id,
            label=h.elder.name,
            matched=h.matched,
            elder_id=h.elder.id,
            phone=mask_phone(h.elder.phone),
            id_number=mask_id_number(h.elder.id_number),
            age=age_on(h.elder.birth_date, today),
            community=h.elder.community,
            state=h.elder.status,
        )
        for h in found.elders
    ]
    return SearchRead(items=records + elders, more=found.more_elders)
