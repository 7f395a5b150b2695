"""Settlement endpoints, for supervisors: the month's statements, approve, paid, the files, the bureau's
claim. Thin: the sums are in `service`, the files in `exports`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from dispatch.api.deps import ClockDep, ManagerActor, SessionDep, SettingsDep
from dispatch.api.errors import error_responses
from dispatch.audit import service as audit
from dispatch.schemas import Page, RowId
from dispatch.settlement import exports, lines, service
from dispatch.settlement.models import Settlement
from dispatch.settlement.schemas import ComputeRequest, Month, SettlementRead

router = APIRouter(prefix="/api/v1", tags=["settlement"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/settlements", response_model=Page[SettlementRead])
async def list_settlements(
    session: SessionDep, actor: ManagerActor, month: Annotated[Month, Query()]
) -> Page[SettlementRead]:
    """The month's statements, by provider name (drafts until approved)."""
    rows = await service.list_month(session, month)
    return Page(items=[SettlementRead.model_validate(r) for r in rows], total=len(rows))


@router.post("/settlements/compute", response_model=Page[SettlementRead])
async def compute(
    body: ComputeRequest, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: ManagerActor
) -> Page[SettlementRead]:
    """Draft or redraft the month's statements from the ledger (approved and paid ones stay)."""
    rows = await service.compute(session, clock, month=body.month, settings=settings)
    return Page(items=[SettlementRead.model_validate(r) for r in rows], total=len(rows))


@router.post(
    "/settlements/{settlement_id}/approve", response_model=SettlementRead, responses=error_responses(409)
)
async def approve(
    settlement_id: RowId, session: SessionDep, clock: ClockDep, actor: ManagerActor
) -> Settlement:
    return await service.approve(session, clock, actor, settlement_id)


@router.post(
    "/settlements/{settlement_id}/paid", response_model=SettlementRead, responses=error_responses(409)
)
async def paid(settlement_id: RowId, session: SessionDep, clock: ClockDep, actor: ManagerActor) -> Settlement:
    return await service.mark_paid(session, clock, actor, settlement_id)


@router.get("/settlements/{settlement_id}/statement.xlsx", response_class=Response)
async def statement_xlsx(settlement_id: RowId, session: SessionDep, actor: ManagerActor) -> Response:
    statement = await service.get(session, settlement_id)
    rows = await lines.charged(session, statement.month, provider_id=statement.provider_id)
    return _file(
        exports.statement_xlsx(statement, rows),
        XLSX,
        f"statement-{statement.provider_id}-{statement.month}.xlsx",
    )


@router.get("/settlements/{settlement_id}/statement.pdf", response_class=Response)
async def statement_pdf(settlement_id: RowId, session: SessionDep, actor: ManagerActor) -> Response:
    statement = await service.get(session, settlement_id)
    rows = await lines.charged(session, statement.month, provider_id=statement.provider_id)
    return _file(
        exports.statement_pdf(statement, rows),
        "application/pdf",
        f"statement-{statement.provider_id}-{statement.month}.pdf",
    )


@router.get("/subsidy-claims/{month}.xlsx", response_class=Response)
async def subsidy_claim(
    month: Month,
    session: SessionDep,
    clock: ClockDep,
    actor: ManagerActor,
    district: Annotated[str, Query(min_length=1, max_length=32)],
) -> Response:
    """The month's subsidy claim to a district's civil-affairs bureau: its elders' subsidised services
    (with full ID numbers, so the download is audited)."""
    rows = await lines.charged(session, month, district=district)
    await audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="subsidy_claim.export",
        entity_type="subsidy_claim",
        entity_id=f"{district}:{month}",
        detail={"services": len(rows)},
    )
    return _file(exports.claim_xlsx(district, month, rows), XLSX, f"subsidy-claim-{month}.xlsx")


def _file(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
