"""Alerts on the console: agents see theirs, supervisors and admins see all."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from dispatch.alerts import service
from dispatch.alerts.models import AlertAudience
from dispatch.api.deps import ClockDep, CurrentActor, PagingDep, SessionDep
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    key: str
    audience: AlertAudience
    text: str
    detail: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@router.get("", response_model=Page[AlertRead])
async def list_alerts(
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    open_only: bool = True,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[AlertRead]:
    """Alerts, newest first (by default only those nobody has acknowledged)."""
    items, total = await service.list_alerts(
        session=session, limit=paging.limit, offset=paging.offset, open_only=open_only, kind=kind
    )
    return Page(items=[AlertRead.model_validate(a) for a in items], total=total)


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
async def acknowledge(
    alert_id: RowId, session: SessionDep, clock: ClockDep, actor: CurrentActor
) -> AlertRead:
    """Mark an alert as handled (an alert for supervisors: supervisors and admins only)."""
    return AlertRead.model_validate(
        await service.acknowledge(session=session, clock=clock, actor=actor, alert_id=alert_id)
    )
