"""Raising, listing and acknowledging alerts; a new alert is pushed to every console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.alerts.models import Alert, AlertAudience
from dispatch.auth.actor import Actor
from dispatch.bus.outbox import announce
from dispatch.calls.service import CONSOLE_CHANNEL
from dispatch.clock import Clock
from dispatch.db.pagination import fetch_page
from dispatch.errors import NotFound, PermissionDenied


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "key": alert.key,
        "audience": alert.audience.value,
        "text": alert.text,
        "detail": alert.detail,
        "created_at": alert.created_at.isoformat(),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by,
    }


async def raise_alert(
    *,
    session: AsyncSession,
    clock: Clock,
    kind: str,
    key: str,
    text: str,
    audience: AlertAudience = AlertAudience.supervisors,
    detail: dict[str, Any] | None = None,
) -> Alert | None:
    """Store an alert and push it to the consoles; None if one with this key is still unacknowledged."""
    open_one = await session.scalar(
        select(Alert.id).where(Alert.key == key, Alert.acknowledged_at.is_(None)).limit(1)
    )
    if open_one is not None:
        return None
    alert = Alert(
        kind=kind,
        key=key,
        audience=audience,
        text=text,
        detail=detail or {},
        created_at=clock.now(),
        acknowledged_at=None,
        acknowledged_by=None,
    )
    session.add(alert)
    await session.flush()
    announce(session, CONSOLE_CHANNEL, {"type": "alert", "alert": alert_json(alert)})
    return alert


async def acknowledge(*, session: AsyncSession, clock: Clock, actor: Actor, alert_id: int) -> Alert:
    """Mark an alert as seen and handled by this operator (once; later calls change nothing). Alerts for
    supervisors are handled by supervisors and admins only."""
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.audience == AlertAudience.supervisors and not actor.is_manager:
        raise PermissionDenied("this alert is for supervisors")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = clock.now(), actor.username
        await session.flush()
        announce(session, CONSOLE_CHANNEL, {"type": "alert", "alert": alert_json(alert)})
    return alert


async def list_alerts(
    *,
    session: AsyncSession,
    limit: int,
    offset: int,
    open_only: bool = True,
    kind: str | None = None,
    since: datetime | None = None,
) -> tuple[list[Alert], int]:
    """Alerts, newest first."""
    query = select(Alert)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    if kind:
        query = query.where(Alert.kind == kind)
    if since:
        query = query.where(Alert.created_at >= since)
    return await fetch_page(session, query, Alert.id.desc(), limit=limit, offset=offset)
