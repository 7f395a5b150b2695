"""Writing and reading the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.models import AuditEntry
from dispatch.auth.actor import Actor
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page


async def record(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry; it commits with the caller's unit of work."""
    entry = AuditEntry(
        at=clock.now(),
        operator_id=actor.operator_id,
        username=actor.username,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        ip=actor.ip,
        detail=detail or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    username: str | None = None,
) -> tuple[list[AuditEntry], int]:
    """Entries newest first, filtered, with the total count."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if username:
        query = query.where(AuditEntry.username == username)
    return await fetch_page(session, query, AuditEntry.id.desc(), limit=limit, offset=offset)


SECRET_FIELDS = frozenset({"password", "password_hash", "secret"})


def apply_changes(target: object, changes: dict[str, Any]) -> dict[str, Any]:
    """Set the attributes that really change; returns them as {field: {"from": old, "to": new}} for the
    audit log (secrets shown as changed, never their values)."""
    applied: dict[str, Any] = {}
    for key, value in changes.items():
        old = getattr(target, key)
        if old != value:
            setattr(target, key, value)
            applied[key] = "changed" if key in SECRET_FIELDS else {"from": old, "to": value}
    return applied
