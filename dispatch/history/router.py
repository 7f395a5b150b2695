"""`GET /api/v1/elders/{id}/timeline`: everything about one elder, newest first, paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dispatch.api.deps import CurrentActor, PagingDep, SessionDep
from dispatch.elders import service as elders
from dispatch.history import service
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1", tags=["history"])

Kind = Literal["call", "phone_call", "order", "follow_up", "care_call", "complaint", "assessment"]


class TimelineEntryRead(BaseModel):
    """Codes only (the console words them): `code` is a call's or phone call's category, an order's service
    type, a follow-up's kind, a care call's channel, a complaint's kind."""

    kind: Kind
    id: int
    at: datetime
    state: str
    code: str | None
    priority: int | None
    outcome: str | None


@router.get("/elders/{elder_id}/timeline", response_model=Page[TimelineEntryRead])
async def elder_timeline(
    elder_id: RowId,
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    kind: Annotated[list[Kind] | None, Query(description="repeat for several; default: all")] = None,
) -> Page[TimelineEntryRead]:
    """Calls, phone calls, orders, follow-ups, care calls and complaints of one elder, newest first."""
    await elders.get(session=session, elder_id=elder_id)
    entries, total = await service.timeline(
        session=session,
        elder_id=elder_id,
        limit=paging.limit,
        offset=paging.offset,
        kinds=frozenset(kind or service.KINDS),
    )
    return Page(
        items=[TimelineEntryRead.model_validate(e, from_attributes=True) for e in entries], total=total
    )
