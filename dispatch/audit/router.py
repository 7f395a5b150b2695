"""Reading the audit log (admins only). There is no endpoint that changes it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from dispatch.api.deps import AdminActor, PagingDep, SessionDep
from dispatch.audit import service
from dispatch.schemas import Page

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    operator_id: int | None
    username: str
    action: str
    entity_type: str
    entity_id: str | None
    ip: str | None
    detail: dict[str, Any]


@router.get("", response_model=Page[AuditEntryRead])
async def list_audit_entries(
    session: SessionDep,
    actor: AdminActor,
    paging: PagingDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditEntryRead]:
    """Audit entries, newest first."""
    items, total = await service.list_entries(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        username=username,
    )
    return Page(items=[AuditEntryRead.model_validate(e) for e in items], total=total)
