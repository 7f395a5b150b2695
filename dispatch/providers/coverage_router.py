"""The coverage check: active providers per district and service type, and elders left uncovered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.api.deps import CurrentActor, SessionDep, SettingsDep
from dispatch.catalog import ServiceType
from dispatch.providers import coverage
from dispatch.providers.schemas import CoverageReport

router = APIRouter(prefix="/api/v1/coverage", tags=["coverage"])


@router.get("", response_model=CoverageReport)
async def coverage_report(
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    service_type: ServiceType | None = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
) -> CoverageReport:
    """Per district and type the active providers (against the minimum), and per type the active elders
    no active provider reaches within the circle (at most 50 listed; count is all of them)."""
    found = await coverage.report(
        session=session,
        minimum=settings.coverage_minimum,
        circle_minutes=settings.coverage_circle_minutes,
        speed_kmh=settings.travel_speed_kmh,
        service_type=service_type,
        district=district,
    )
    return CoverageReport.model_validate(found)
