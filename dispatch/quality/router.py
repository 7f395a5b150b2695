"""Coverage and quality figures."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from dispatch.api.deps import ManagerActor, SessionDep, SettingsDep
from dispatch.providers.models import ProviderStatus
from dispatch.quality import service
from dispatch.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["coverage and quality"])


class ProviderFiguresRead(BaseModel):
    """A provider's record; rates and means are null when nothing stands behind them."""

    offers: int
    answered: int
    accepted: int
    acceptance_rate: float | None
    mean_seconds_to_accept: float | None
    done: int
    completion_rate: float | None
    orders: int
    orders_done: int
    orders_failed: int
    arrivals: int
    late: int
    late_rate: float | None
    satisfaction: float | None
    scores: int
    upheld_complaints: int


class ProviderQualityRead(BaseModel):
    provider_id: int
    name: str
    status: ProviderStatus
    rating: float
    rating_count: int
    review_flag: str
    flagged_at: datetime | None
    figures: ProviderFiguresRead
    flags: list[str]


class AgentFiguresRead(BaseModel):
    calls_acknowledged: int
    mean_seconds_to_acknowledge: float | None
    follow_ups_completed: int
    satisfaction: float | None
    scores: int
    care_calls_completed: int
    upheld_complaints: int


class AgentQualityRead(BaseModel):
    operator_id: int
    username: str
    display_name: str
    active: bool
    figures: AgentFiguresRead


@router.get("/quality/providers", response_model=Page[ProviderQualityRead])
async def provider_quality(
    session: SessionDep, settings: SettingsDep, actor: ManagerActor
) -> Page[ProviderQualityRead]:
    """Every provider's acceptance, timeliness, completion, satisfaction and upheld complaints, with flags."""
    items = await service.provider_quality(session=session, settings=settings)
    return Page(items=[ProviderQualityRead.model_validate(asdict(q)) for q in items], total=len(items))


@router.get("/quality/agents", response_model=Page[AgentQualityRead])
async def agent_quality(session: SessionDep, actor: ManagerActor) -> Page[AgentQualityRead]:
    """Every agent's acknowledgements, follow-ups, care calls, satisfaction and upheld complaints."""
    items = await service.agent_quality(session=session)
    return Page(items=[AgentQualityRead.model_validate(asdict(q)) for q in items], total=len(items))
