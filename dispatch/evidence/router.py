"""Supervisors review service evidence: completed orders not evidenced (reviewed, not paid), evidenced ones,
and flagged check-ins; a service photo is an audited read."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from dispatch.api.deps import ClockDep, ManagerActor, PagingDep, SessionDep, SettingsDep
from dispatch.audit import service as audit
from dispatch.errors import NotFound
from dispatch.evidence import service
from dispatch.evidence.models import ServiceEvidence
from dispatch.evidence.schemas import EvidenceItem, EvidenceRead, EvidenceState
from dispatch.orders.models import ServiceOrder
from dispatch.schemas import Page, RowId

router = APIRouter(prefix="/api/v1/service-evidence", tags=["service evidence"])


def _read(order: ServiceOrder, evidence: ServiceEvidence | None) -> EvidenceRead:
    return EvidenceRead(
        order_id=order.id,
        order_state=order.state,
        service_type=order.service_type,
        window_start=order.window_start,
        window_end=order.window_end,
        elder_name=order.elder_name,
        provider_id=order.provider_id,
        provider_name=order.provider_name,
        checkin_at=evidence.checkin_at if evidence else None,
        checkin_distance_m=evidence.checkin_distance_m if evidence else None,
        checkin_flag=evidence.checkin_flag if evidence else None,
        checkout_at=evidence.checkout_at if evidence else None,
        items=[EvidenceItem.model_validate(line) for line in (evidence.items if evidence else [])],
        photo=bool(evidence and evidence.photo_path),
        code_sent_at=evidence.code_sent_at if evidence else None,
        code_attempts=evidence.code_attempts if evidence else 0,
        confirmed_at=evidence.confirmed_at if evidence else None,
        confirmed_by=evidence.confirmed_by if evidence else None,
        evidenced_at=evidence.evidenced_at if evidence else None,
        missing=service.missing_parts(evidence),
    )


@router.get("", response_model=Page[EvidenceRead])
async def list_evidence(
    session: SessionDep, actor: ManagerActor, paging: PagingDep, state: EvidenceState = "unevidenced"
) -> Page[EvidenceRead]:
    """`unevidenced`: completed orders lacking check-in, check-out or a confirmation (to review, not pay);
    `evidenced`; `flagged`: check-ins far from the home or without a position. Newest first."""
    rows, total = await service.list_evidence(
        session=session, state=state, limit=paging.limit, offset=paging.offset
    )
    return Page(items=[_read(order, evidence) for order, evidence in rows], total=total)


@router.get(
    "/{order_id}/photo",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}, "description": "The photo"}
    },
)
async def read_photo(
    order_id: RowId, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: ManagerActor
) -> FileResponse:
    """The provider's photo of the service (supervisors and admins; audited)."""
    evidence = await service.get_for_order(session=session, order_id=order_id)
    path = None if evidence is None else service.photo_file(evidence, settings.data_dir)
    if evidence is None or path is None:
        raise NotFound(f"order {order_id} has no service photo")
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="service_evidence.read_photo",
        entity_type="service_order",
        entity_id=order_id,
    )
    return FileResponse(path, media_type=evidence.photo_type or "application/octet-stream")
