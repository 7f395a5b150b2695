"""Reading device events (operators). Positions are whereabouts, so every read is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.api.deps import ClockDep, CurrentActor, ManagerActor, PagingDep, SessionDep
from dispatch.audit import service as audit
from dispatch.ingest import service
from dispatch.ingest.events import EventType
from dispatch.ingest.models import DeviceEvent
from dispatch.ingest.schemas import DeviceEventRead, EventPosition, ParkedEventRead
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1", tags=["device events"])


def _read(event: DeviceEvent, imei: str) -> DeviceEventRead:
    position = None
    if event.fixed is not None or event.lon is not None:
        position = EventPosition(lon=event.lon, lat=event.lat, fixed=bool(event.fixed))
    return DeviceEventRead(
        id=event.id,
        imei=imei,
        elder_id=event.elder_id,
        type=event.type,
        device_time=event.device_time,
        received_at=event.received_at,
        position=position,
        data=event.data,
    )


@router.get("/device-events", response_model=Page[DeviceEventRead])
async def list_device_events(
    session: SessionDep,
    clock: ClockDep,
    actor: CurrentActor,
    paging: PagingDep,
    imei: Annotated[str | None, Query(max_length=32)] = None,
    elder_id: RowId | None = None,
    type: EventType | None = None,
) -> Page[DeviceEventRead]:
    """Device events, newest first."""
    rows, total = await service.list_events(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        imei=imei,
        elder_id=elder_id,
        event_type=type,
    )
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="device_event.read",
        entity_type="device_event",
        detail={"imei": imei, "elder_id": elder_id, "type": type, "returned": len(rows)},
    )
    return Page(items=[_read(event, imei_) for event, imei_ in rows], total=total)


@router.get("/device-events/parked", response_model=Page[ParkedEventRead])
async def list_parked_events(
    session: SessionDep, actor: ManagerActor, paging: PagingDep
) -> Page[ParkedEventRead]:
    """Device events the alarm rules failed on too often (a dead letter), newest first (supervisors)."""
    events, total = await service.list_parked(session=session, limit=paging.limit, offset=paging.offset)
    return Page(items=[ParkedEventRead.model_validate(e) for e in events], total=total)


@router.post("/device-events/{event_id}/unpark", response_model=ParkedEventRead)
async def unpark_event(
    event_id: RowId, session: SessionDep, clock: ClockDep, actor: ManagerActor
) -> ParkedEventRead:
    """Give a parked event to the alarm rules again, once its cause is fixed (supervisors; audited)."""
    event = await service.unpark(session=session, event_id=event_id)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="device_event.unpark",
        entity_type="device_event",
        entity_id=event_id,
    )
    return ParkedEventRead.model_validate(event)
